"""Running ORM work from async views without leaking connections."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections

T = TypeVar("T")


def _closing(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    # The thread pool outlives the request, so Django's request_finished clean-up never sees
    # these connections; hand them back to the pool (CONN_MAX_AGE=0) as soon as the work is done.
    close_old_connections()
    try:
        return function(*args, **kwargs)
    finally:
        close_old_connections()


async def run_db(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``function`` (sync, ORM) on a worker thread and return its result."""
    return await sync_to_async(partial(_closing, function, *args, **kwargs), thread_sensitive=False)()
