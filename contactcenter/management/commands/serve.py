"""Start everything the product needs on one machine and stop it all on Ctrl-C.

Embedded default (no ``REDIS_URL``): migrate, seed the demo data, start the Voice API sandbox
and create the contact center's application in it, then run the ASGI server, which also runs
tasks and periodic tasks in-process. With ``REDIS_URL`` set it also starts a Celery worker and
beat, so the scaled topology can be tried with one command too. With ``VONAGE_APPLICATION_ID``
set (real Vonage) or ``SANDBOX=0`` no sandbox is started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS
from contactcenter.env import env_bool

# Virtual numbers the demo application owns in the sandbox.
DEMO_NUMBERS = ("447700900000", "447700900001")


class Command(BaseCommand):
    help = "Run the contact center (web server, plus worker and beat when REDIS_URL is set) until Ctrl-C."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-seed", action="store_true", help="Do not create the demo users.")
        parser.add_argument("--sandbox-port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8001")))

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        if not options["no_seed"]:
            call_command("seed_demo", quiet=True)

        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.stopping = False
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

        python = sys.executable
        web_env = dict(os.environ)
        web_env.setdefault("PUBLIC_URL", f"http://{host}:{port}")
        self.sandbox: dict[str, str] | None = None
        if env_bool("SANDBOX", not settings.VONAGE_APPLICATION_ID):
            web_env.update(self._start_sandbox(python, host, options["sandbox_port"], web_env["PUBLIC_URL"]))
        self._spawn(
            "web",
            [
                python,
                "-m",
                "uvicorn",
                "contactcenter.asgi:application",
                "--host",
                host,
                "--port",
                str(port),
                "--no-access-log",
                "--lifespan",
                "off",
                "--timeout-graceful-shutdown",
                "5",
            ],
        )
        if not settings.EMBEDDED:
            self._spawn(
                "worker",
                [python, "-m", "celery", "-A", "contactcenter", "worker", "--loglevel", "INFO", "--concurrency", "2"],
            )
            self._spawn(
                "beat",
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "contactcenter",
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(settings.VAR_DIR / "celerybeat-schedule"),
                ],
            )

        base = f"http://{host}:{port}"
        if self._wait_healthy(f"{base}/healthz", timeout=60):
            self._banner(base)
        try:
            while not self.stopping:
                for name, process in self.children:
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with code {process.returncode}; stopping everything.")
                        self._stop_all()
                        raise CommandError(f"{name} stopped unexpectedly")
                time.sleep(0.3)
        finally:
            self._stop_all()

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        self.children.append((name, subprocess.Popen(command, env=env)))

    def _start_sandbox(self, python: str, host: str, port: int, public_url: str) -> dict[str, str]:
        """Start the sandbox, create (or refresh) our application in it, and return the web's Vonage env."""
        from voice_sandbox.bootstrap import ensure_application, wait_for_sandbox
        from voice_sandbox.config import SandboxConfig

        config = SandboxConfig.from_env()
        # The demo carrier has real audio (TTS, recordings, recognition, the browser phone).
        sandbox_env = {**os.environ, "SANDBOX_MEDIA": os.environ.get("SANDBOX_MEDIA", "audio")}
        self._spawn("sandbox", [python, "manage.py", "sandbox", "--host", host, "--port", str(port),
                                "--data-dir", str(settings.VAR_DIR)], env=sandbox_env)  # fmt: skip
        base = f"http://{host}:{port}"
        wait_for_sandbox(base, timeout=60)
        application = ensure_application(
            base_url=base,
            api_key=config.api_key,
            api_secret=config.api_secret,
            name="Contact center (make run)",
            answer_url=f"{public_url}/webhooks/answer",
            event_url=f"{public_url}/webhooks/event",
            fallback_url=f"{public_url}/webhooks/fallback",
            numbers=DEMO_NUMBERS,
            key_dir=settings.VAR_DIR,
        )
        self.sandbox = {"url": base, "key": config.api_key, "secret": config.api_secret,
                        "signature": config.signature_secret, "application": application.application_id}  # fmt: skip
        return {
            "VONAGE_API_URL": base,
            "VONAGE_APPLICATION_ID": application.application_id,
            "VONAGE_PRIVATE_KEY_PATH": str(application.private_key_path),
            "VONAGE_PRIVATE_KEY": "",
            "VONAGE_SIGNATURE_SECRET": config.signature_secret,
            "VONAGE_API_KEY": config.api_key,
            "VONAGE_API_SECRET": config.api_secret,
        }

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def _stop_all(self) -> None:
        for _, process in self.children:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for _, process in self.children:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.children = []

    def _wait_healthy(self, url: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own loopback URL)
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            if any(process.poll() is not None for _, process in self.children):
                return False
            time.sleep(0.3)
        return False

    def _sandbox_lines(self) -> list[str]:
        if not self.sandbox:
            return ["  Voice API:      " + str(settings.VONAGE_API_URL) + " (application from the environment)"]
        sandbox = self.sandbox
        return [
            "",
            f"  Voice API sandbox: {sandbox['url']}  (API key {sandbox['key']}, secret {sandbox['secret']},",
            f"                     signature secret {sandbox['signature']})",
            f"  Application:       {sandbox['application']}, numbers {', '.join(DEMO_NUMBERS)}",
            f"  Browser phone:     {sandbox['url']}/_sandbox/phone?to={DEMO_NUMBERS[0]}  (API key/secret to sign in)",
            f"  Place a test call: curl -u {sandbox['key']}:{sandbox['secret']} -H 'Content-Type: application/json' "
            f'-d \'{{"from": "447700900123", "to": "{DEMO_NUMBERS[0]}"}}\' {sandbox["url"]}/_sandbox/calls',
        ]

    def _banner(self, base: str) -> None:
        mode = "embedded (SQLite, in-process tasks and channel layer)" if settings.EMBEDDED else "scaled (Redis)"
        lines = [
            "",
            "Contact center is running " + f"[{mode}]",
            f"  Sign in:        {base}/login/",
            f"  Agent console:  {base}/agent/",
            f"  Wallboard:      {base}/supervisor/",
            f"  Manage:         {base}/manage/",
            f"  Django admin:   {base}/admin/",
            f"  API docs:       {base}/api/docs/",
            f"  Health:         {base}/healthz",
            "",
            f"  Demo logins (password '{DEMO_PASSWORD}'): " + ", ".join(f"{u} ({r.value})" for u, r, *_ in DEMO_USERS),
            *self._sandbox_lines(),
            "  Press Ctrl-C to stop.",
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
