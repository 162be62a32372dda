"""The Celery application, and the one place where periodic tasks are declared.

With ``REDIS_URL`` set, tasks go through Redis to separate worker processes. Without it
(the embedded default) ``Task.apply_async`` hands the task to a thread pool inside the
web process instead, so callers never need to know which mode they run in.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from celery import Celery
from celery import Task as BaseTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")


class Task(BaseTask):
    """Celery task that runs in-process, still asynchronously, when no broker is configured."""

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:  # type: ignore[override]
        from django.conf import settings

        if getattr(settings, "EMBEDDED", False) and not self.app.conf.task_always_eager:
            from contactcenter import embedded

            return embedded.submit(self, args or (), kwargs or {}, options)
        return super().apply_async(args, kwargs, **options)


app = Celery("contactcenter", task_cls=Task)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every periodic task of the product, in one list (beat in scaled mode, a thread when embedded).
app.conf.beat_schedule = {
    "system-heartbeat": {"task": "system.heartbeat", "schedule": timedelta(seconds=15)},
    "calls-reconcile": {"task": "calls.reconcile", "schedule": timedelta(minutes=5)},
}
