"""Fixtures every app's tests share: personas per role, API clients, live servers, a worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.roles import Role
from contactcenter.testing.servers import AsgiServer, CeleryWorker

PASSWORD = "correct-horse-battery"  # noqa: S105


@pytest.fixture(scope="session", autouse=True)
def _flush_test_redis() -> None:
    """Start from an empty Redis database: no stale queued tasks or channel messages."""
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL).flushdb()


def make_user(username: str, role: Role | None, **extra: Any) -> Any:
    from django.contrib.auth import get_user_model

    from accounts.services import user_create, user_set_role

    if role is None:
        return get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)
    user = user_create(username=username, password=PASSWORD, role=role, **extra)
    user_set_role(user=user, role=role)
    return user


@pytest.fixture
def agent_user(db: Any) -> Any:
    return make_user("agent.alice", Role.AGENT, first_name="Alice", last_name="Agent")


@pytest.fixture
def other_agent_user(db: Any) -> Any:
    return make_user("agent.bob", Role.AGENT, first_name="Bob", last_name="Agent")


@pytest.fixture
def supervisor_user(db: Any) -> Any:
    return make_user("super.sam", Role.SUPERVISOR, first_name="Sam", last_name="Supervisor")


@pytest.fixture
def admin_user(db: Any) -> Any:
    return make_user("admin.ada", Role.ADMIN, first_name="Ada", last_name="Admin")


def _client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def agent_client(agent_user: Any) -> Client:
    return _client_for(agent_user)


@pytest.fixture
def supervisor_client(supervisor_user: Any) -> Client:
    return _client_for(supervisor_user)


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    return _client_for(admin_user)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def api_client_for() -> Any:
    """``api_client_for(user)``: a DRF client authenticated as ``user`` with a real API token."""
    from accounts.services import api_token_issue

    def build(user: Any) -> APIClient:
        _, key = api_token_issue(actor=user, user=user, name="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return build


@pytest.fixture(scope="session")
def asgi_server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[AsgiServer]:
    """The real ASGI application (HTTP + websockets) on a free port; use with ``transactional_db``."""
    with django_db_blocker.unblock():
        server = AsgiServer().start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: Any, django_db_blocker: Any) -> Iterator[CeleryWorker]:
    """A real Celery worker process on the test Redis and the test database."""
    from django.conf import settings

    with django_db_blocker.unblock():
        worker = CeleryWorker(settings.DATABASES["default"]["NAME"]).start()
        try:
            yield worker
        finally:
            worker.stop()
