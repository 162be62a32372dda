"""Media benchmarks: the conference mixer per tick, and frame pacing of many legs in one asyncio loop.

(a) Mixer: one tick (every listener's 20 ms frame) for 100, 300 and 500 legs, as one conference and as
    two-party calls, against a plain Python loop over (listener, speaker) pairs measured in the same run.
(b) Pacing: one asyncio process drives N legs at 20 ms for ``--seconds`` each. Every tick each leg pulls the
    next frame of a TTS prompt, the mixer mixes all legs (two-party calls), and each leg's output is
    serialised as a WebSocket would send it. Two layouts: ``clock`` (one task drives all legs, as the engine
    will) and ``tasks`` (one task per leg pacing itself, the mixer on its own task). A frame is late when
    it is handled more than 5 ms after its deadline; "missed" means more than 20 ms (a whole frame).

    .venv/bin/python bench/bench_media.py [--seconds 10] [--legs 100,300,500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import numpy as np

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from voice_sandbox.media import frames, mixer, tts  # noqa: E402
from voice_sandbox.media.mixer import LegMix  # noqa: E402

TICK = frames.FRAME_MS / 1000
PROMPTS = (
    "Thank you for calling. All of our agents are busy. Please stay on the line.",
    "Press one for billing, two for technical support, or say agent.",
    "Your call is important to us. The expected waiting time is three minutes.",
    "Please enter your account number followed by the hash key.",
)


def loop_mix(frames_: np.ndarray, hearing: np.ndarray) -> np.ndarray:
    """Baseline: a plain Python loop over (listener, speaker) pairs, adding numpy rows."""
    n = frames_.shape[0]
    out = np.zeros(frames_.shape, dtype=np.int32)
    wide = frames_.astype(np.int32)
    for listener in range(n):
        row = hearing[listener]
        acc = out[listener]
        for speaker in range(n):
            if row[speaker]:
                acc += wide[speaker]
    return np.clip(out, -32768, 32767).astype(np.int16)


def time_per_call(func, *args, budget: float = 1.0, min_calls: int = 3) -> float:  # type: ignore[no-untyped-def]
    """Median seconds per call, repeating for about ``budget`` seconds."""
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < min_calls or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        func(*args)
        samples.append(time.perf_counter() - t0)
        if len(samples) >= 2000:
            break
    return statistics.median(samples)


def bench_mixer(sizes: list[int]) -> None:
    rng = np.random.default_rng(1)
    print("(a) mixer, one tick (all listeners' 20 ms frames)")
    print(f"{'legs':>5} {'layout':<12} {'strategy':<8} {'vectorised':>11} {'loop':>10} {'ratio':>7} {'% of tick':>9}")
    for n in sizes:
        for layout in ("conference", "pairs"):
            legs = [LegMix(f"l{i}", "room" if layout == "conference" else f"call{i // 2}") for i in range(n)]
            m = mixer.Mixer(legs)
            data = rng.integers(-8000, 8000, (n, frames.FRAME_SAMPLES)).astype(np.int16)
            assert np.array_equal(m.mix(data), loop_mix(data, m.hearing))
            fast = time_per_call(m.mix, data)
            slow = time_per_call(loop_mix, data, m.hearing, budget=2.0)
            print(
                f"{n:>5} {layout:<12} {m.strategy:<8} {fast * 1e3:>9.3f}ms {slow * 1e3:>8.1f}ms "
                f"{slow / fast:>6.0f}x {fast / TICK * 100:>8.2f}%"
            )


class PromptSource:
    """A leg's audio source: a TTS prompt, looped, read one 20 ms frame at a time."""

    def __init__(self, audio: np.ndarray, offset: int) -> None:
        self.frames = frames.split_frames(audio)
        self.position = offset % self.frames.shape[0]

    def next_frame(self) -> np.ndarray:
        frame = self.frames[self.position]
        self.position = (self.position + 1) % self.frames.shape[0]
        return frame


