"""Webhook benchmarks on PostgreSQL: answer latency at a fixed rate, event ingestion throughput.

Each is measured against ``/bench/bare`` (a bare Django JSON view doing one INSERT) served by the
same server process layout in the same run, and printed with the ratio to it.

    .venv/bin/python bench/bench_webhooks.py [--workers 2] [--seconds 10] [--rate 100] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.loadgen import closed_loop, open_loop  # noqa: E402

DATABASE = "cc_bench"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_database(env: dict[str, str]) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DATABASE}"],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {DATABASE}"],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, env=env, check=True)
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DATABASE, "-qc",
                    "CREATE TABLE bench_bare (id bigserial PRIMARY KEY, body text NOT NULL)"], check=True)  # fmt: skip


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "contactcenter.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--no-access-log", "--lifespan", "off", "--log-level", "warning"],
        cwd=BASE_DIR, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not start")


def answer_request(index: int) -> tuple[str, str, bytes]:
    leg = uuid.uuid4()
    return (
        "GET",
        f"/webhooks/answer?uuid={leg}&conversation_uuid=CON-{leg}&from=447700900{index % 1000:03d}&to=447700900000",
        b"",
    )


def bare_get(index: int) -> tuple[str, str, bytes]:
    leg = uuid.uuid4()
    return (
        "GET",
        f"/bench/bare?uuid={leg}&conversation_uuid=CON-{leg}&from=447700900{index % 1000:03d}&to=447700900000",
        b"",
    )


STATUSES = ["started", "ringing", "answered", "completed"]
RUN = uuid.uuid4().hex[:8]


def event_body(index: int) -> bytes:
    # Four events per leg, in order, so rows are created and then updated as in production.
    leg, step = divmod(index, 4)
    payload = {
        "from": "447700900123", "to": "447700900000", "uuid": f"{RUN}-{leg}", "conversation_uuid": f"CON-{RUN}-{leg}",
        "status": STATUSES[step], "direction": "inbound", "timestamp": f"2026-11-23T10:00:{step:02d}.000Z",
    }  # fmt: skip
    if STATUSES[step] == "completed":
        payload.update(duration="12", rate="0.00450000", price="0.00090000", network="GB-FIXED")
    return json.dumps(payload).encode()


def event_request(index: int) -> tuple[str, str, bytes]:
    return "POST", "/webhooks/event", event_body(index)


def bare_post(index: int) -> tuple[str, str, bytes]:
    return "POST", "/bench/bare", event_body(index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=100, help="answer requests per second (fixed rate)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections for the throughput test")
    args = parser.parse_args()

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "DATABASE_URL": DATABASE_URL, "DEBUG": "1",
           "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"), "LOG_LEVEL": "WARNING"}  # fmt: skip
    prepare_database(env)
    port = free_port()
    server = start_server(env, port, args.workers)
    try:
        run = asyncio.run
        host = "127.0.0.1"
        run(closed_loop(host, port, bare_get, concurrency=4, seconds=2))  # warm up connections and pools
        run(closed_loop(host, port, answer_request, concurrency=4, seconds=2))
        bare_latency = run(open_loop(host, port, bare_get, rate=args.rate, seconds=args.seconds))
        answer_latency = run(open_loop(host, port, answer_request, rate=args.rate, seconds=args.seconds))
        bare_throughput = run(closed_loop(host, port, bare_post, concurrency=args.concurrency, seconds=args.seconds))
        events = run(closed_loop(host, port, event_request, concurrency=args.concurrency, seconds=args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=10)

    def ms(value: float) -> str:
        return f"{value * 1000:.1f} ms"

    print(f"server: uvicorn, {args.workers} worker(s), PostgreSQL, same layout for every measurement")
    print(f"(a) answer webhook at {args.rate:.0f} req/s for {args.seconds:.0f} s (latency from scheduled send time)")
    for name, result in (("bare view (1 insert)", bare_latency), ("/webhooks/answer", answer_latency)):
        print(f"    {name:22} p50 {ms(result.percentile(50)):>9}  p99 {ms(result.percentile(99)):>9}  "
              f"n={len(result.latencies)} errors={result.errors} statuses={result.statuses}")  # fmt: skip
    print(f"    ratio answer/bare: p50 {answer_latency.percentile(50) / bare_latency.percentile(50):.2f}x  "
          f"p99 {answer_latency.percentile(99) / bare_latency.percentile(99):.2f}x")  # fmt: skip
    print(f"(b) event ingestion, {args.concurrency} connections for {args.seconds:.0f} s")
    for name, result in (("bare view (1 insert)", bare_throughput), ("/webhooks/event", events)):
        print(f"    {name:22} {result.rate:8.0f} req/s  p99 {ms(result.percentile(99)):>9}  errors={result.errors} "
              f"statuses={result.statuses}")  # fmt: skip
    print(f"    ratio events/bare: {events.rate / bare_throughput.rate:.2f}x")


if __name__ == "__main__":
    main()
