"""Small typed readers for environment variables.

Every deploy-varying setting goes through one of these so that a bad value stops
start-up with a message naming the variable, instead of surfacing later as an
obscure failure deep inside a request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class EnvError(ImproperlyConfigured):
    """A variable is missing or holds a value of the wrong shape."""


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    value = (environ if environ is not None else os.environ).get(name)
    return value.strip() if value is not None else None


def env_str(name: str, default: str | None = None, *, environ: Mapping[str, str] | None = None) -> str | None:
    value = _raw(name, environ)
    return default if value in (None, "") else value


def env_required(name: str, *, why: str, environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    if not value:
        raise EnvError(f"{name} must be set: {why}")
    return value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise EnvError(f"{name} must be a boolean (1/0, true/false, yes/no, on/off), got {value!r}")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise EnvError(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise EnvError(f"{name} must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise EnvError(f"{name} must be at most {maximum}, got {number}")
    return number


def env_float(name: str, default: float, *, environ: Mapping[str, str] | None = None) -> float:
    value = _raw(name, environ)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except ValueError:
        raise EnvError(f"{name} must be a number, got {value!r}") from None


def env_list(name: str, default: list[str], *, environ: Mapping[str, str] | None = None) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(
    name: str,
    default: str | None,
    *,
    schemes: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> str | None:
    value = env_str(name, default, environ=environ)
    if value is None:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in schemes:
        raise EnvError(f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}, got {value!r}")
    if parsed.scheme not in ("sqlite",) and not parsed.hostname:
        raise EnvError(f"{name} must name a host, got {value!r}")
    return value.rstrip("/") if parsed.path in ("", "/") else value
