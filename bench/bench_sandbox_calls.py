"""How many concurrent calls the Voice API sandbox sustains at speed 1 with every webhook delivered.

Each call is an inbound call from the simulated network running a talk -> input -> conversation NCCO:

    answer:  [talk "Welcome to the benchmark line" (5 words, 2.0 s), input dtmf maxDigits 1 -> /input]
    /input:  [conversation "room-<n // 2>"]          (two callers per room)
    caller:  waits for the input, presses 1, stays 3 s in the room, hangs up

so every call sends 6 webhooks (started, ringing, answer, answered, input, completed) and should last
about 2.0 + 0.1 + 3.0 = 5.1 s. The sandbox runs in its own process (as in production); this process
places the calls and receives the webhooks on a uvicorn server. A level N places 2N calls at a steady
rate of N per 5.1 s, so N calls are up at once for about 5 s (a steady state, not a thundering herd).
A level passes when every webhook of every call arrived and the p99 lateness of ``completed`` (arrival
minus placing time minus 5.1 s) stays within the tolerance. The baseline, measured in the same run
against the same receiver, is a bare no-op webhook round trip with the sandbox's own HTTP client
(32 in flight); the ratio compares the webhook rate the sandbox sustained with that ceiling.

Run: .venv/bin/python bench/bench_sandbox_calls.py [--levels 50,100,200,400,800] [--tolerance 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import uvicorn

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from voice_sandbox.httpclient import HttpClient  # noqa: E402
from voice_sandbox.testing import free_port  # noqa: E402

TALK = "Welcome to the benchmark line"
EXPECTED_SECONDS = 5 * 60 / 150 + 0.1 + 3.0
WEBHOOKS_PER_CALL = 6
AUTH = ("bench", "bench-secret")
BASIC = "Basic " + base64.b64encode(f"{AUTH[0]}:{AUTH[1]}".encode()).decode()


class Receiver:
    """A raw ASGI webhook receiver that records arrival times per leg."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[tuple[str, float]]] = defaultdict(list)
        self.noop = 0
        self.url = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        reply: Any = None
        if path == "/noop":
            self.noop += 1
        elif path == "/answer":
            query = dict(pair.split("=", 1) for pair in scope["query_string"].decode().split("&") if "=" in pair)
            self.arrivals[query["uuid"]].append(("answer", time.monotonic()))
            reply = [
                {"action": "talk", "text": TALK},
                {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1}, "eventUrl": [f"{self.url}/input"]},
            ]
        else:
            data = json.loads(body)
            self.arrivals[data["uuid"]].append((data.get("status") or path.strip("/"), time.monotonic()))
            if path == "/input":
                reply = [{"action": "conversation", "name": f"room-{hash(data['from']) % 1000}"}]
        payload = json.dumps(reply).encode() if reply is not None else b""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})


async def baseline(
    client: HttpClient, url: str, receiver_noops: Any, seconds: float = 3.0, concurrency: int = 32
) -> float:
    """No-op webhook round trips per second against the same receiver, with the sandbox's own HTTP client."""
    done = 0
    deadline = time.monotonic() + seconds
    body = json.dumps({"status": "noop"}).encode()

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            await client.request(
                "POST",
                f"{url}/noop",
                headers={"Content-Type": "application/json"},
                body=body,
                connect_timeout=1,
                read_timeout=10,
            )
            done += 1

    started = time.monotonic()
    before = receiver_noops()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    if receiver_noops() - before != done:
        raise RuntimeError("the baseline lost requests")
    return done / elapsed


