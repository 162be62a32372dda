"""Simulated time: every ring, speech length, wait and NCCO time-out goes through one ``Clock``.

The speed factor can change while calls are running (``POST /_sandbox/clock``): sleeps in progress
re-compute their remaining wall time, so a wait of 10 simulated seconds started at speed 1 and switched to
speed 10 after 2 s finishes 0.8 s later.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime


def iso_now() -> str:
    """UTC now as Vonage writes timestamps: ISO 8601 with milliseconds and a ``Z``."""
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    m = moment.astimezone(UTC)
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}."
        f"{m.microsecond // 1000:03d}Z"
    )


class Clock:
    """Scales simulated seconds to wall seconds (``wall = simulated / speed``)."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = float(speed)
        self._changed: asyncio.Event | None = None

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        """Change the time scale; sleeps already running adapt at once."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = float(speed)
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    def _change_event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time."""
        await self.wait_for(None, seconds)

    async def wait_for(self, event: asyncio.Event | None, seconds: float | None) -> bool:
        """Wait until ``event`` is set (True) or ``seconds`` of simulated time pass (False).

        ``seconds=None`` waits for the event without a limit.
        """
        remaining = seconds
        loop = asyncio.get_running_loop()
        while True:
            if event is not None and event.is_set():
                return True
            if remaining is not None and remaining <= 0:
                return False
            speed, changed, started = self._speed, self._change_event(), loop.time()
            waiters = [asyncio.ensure_future(changed.wait())]
            if event is not None:
                waiters.append(asyncio.ensure_future(event.wait()))
            try:
                done, _ = await asyncio.wait(
                    waiters,
                    timeout=None if remaining is None else remaining / speed,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                for waiter in waiters:
                    waiter.cancel()
            if event is not None and event.is_set():
                return True
            if not done:
                return False
            if remaining is not None:
                remaining -= (loop.time() - started) * speed
