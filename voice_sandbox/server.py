"""Serving the sandbox with uvicorn (used by the management command and ``python -m voice_sandbox``)."""

from __future__ import annotations

import uvicorn

from voice_sandbox.app import Sandbox
from voice_sandbox.config import DEFAULT_API_SECRET, SandboxConfig


def describe(config: SandboxConfig) -> str:
    """What a developer needs to point an SDK at this sandbox."""
    lines = [
        f"Vonage Voice API sandbox on {config.public_url} (speed x{config.speed:g}, {config.cps:g} CPS, "
        f"{config.rps:g} RPS)",
        f"  SANDBOX_API_KEY={config.api_key}",
        f"  SANDBOX_API_SECRET={config.api_secret}"
        + ("   (development default)" if config.api_secret == DEFAULT_API_SECRET else ""),
        f"  SANDBOX_SIGNATURE_SECRET={config.signature_secret}",
        f"  state: {config.database_path or 'in memory'}",
        "",
    ]
    return "\n".join(lines)


def serve(
    config: SandboxConfig, *, host: str, port: int, certfile: str | None = None, keyfile: str | None = None
) -> None:
    """Run until interrupted."""
    uvicorn.run(
        Sandbox(config),
        host=host,
        port=port,
        lifespan="on",
        log_level="warning",
        access_log=False,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        timeout_graceful_shutdown=3,
    )
