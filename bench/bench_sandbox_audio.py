"""Late audio frames of the sandbox's media engine at 100, 300 and 500 concurrent legs with audio, at speed 1.

Every call is a REST-created outbound call whose NCCO connects a second party, and whose caller then hears
a looping TTS prompt (REST ``PUT /talk``, ``loop: 0``); every fourth call also records (``split``, mp3). The
callee's script speaks sentences into the conversation (TTS), so every tick mixes voices, plays prompts and
feeds recorders.
N legs = N/2 such two-party calls. Once all legs carry audio, the engine's counters are reset and read
after ``--seconds`` of wall time:

* late frames: leg-frames processed more than 20 ms after they were due (``AudioMediaBackend.late_frames``);
* tick cost: mean wall milliseconds spent in one tick (mixing every conversation and feeding every tap).

The baseline, measured in the same run with the same calls, replaces the tick with an empty one: it shows
how late the clock is from the sandbox's own load (engine tasks, webhooks) alone; the ratio compares the
tick cost and late frames with it.

Run: .venv/bin/python bench/bench_sandbox_audio.py [--legs 100,300,500] [--seconds 5]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from voice_sandbox.audio_backend import AudioMediaBackend  # noqa: E402
from voice_sandbox.engine import Network  # noqa: E402
from voice_sandbox.media_backend import MediaBackend  # noqa: E402
from voice_sandbox.testing import SandboxServer  # noqa: E402

PROMPT = "Thank you for calling. All our agents are busy. Please stay on the line and we will be with you shortly."
SENTENCES = ["I am still waiting for someone to help me", "hello is anybody there", "I would like to pay my bill"]


class EmptyTick(AudioMediaBackend):
    """The same clock and counters with nothing done per tick (the baseline)."""

    def tick(self) -> None:
        self.ticks += 1


class NoContent(BaseHTTPRequestHandler):
    """Event webhooks land here (204): the benchmark measures audio, not webhook handling."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST


def run_level(legs: int, seconds: float, backend: type[AudioMediaBackend], events_url: str) -> dict[str, float]:
    """Bring up ``legs`` legs with audio, measure for ``seconds``, hang up; returns the figures."""

    def factory(network: Network) -> MediaBackend:
        return backend.for_network(network)

    with SandboxServer(speed=1.0, cps=100000, rps=100000, ring_seconds=0.2, media_factory=factory) as sandbox:
        app_id, private_key = sandbox.create_application(
            "bench", answer_url=f"{events_url}/answer", event_url=f"{events_url}/event"
        )
        assert private_key is not None
        sandbox.buy_number("447700900000", app_id=app_id)
        voice = sandbox.voice(app_id, private_key)
        callers: list[str] = []
        script = [{"wait_for": "conversation"}] + [{"say": s} for s in SENTENCES * 20]
        for index in range(legs // 2):
            callee = f"4477009{index:05d}"
            sandbox.set_phone(callee, on_ring="answer", rings=1, script=script)
            ncco: list[dict[str, Any]] = []
            if index % 4 == 0:
                ncco.append({"action": "record", "split": "conversation"})
            ncco.append({"action": "connect", "endpoint": [{"type": "phone", "number": callee}]})
            created = voice.create_call(
                {
                    "to": [{"type": "phone", "number": f"4477008{index:05d}"}],
                    "from": {"type": "phone", "number": "447700900000"},
                    "ncco": ncco,
                }
            )
            callers.append(created["uuid"])
        media = sandbox.app.network.media  # type: ignore[union-attr]
        assert isinstance(media, AudioMediaBackend)
        deadline = time.monotonic() + 60
        while len(media.legs) < legs and time.monotonic() < deadline:
            time.sleep(0.1)
        for uuid in callers:
            # The caller hears a looping prompt on top of the callee's voice (REST talk plays to the leg).
            voice.request("PUT", f"/v1/calls/{uuid}/talk", json={"text": PROMPT, "loop": 0})
        up = len(media.legs)
        time.sleep(1.0)  # let TTS of the first sentences settle (cached after that)
        media.frames = media.late_frames = 0
        media.tick_seconds = 0.0
        ticks_before = media.ticks
        time.sleep(seconds)
        ticks = media.ticks - ticks_before
        figures = {
            "legs": float(up),
            "frames": float(media.frames),
            "late_pct": 100.0 * media.late_frames / media.frames if media.frames else 0.0,
            "tick_ms": 1000.0 * media.tick_seconds / ticks if ticks else 0.0,
            "ticks_per_s": ticks / seconds,
        }
        # Hanging up encodes every recording (mp3): give it time.
        sandbox.request("POST", "/_sandbox/reset", json={}, timeout=300)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legs", default="100,300,500")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), NoContent)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    events_url = f"http://127.0.0.1:{server.server_address[1]}"
    print(
        f"{'legs':>5} {'up':>5} {'late %':>8} {'tick ms':>8} {'ticks/s':>8} | {'base late %':>11} {'base tick ms':>12}"
        f" | {'tick x':>7}"
    )
    try:
        for legs in (int(x) for x in args.legs.split(",")):
            real = run_level(legs, args.seconds, AudioMediaBackend, events_url)
            base = run_level(legs, args.seconds, EmptyTick, events_url)
            ratio = real["tick_ms"] / base["tick_ms"] if base["tick_ms"] else float("inf")
            print(
                f"{legs:>5} {real['legs']:>5.0f} {real['late_pct']:>8.2f} {real['tick_ms']:>8.3f} "
                f"{real['ticks_per_s']:>8.1f} | {base['late_pct']:>11.2f} {base['tick_ms']:>12.4f} | {ratio:>7.0f}",
                flush=True,
            )
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
