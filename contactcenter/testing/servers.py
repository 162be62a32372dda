"""Real servers for integration tests: the ASGI app over a socket and a Celery worker process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AsgiServer:
    """Uvicorn serving ``contactcenter.asgi`` on a free port, in a thread of the test process.

    Running in-process means it shares the test database settings; tests that use it need
    ``transactional_db`` so what they write is visible to the server's connections.
    """

    def __init__(self, app: Any = "contactcenter.asgi:application") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", ws="websockets"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="asgi-live-server", daemon=True)

    def start(self) -> AsgiServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the ASGI live server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class CeleryWorker:
    """A real ``celery worker`` process against the test Redis and the test database."""

    def __init__(self, database_name: str) -> None:
        self.database_name = database_name
        self.process: subprocess.Popen[str] | None = None
        self.log: list[str] = []

    def start(self, timeout: float = 60) -> CeleryWorker:
        from django.conf import settings

        db = settings.DATABASES["default"]
        env = dict(os.environ)
        env["DATABASE_URL"] = (
            f"postgres://{db.get('USER') or ''}{':' + db['PASSWORD'] if db.get('PASSWORD') else ''}@"
            f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{self.database_name}"
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "contactcenter",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"test-{os.getpid()}@%h",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()

        def pump() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.log.append(line.rstrip())
                if " ready." in line:
                    ready.set()

        threading.Thread(target=pump, name="celery-log", daemon=True).start()
        if not ready.wait(timeout):
            self.stop()
            raise RuntimeError("the Celery worker did not become ready:\n" + "\n".join(self.log[-40:]))
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