async def run_level(
    client: HttpClient, sandbox: str, receiver: Receiver, number: str, calls: int, tolerance: float
) -> dict[str, Any]:
    receiver.arrivals.clear()
    placed: dict[str, float] = {}
    semaphore = asyncio.Semaphore(64)

    spacing = EXPECTED_SECONDS / calls  # arrival rate that keeps `calls` calls up at once

    async def place(index: int) -> None:
        await asyncio.sleep(index * spacing)
        async with semaphore:
            body = {
                "from": f"4477009{index:05d}",
                "to": number,
                "script": [{"wait_for": "input"}, {"dtmf": "1"}, {"wait": 3}, {"hangup": True}],
            }
            started = time.monotonic()
            response = await client.request(
                "POST",
                f"{sandbox}/_sandbox/calls",
                headers={"Content-Type": "application/json", "Authorization": BASIC},
                body=json.dumps(body).encode(),
                connect_timeout=5,
                read_timeout=60,
            )
            if response.status != 201:
                raise RuntimeError(f"placing a call failed: {response.status} {response.body!r}")
            placed[json.loads(response.body)["uuid"]] = started

    begin = time.monotonic()
    await asyncio.gather(*(place(i) for i in range(2 * calls)))
    placing = time.monotonic() - begin
    deadline = time.monotonic() + EXPECTED_SECONDS + 30
    while time.monotonic() < deadline:
        if all(any(s == "completed" for s, _ in receiver.arrivals.get(u, [])) for u in placed):
            await asyncio.sleep(0.3)  # stragglers (none expected: completed is the last webhook)
            break
        await asyncio.sleep(0.1)
    lateness = []
    delivered = 0
    for uuid, started in placed.items():
        arrivals = receiver.arrivals.get(uuid, [])
        delivered += len(arrivals)
        completed = [at for status, at in arrivals if status == "completed"]
        if completed:
            lateness.append(completed[0] - started - EXPECTED_SECONDS)
    wall = time.monotonic() - begin
    phases: dict[str, list[float]] = defaultdict(list)
    for uuid, started in placed.items():
        for status, at in receiver.arrivals.get(uuid, []):
            phases[status].append(at - started)
    phase_medians = {k: round(statistics.median(v), 3) for k, v in phases.items()}
    lateness.sort()
    p99 = lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))] if lateness else float("inf")
    ok = delivered == len(placed) * WEBHOOKS_PER_CALL and len(lateness) == len(placed) and p99 <= tolerance
    return {
        "calls": calls,
        "delivered": delivered,
        "expected": len(placed) * WEBHOOKS_PER_CALL,
        "placing_s": placing,
        "p50_late_s": statistics.median(lateness) if lateness else float("inf"),
        "p99_late_s": p99,
        "webhooks_per_s": delivered / wall,
        "ok": ok,
        "phases": phase_medians,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", default="25,50,100,200,400,800,1200,1600")
    parser.add_argument("--tolerance", type=float, default=0.5, help="p99 lateness allowed, seconds")
    args = parser.parse_args()

    receiver = Receiver()
    receiver_port = free_port()
    receiver.url = f"http://127.0.0.1:{receiver_port}"
    server = uvicorn.Server(
        uvicorn.Config(receiver, host="127.0.0.1", port=receiver_port, log_level="error", lifespan="off", backlog=4096)
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)

    sandbox_port = free_port()
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    env = dict(
        os.environ, SANDBOX_API_KEY=AUTH[0], SANDBOX_API_SECRET=AUTH[1], SANDBOX_CPS="100000", SANDBOX_RPS="100000"
    )
    env.pop("SANDBOX_DATA_DIR", None)
    env.pop("VAR_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "voice_sandbox", "--port", str(sandbox_port), "--speed", "1"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=60, limits=limits, trust_env=False) as client:
        try:
            for _ in range(200):
                try:
                    await client.get(f"{sandbox}/_sandbox/health")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
            app = (
                await client.post(
                    f"{sandbox}/v2/applications",
                    auth=AUTH,
                    json={
                        "name": "bench",
                        "capabilities": {
                            "voice": {
                                "webhooks": {
                                    "answer_url": {"address": f"{receiver.url}/answer", "http_method": "GET"},
                                    "event_url": {"address": f"{receiver.url}/event", "http_method": "POST"},
                                },
                                "signed_callbacks": True,
                            }
                        },
                    },
                )
            ).json()
            number = "447700900000"
            await client.post(f"{sandbox}/number/buy", auth=AUTH, data={"country": "GB", "msisdn": number})
            await client.post(
                f"{sandbox}/number/update", auth=AUTH, data={"country": "GB", "msisdn": number, "app_id": app["id"]}
            )

            fast = HttpClient()
            base = await baseline(fast, receiver.url, lambda: receiver.noop)
            print(
                "baseline: bare no-op webhook round trip (sandbox HTTP client -> uvicorn receiver, 32 in flight): "
                f"{base:,.0f} req/s"
            )
            print(f"scenario: talk -> input -> conversation at speed 1, expected {EXPECTED_SECONDS:.1f} s per call")
            print(f"{'calls':>6} {'webhooks':>12} {'arrivals':>8} {'p50 late':>9} {'p99 late':>9} {'wh/s':>7}  result")
            best: dict[str, Any] | None = None
            for level in (int(x) for x in args.levels.split(",")):
                result = await run_level(fast, sandbox, receiver, number, level, args.tolerance)
                print(
                    f"{result['calls']:>6} {result['delivered']:>5}/{result['expected']:<6}"
                    f" {result['placing_s']:>7.2f}s"
                    f" {result['p50_late_s']:>8.3f}s {result['p99_late_s']:>8.3f}s {result['webhooks_per_s']:>7.0f}"
                    f"  {'ok' if result['ok'] else 'FAIL'}"
                )
                print("        median arrival after placing, s:", result["phases"])
                if not result["ok"]:
                    break
                best = result
                await asyncio.sleep(1)
            if best is None:
                print("no level passed")
            else:
                print(
                    f"sustained: {best['calls']} concurrent calls ({best['expected'] // WEBHOOKS_PER_CALL} placed) "
                    f"with all {best['expected']} webhooks delivered, "
                    f"p99 lateness {best['p99_late_s'] * 1000:.0f} ms (tolerance {args.tolerance * 1000:.0f} ms)"
                )
                print(
                    f"ratio: {best['webhooks_per_s']:.0f} webhooks/s during that level = "
                    f"{best['webhooks_per_s'] / base:.2f}x the bare round-trip rate"
                )
        finally:
            process.terminate()
            process.wait(timeout=10)
            server.should_exit = True
            await serving


if __name__ == "__main__":
    asyncio.run(main())