class Stats:
    def __init__(self) -> None:
        self.lateness: list[float] = []

    def summary(self) -> str:
        lateness = np.array(self.lateness) * 1000
        late = float(np.mean(lateness > 5) * 100)
        missed = float(np.mean(lateness > 20) * 100)
        return (
            f"frames {lateness.size:>7}  late>5ms {late:6.2f}%  missed>20ms {missed:6.2f}%  "
            f"p50 {np.percentile(lateness, 50):5.2f}ms  p99 {np.percentile(lateness, 99):6.2f}ms  "
            f"max {lateness.max():6.1f}ms"
        )


def make_legs(n: int, prompts: list[np.ndarray]) -> tuple[mixer.Mixer, list[PromptSource]]:
    legs = [LegMix(f"l{i}", f"call{i // 2}") for i in range(n)]
    sources = [PromptSource(prompts[i % len(prompts)], offset=i * 7) for i in range(n)]
    return mixer.Mixer(legs), sources


async def run_clock(n: int, seconds: float, prompts: list[np.ndarray]) -> Stats:
    """One task drives every leg per tick: pull, mix, serialise."""
    mix, sources = make_legs(n, prompts)
    stats = Stats()
    loop = asyncio.get_running_loop()
    inputs = np.zeros((n, frames.FRAME_SAMPLES), dtype=np.int16)
    sent = 0
    start = loop.time() + 0.05
    ticks = int(seconds / TICK)
    for tick in range(ticks):
        deadline = start + tick * TICK
        delay = deadline - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        for i, source in enumerate(sources):
            inputs[i] = source.next_frame()
        out = mix.mix(inputs)
        for i in range(n):
            sent += len(out[i].tobytes())
        # Conservative: every leg's frame counts as sent when the last one of the tick is.
        stats.lateness.extend([loop.time() - deadline] * n)
    assert sent == ticks * n * frames.FRAME_BYTES
    return stats


async def run_tasks(n: int, seconds: float, prompts: list[np.ndarray]) -> Stats:
    """One task per leg paces itself and deposits its frame; a mixer task mixes on the tick."""
    mix, sources = make_legs(n, prompts)
    stats = Stats()
    loop = asyncio.get_running_loop()
    inputs = np.zeros((n, frames.FRAME_SAMPLES), dtype=np.int16)
    outputs = np.zeros((n, frames.FRAME_SAMPLES), dtype=np.int16)
    start = loop.time() + 0.1
    ticks = int(seconds / TICK)
    sent = [0] * n

    async def leg(i: int) -> None:
        # Each leg's clock is offset within the tick, as independent calls are.
        phase = (i % 10) * TICK / 10
        for tick in range(ticks):
            deadline = start + phase + tick * TICK
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            stats.lateness.append(loop.time() - deadline)
            inputs[i] = sources[i].next_frame()
            sent[i] += len(outputs[i].tobytes())

    async def clock() -> None:
        for tick in range(ticks):
            deadline = start + tick * TICK + TICK * 0.95
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            outputs[:] = mix.mix(inputs)

    await asyncio.gather(clock(), *(leg(i) for i in range(n)))
    return stats


def bench_pacing(sizes: list[int], seconds: float) -> None:
    synthesizer = tts.Synthesizer()
    prompts = [synthesizer.synthesize(text, style=i % 4) for i, text in enumerate(PROMPTS)]
    print(f"\n(b) asyncio pacing of 20 ms frames, {seconds:.0f} s per run, legs in two-party calls")
    for layout, runner in (("clock", run_clock), ("tasks", run_tasks)):
        for n in sizes:
            cpu0, wall0 = time.process_time(), time.perf_counter()
            stats = asyncio.run(runner(n, seconds, prompts))
            cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0) * 100
            print(f"{layout:<6} {n:>4} legs  {stats.summary()}  cpu {cpu:5.1f}% of a core")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--legs", default="100,300,500")
    args = parser.parse_args()
    sizes = [int(x) for x in args.legs.split(",")]
    bench_mixer(sizes)
    bench_pacing(sizes, args.seconds)


if __name__ == "__main__":
    main()
