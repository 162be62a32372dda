"""`make run` on the embedded default: serves the login page and /healthz, then stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from contactcenter.testing.servers import free_port

BASE_DIR = Path(__file__).resolve().parent.parent.parent
pytestmark = pytest.mark.slow


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_run_serves_login_and_health_then_stops_everything(tmp_path) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "PUBLIC_URL"}
    }
    env.update({"VAR_DIR": str(tmp_path / "var"), "PORT": str(port), "SANDBOX_PORT": str(free_port())})
    log = (tmp_path / "run.log").open("w+")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        health = None
        while time.monotonic() - started < 120:
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, Path(log.name).read_text()
            time.sleep(0.5)
        took = time.monotonic() - started
        assert health is not None and health.status_code == 200, Path(log.name).read_text()
        body = health.json()
        assert body["mode"] == "embedded"
        assert body["database"]["vendor"] == "sqlite"
        assert body["channel_layer"]["backend"] == "InMemoryChannelLayer"
        print(f"make run healthy after {took:.1f} s")

        with httpx.Client(base_url=base, follow_redirects=False) as client:
            page = client.get("/login/")
            assert page.status_code == 200
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            signed_in = client.post(
                "/login/",
                data={"username": "agent1", "password": "contactcenter", "csrfmiddlewaretoken": token},
                headers={"Referer": f"{base}/login/"},
            )
            assert signed_in.status_code == 302
            assert client.get("/").headers["location"] == "/agent/"
            assert "Agent console" in client.get("/agent/").text

        # The embedded scheduler fires the heartbeat task in-process, with no broker.
        deadline = time.monotonic() + 20
        while httpx.get(f"{base}/healthz").json()["worker"]["status"] != "ok" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert httpx.get(f"{base}/healthz").json()["worker"]["status"] == "ok"

        output = Path(log.name).read_text()
        assert f"Sign in:        {base}/login/" in output
        assert "agent1 (agent)" in output
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        try:
            process.wait(timeout=30)
        finally:
            deadline = time.monotonic() + 15
            while _group_alive(process.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            leftover = _group_alive(process.pid)
            if leftover:
                os.killpg(process.pid, signal.SIGKILL)
    assert not leftover, "processes were left behind after Ctrl-C"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=2)
