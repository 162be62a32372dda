"""Pytest plugin loaded before Django: points the suite at the real local services.

Loaded with ``-p`` (see pyproject.toml) so it runs before pytest-django reads the settings.
``DATABASE_URL``/``REDIS_URL`` default to PostgreSQL and Redis on 127.0.0.1; if either is not
reachable the run stops at once and says how to start it.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/contactcenter"
# A database number of its own, so test runs never see the queues of a development server.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"

os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
os.environ.setdefault("PUBLIC_URL", "http://127.0.0.1:8000")

HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no '
    "--dir /var/lib/redis --logfile /var/log/redis/ci.log",
}


def _reachable(url: str, default_port: int) -> tuple[str, int, bool]:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return host, port, True
    except OSError:
        return host, port, False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    database_url = os.environ["DATABASE_URL"]
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise pytest.UsageError(f"The test suite runs on PostgreSQL; DATABASE_URL is {database_url!r}.")
    for name, url, port in (("PostgreSQL", database_url, 5432), ("Redis", os.environ["REDIS_URL"], 6379)):
        host, port, ok = _reachable(url, port)
        if not ok:
            raise pytest.UsageError(
                f"{name} is not reachable at {host}:{port}, which the tests need. "
                f"Start it with:\n    {HOW_TO_START[name]}"
            )
