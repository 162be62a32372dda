"""In-process task execution for the embedded default (no broker).

Tasks submitted here run on a small thread pool of the web process, after the caller's
transaction has committed (callers already wrap enqueues in ``transaction.on_commit``), and
periodic tasks from ``beat_schedule`` are fired by one scheduler thread. This mirrors what a
worker and beat do, so the same code paths run in both modes.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from celery.result import EagerResult

logger = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_scheduler: threading.Thread | None = None
_stop = threading.Event()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="embedded-task")
        return _executor


def _run(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any], task_id: str) -> None:
    from django.db import close_old_connections

    close_old_connections()
    try:
        result = task.apply(args=args, kwargs=kwargs, task_id=task_id, throw=False)
        if result.failed():
            logger.error("embedded task %s[%s] failed: %r", task.name, task_id, result.result)
    finally:
        close_old_connections()


def submit(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any], options: dict[str, Any]) -> EagerResult:
    """Run ``task`` on the embedded pool, honouring ``countdown`` and ``eta``."""
    task_id = options.get("task_id") or str(uuid.uuid4())
    delay = float(options.get("countdown") or 0)
    eta = options.get("eta")
    if isinstance(eta, datetime):
        delay = max(delay, (eta - datetime.now(UTC)).total_seconds())
    if delay > 0:
        timer = threading.Timer(delay, lambda: _pool().submit(_run, task, tuple(args), dict(kwargs), task_id))
        timer.daemon = True
        timer.start()
    else:
        _pool().submit(_run, task, tuple(args), dict(kwargs), task_id)
    return EagerResult(task_id, None, "PENDING")


def _schedule_loop() -> None:
    from contactcenter.celery import app

    # Task modules are discovered lazily; load them before the first tick names a task.
    app.loader.import_default_modules()
    entries = {name: dict(entry) for name, entry in app.conf.beat_schedule.items()}
    last_run: dict[str, datetime] = {}
    # Fire every entry once at start-up, as beat does for a fresh schedule.
    while not _stop.is_set():
        now = datetime.now(UTC)
        for name, entry in entries.items():
            schedule = entry["schedule"]
            every = (
                schedule.total_seconds()
                if hasattr(schedule, "total_seconds")
                else float(schedule.run_every.total_seconds())
            )
            previous = last_run.get(name)
            if previous is None or (now - previous).total_seconds() >= every:
                last_run[name] = now
                task = app.tasks.get(entry["task"])
                if task is None:
                    logger.error("periodic task %s names unknown task %s", name, entry["task"])
                    continue
                task.apply_async(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
        time.sleep(0.5)


def start_scheduler() -> None:
    """Start the periodic-task thread once per process."""
    global _scheduler
    with _lock:
        if _scheduler is not None:
            return
        _stop.clear()
        _scheduler = threading.Thread(target=_schedule_loop, name="embedded-beat", daemon=True)
        _scheduler.start()
