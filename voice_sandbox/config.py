"""Configuration of the sandbox, read from the environment (no Django settings: the sandbox is standalone).

Every value has a development default so the sandbox starts with nothing configured; the defaults are
printed at start-up so a developer can paste them into an SDK.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_API_KEY = "sandbox"
DEFAULT_API_SECRET = "sandbox-secret"  # noqa: S105 - a published development default, printed at start
DEFAULT_SIGNATURE_SECRET = "sandbox-signature-secret-0123456789abcdef"  # noqa: S105 - same


class ConfigError(ValueError):
    """An environment variable holds a value of the wrong shape."""


def _get(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value.strip() if value is not None and value.strip() else None


def _float(environ: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = _get(environ, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


@dataclass
class SandboxConfig:
    """Everything that varies between sandbox deployments.

    ``speed`` scales simulated time (rings, speech, waits, NCCO time-outs); HTTP time-outs of webhooks stay
    wall-clock because they measure how fast the real product answers. ``cps``/``rps`` are the Voice API
    limits (3 call creations and 15 other requests per second per account, like Vonage).
    """

    api_key: str = DEFAULT_API_KEY
    api_secret: str = DEFAULT_API_SECRET
    signature_secret: str = DEFAULT_SIGNATURE_SECRET
    data_dir: Path | None = None
    speed: float = 1.0
    cps: float = 3.0
    rps: float = 15.0
    # What the sandbox calls itself in region_url and recording URLs; set by the server once it listens.
    public_url: str = "http://127.0.0.1:8001"
    # True when SANDBOX_PUBLIC_URL set it (the server then leaves it alone, e.g. behind a proxy or on 0.0.0.0).
    public_url_fixed: bool = False
    # Seconds of simulated time one ring lasts (UK cadence is ~3 s; shorter keeps demos snappy).
    ring_seconds: float = 2.0
    # CA bundle for webhooks to https URLs; None = system trust store.
    webhook_ca_bundle: str | None = None
    log_webhooks: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> SandboxConfig:
        """Read ``SANDBOX_*`` variables (and ``VAR_DIR`` for the data directory); keyword overrides win."""
        env = os.environ if environ is None else environ
        data_dir = _get(env, "SANDBOX_DATA_DIR") or _get(env, "VAR_DIR")
        config = cls(
            api_key=_get(env, "SANDBOX_API_KEY") or DEFAULT_API_KEY,
            api_secret=_get(env, "SANDBOX_API_SECRET") or DEFAULT_API_SECRET,
            signature_secret=_get(env, "SANDBOX_SIGNATURE_SECRET") or DEFAULT_SIGNATURE_SECRET,
            data_dir=Path(data_dir) if data_dir else None,
            speed=_float(env, "SANDBOX_SPEED", 1.0, 0.01),
            cps=_float(env, "SANDBOX_CPS", 3.0, 0.001),
            rps=_float(env, "SANDBOX_RPS", 15.0, 0.001),
            ring_seconds=_float(env, "SANDBOX_RING_SECONDS", 2.0, 0.0),
            webhook_ca_bundle=_get(env, "SANDBOX_WEBHOOK_CA_BUNDLE"),
        )
        public_url = _get(env, "SANDBOX_PUBLIC_URL")
        if public_url:
            config.public_url = public_url.rstrip("/")
            config.public_url_fixed = True
        for key, value in overrides.items():
            if value is not None:
                setattr(config, key, value)
        return config

    @property
    def database_path(self) -> Path | None:
        """Where state is persisted; None keeps everything in memory (tests that want a clean slate)."""
        return self.data_dir / "sandbox.sqlite3" if self.data_dir else None
