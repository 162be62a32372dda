"""``python manage.py sandbox``: run the Voice API sandbox on its own (HTTP or HTTPS).

The sandbox shares nothing with the contact center but this entry point: it reads its own ``SANDBOX_*``
environment, keeps its state in ``<data dir>/sandbox.sqlite3`` and serves with uvicorn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from voice_sandbox.config import ConfigError, SandboxConfig
from voice_sandbox.server import describe, serve


class Command(BaseCommand):
    help = "Run the Vonage Voice API sandbox (emulator) until Ctrl-C."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8001")))
        parser.add_argument("--speed", type=float, default=None, help="Simulated-time factor (default 1).")
        parser.add_argument("--certfile", default=None, help="PEM certificate (chain) to serve HTTPS.")
        parser.add_argument("--keyfile", default=None, help="PEM private key of --certfile.")
        parser.add_argument("--data-dir", default=None, help="Where sandbox.sqlite3 lives (default VAR_DIR or var/).")
        parser.add_argument(
            "--media",
            choices=["audio", "estimate"],
            default=os.environ.get("SANDBOX_MEDIA", "audio"),
            help="Real audio (default) or part-1 duration estimates (cheap, for load tests).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings

        if bool(options["certfile"]) != bool(options["keyfile"]):
            raise CommandError("--certfile and --keyfile go together")
        data_dir = Path(options["data_dir"]) if options["data_dir"] else Path(settings.VAR_DIR)
        try:
            config = SandboxConfig.from_env(data_dir=data_dir, speed=options["speed"])
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
        os.environ["SANDBOX_MEDIA"] = options["media"]
        scheme = "https" if options["certfile"] else "http"
        if not config.public_url_fixed:
            config.public_url = f"{scheme}://{options['host']}:{options['port']}"
        self.stdout.write(describe(config))
        serve(
            config, host=options["host"], port=options["port"], certfile=options["certfile"], keyfile=options["keyfile"]
        )
