"""The call engine: legs, conversations, the simulated phone network and the NCCO interpreter.

One asyncio event loop drives every call. A ``Leg`` is one party's connection; it always belongs to one
``Conversation`` (an unnamed one per call, or a named conference). The far end of a leg is a simulated
party: a phone number, SIP URI or app user whose behaviour (answer after N rings, busy, ..., and a script
of DTMF, speech, waits and hang-up) is set through the control API.

Rules this module keeps (see voice-api.md): status events per leg are delivered in order (one lock per
leg), ``rejected`` has no ``completed`` after it, an NCCO returned by an input/notify/synchronous-connect
webhook replaces what was left, REST transfer replaces everything, actions after ``conversation`` never
run, and no error inside an action may crash the call: it becomes an ``error`` event and the NCCO goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid as uuidlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from voice_sandbox.audio_backend import default_media
from voice_sandbox.clock import Clock, iso, iso_now
from voice_sandbox.config import SandboxConfig
from voice_sandbox.media_backend import MediaBackend, WebsocketLink
from voice_sandbox.security import sign_webhook
from voice_sandbox.store import Store
from voice_sandbox.validation import Invalid, validate_ncco
from voice_sandbox.webhooks import Hook, NccoOutcome, Signing, WebhookClient

logger = logging.getLogger("voice_sandbox.engine")

TERMINAL = {"completed", "busy", "cancelled", "failed", "rejected", "timeout", "unanswered"}
RATE_PER_MINUTE = 0.01  # EUR, what every simulated minute costs
NETWORK_CODE = "23420"
SYNTAX_ERROR = "Syntax error in NCCO. Invalid value type or action."
LIVE_OBJECT_SECONDS = 300.0  # finished legs stay live objects this long, then only their record is kept
DEFAULT_TIMEOUTS = {
    "answer_url": ("GET", 1000, 5000),
    "fallback_answer_url": ("GET", 1000, 5000),
    "event_url": ("POST", 1000, 10000),
}


def new_uuid() -> str:
    return str(uuidlib.uuid4())


def new_conversation_uuid() -> str:
    return "CON-" + str(uuidlib.uuid4())


def endpoint_address(endpoint: dict[str, Any]) -> str:
    """The string Vonage puts in ``to``/``from`` of webhooks for an endpoint object."""
    kind = endpoint.get("type")
    if kind == "app":
        return str(endpoint.get("user", ""))
    if kind in ("sip", "websocket"):
        return str(endpoint.get("uri") or endpoint.get("domain") or "")
    if kind == "vbc":
        return str(endpoint.get("extension", ""))
    return str(endpoint.get("number", "")).lstrip("+")


def party_key(endpoint: dict[str, Any]) -> str:
    """Which scripted party answers ``endpoint``: app users are ``user:<name>``, others their address."""
    if endpoint.get("type") == "app":
        return "user:" + str(endpoint.get("user", ""))
    return endpoint_address(endpoint)


# ------------------------------------------------------------------------------------------------------
# Applications
# ------------------------------------------------------------------------------------------------------


@dataclass
class Application:
    """An application as the Applications API shows it (never with the private key)."""

    data: dict[str, Any]
    created: float

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def public_key(self) -> str:
        return str(self.data.get("keys", {}).get("public_key", ""))

    @property
    def voice(self) -> dict[str, Any]:
        return self.data.get("capabilities", {}).get("voice") or {}

    @property
    def signed_callbacks(self) -> bool:
        return bool(self.voice.get("signed_callbacks", False))

    def hook(self, name: str) -> Hook | None:
        """The application's ``answer_url``/``event_url``/``fallback_answer_url`` webhook, or None."""
        webhook = (self.voice.get("webhooks") or {}).get(name)
        if not isinstance(webhook, dict) or not webhook.get("address"):
            return None
        method, connect_ms, socket_ms = DEFAULT_TIMEOUTS[name]
        return Hook(
            str(webhook["address"]),
            str(webhook.get("http_method") or method).upper(),
            float(webhook.get("connect_timeout") or connect_ms) / 1000,
            float(webhook.get("socket_timeout") or socket_ms) / 1000,
        )

    def timeouts(self, name: str) -> Hook:
        """A template carrying the application's time-outs for ``name`` (URL filled in later)."""
        hook = self.hook(name)
        if hook is not None:
            return hook
        method, connect_ms, socket_ms = DEFAULT_TIMEOUTS[name]
        return Hook("", method, connect_ms / 1000, socket_ms / 1000)


# ------------------------------------------------------------------------------------------------------
# Conversations
# ------------------------------------------------------------------------------------------------------


@dataclass
class Member:
    leg: Leg
    can_hear: list[str] | None = None
    can_speak: list[str] | None = None
    mute: bool = False
    start_on_enter: bool = True
    end_on_exit: bool = False
    music_on_hold: str | None = None
    bridged: bool = False  # joined by a connect action: has no NCCO of its own while bridged
    left: asyncio.Event = field(default_factory=asyncio.Event)
    hold_task: asyncio.Task[None] | None = None


class Conversation:
    """A set of legs that hear each other (subject to mute, earmuff, canHear and canSpeak)."""

    def __init__(self, network: Network, app_id: str, name: str | None) -> None:
        self.network = network
        self.uuid = new_conversation_uuid()
        self.app_id = app_id
        self.name = name
        self.members: dict[str, Member] = {}
        self.started = name is None
        self.ended = False
        self.created = iso_now()
        self.recording: Recording | None = None
        self.record_hook: Hook | None = None

    def hears(self, listener: Leg, speaker: Leg) -> bool:
        """Whether ``listener`` hears ``speaker`` in this conversation right now."""
        if not self.started or listener.earmuffed or speaker.muted or listener is speaker:
            return False
        lm, sm = self.members.get(listener.uuid), self.members.get(speaker.uuid)
        if lm is None or sm is None or sm.mute:
            return False
        if lm.can_hear is not None and speaker.uuid not in lm.can_hear:
            return False
        return sm.can_speak is None or listener.uuid in sm.can_speak

    def deliver(self, speaker: Leg, entry: dict[str, Any]) -> None:
        """What ``speaker`` says or keys reaches every member that can hear it."""
        for member in list(self.members.values()):
            if self.hears(member.leg, speaker):
                member.leg.hear(dict(entry, **{"from": speaker.uuid}))

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        self.network.media.conversation_changed(self)
        for member in self.members.values():
            if member.hold_task is not None:
                member.hold_task.cancel()
                member.hold_task = None
        if self.recording is None and self.record_hook is not None:
            self.recording = Recording(self.network, owner=None, conversation=self, options={}, hook=self.record_hook)

    async def leave(self, leg: Leg) -> None:
        member = self.members.pop(leg.uuid, None)
        if member is None:
            return
        member.left.set()
        self.network.media.conversation_changed(self)
        if member.hold_task is not None:
            member.hold_task.cancel()
        if self.ended:
            return
        if member.end_on_exit or not self.members:
            await self.end()
            return
        if self.name is None and all(m.bridged for m in self.members.values()):
            # A two-party bridge ends with its NCCO-driven party: the connected legs hang up.
            for other in list(self.members.values()):
                await other.leg.end(by="platform")

    async def end(self) -> None:
        if self.ended:
            return
        self.ended = True
        self.network.forget_conversation(self)
        if self.recording is not None:
            await self.recording.finish()
        for member in list(self.members.values()):
            await member.leg.end(by="platform")


# ------------------------------------------------------------------------------------------------------
# Recordings
# ------------------------------------------------------------------------------------------------------


class Recording:
    """A recording of a leg (``record`` action) or of a conversation (``record: true``)."""

    def __init__(
        self,
        network: Network,
        *,
        owner: Leg | None,
        conversation: Conversation | None,
        options: dict[str, Any],
        hook: Hook | None,
    ) -> None:
        self.network = network
        self.owner = owner
        self.conversation = conversation
        self.options = options
        self.hook = hook
        self.uuid = new_uuid()
        self.file_id = new_uuid()
        self.started_at = datetime.now(UTC)
        self.started_mono = network.clock.monotonic()
        self.done = asyncio.Event()
        self.finished = False
        network.media.recording_started(self)

    async def finish(self) -> None:
        """Stop, store the file and send the record webhook (once)."""
        if self.finished:
            return
        self.finished = True
        self.done.set()
        ended_at = datetime.now(UTC)
        simulated = (self.network.clock.monotonic() - self.started_mono) * self.network.clock.speed
        channels = int(self.options.get("channels") or (2 if self.options.get("split") else 1))
        fmt = str(self.options.get("format") or "mp3")
        app_id = self.owner.app.id if self.owner else (self.conversation.app_id if self.conversation else "")
        data, content_type = await self.network.media.recording_bytes(
            seconds=simulated, channels=channels, fmt=fmt, recording=self
        )
        url = self.network.save_recording(self.file_id, app_id, data, content_type)
        conversation_uuid = self.conversation.uuid if self.conversation else self.owner.conversation_uuid  # type: ignore[union-attr]
        payload = {
            "start_time": iso(self.started_at),
            "recording_url": url,
            "size": len(data),
            "recording_uuid": self.uuid,
            "end_time": iso(ended_at),
            "conversation_uuid": conversation_uuid,
            "timestamp": iso_now(),
        }
        target = self.owner or (
            next(iter(self.conversation.members.values())).leg
            if self.conversation and self.conversation.members
            else None
        )
        hook = self.hook
        if hook is None and target is not None:
            hook = target.event_hook
        if hook is None:
            app = self.network.apps.get(app_id)
            hook = app.hook("event_url") if app else None
        if hook is None:
            return
        if target is not None:
            target.spawn(target.send_event_to(hook, payload, kind="record"))
        else:
            app = self.network.apps.get(app_id)
            signing = self.network.signing(app) if app else None
            self.network.spawn(
                self.network.webhooks.send_event(hook, payload, kind="record", signing=signing, log=lambda e: None)
            )


# ------------------------------------------------------------------------------------------------------
# Input
# ------------------------------------------------------------------------------------------------------


class InputSession:
    """A running synchronous ``input`` action: the far end's keys and speech are queued here."""

    def __init__(self, kinds: list[str]) -> None:
        self.kinds = kinds
        self.items: deque[tuple[str, str, float]] = deque()
        self.ready = asyncio.Event()
        self.capture: Any = None  # real audio: the speech capture started before bargeIn prompts end

    def put(self, kind: str, value: str, seconds: float = 0.0) -> None:
        self.items.append((kind, value, seconds))
        self.ready.set()


# ------------------------------------------------------------------------------------------------------
# Legs
# ------------------------------------------------------------------------------------------------------


class Leg:
    """One party's connection: status, events, what it heard, and its NCCO."""

    def __init__(
        self,
        network: Network,
        *,
        app: Application,
        direction: str,
        to: dict[str, Any],
        from_: dict[str, Any],
        event_hook: Hook | None,
        fallback_hook: Hook | None,
        parent: Leg | None = None,
        uuid: str | None = None,
    ) -> None:
        self.network = network
        self.uuid = uuid or new_uuid()
        self.app = app
        self.direction = direction
        self.to = to
        self.from_ = from_
        self.event_hook = event_hook
        self.fallback_hook = fallback_hook
        self.parent = parent
        self.status = "started"
        self.created = iso_now()
        self.start_time: str | None = None
        self.end_time: str | None = None
        self.answered_mono: float | None = None
        self.ended_mono: float | None = None
        self.duration: str | None = None
        self.price: str | None = None
        self.disconnected_by: str | None = None
        self.heard: list[dict[str, Any]] = []
        self.webhooks: list[dict[str, Any]] = []
        self.muted = False
        self.earmuffed = False
        self.conversation: Conversation | None = None
        self.conversation_uuid = new_conversation_uuid()
        self.behaviour: dict[str, Any] = {}
        self.machine_detection: dict[str, Any] | None = None
        self.length_timer: float | None = None
        self.ringing_timer: float | None = None
        self.headers: dict[str, Any] | None = None
        self.sip_code: int | None = None
        # runtime only: webhooks of a leg go out one after another, in the order they were queued
        self._webhook_tail: asyncio.Future[None] | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.lifecycle: asyncio.Task[Any] | None = None
        self.executor: asyncio.Task[Any] | None = None
        self.script_task: asyncio.Task[Any] | None = None
        self.barge_task: asyncio.Task[Any] | None = None
        self.rest_talk: asyncio.Task[Any] | None = None
        self.rest_stream: asyncio.Task[Any] | None = None
        self.input_session: InputSession | None = None
        self.async_input_hook: Hook | None = None
        self.dtmf_listener: Hook | None = None
        self.recordings: list[Recording] = []
        self.record_key_waiters: list[tuple[str, asyncio.Event]] = []
        self.websocket: WebsocketLink | None = None
        self.answered = asyncio.Event()
        self.ended = asyncio.Event()
        self.state_changed = asyncio.Event()
        self.finished = False

    # -- record and persistence -----------------------------------------
    def record(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "application_id": self.app.id,
            "conversation_uuid": self.conversation_uuid,
            "direction": self.direction,
            "status": self.status,
            "from": endpoint_address(self.from_),
            "to": endpoint_address(self.to),
            "from_endpoint": self.from_,
            "to_endpoint": self.to,
            "created": self.created,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "duration": self.duration,
            "rate": f"{RATE_PER_MINUTE:.8f}",
            "price": self.price,
            "network": NETWORK_CODE,
            "disconnected_by": self.disconnected_by,
            "muted": self.muted,
            "earmuffed": self.earmuffed,
            "parent_uuid": self.parent.uuid if self.parent else None,
            "heard": self.heard,
            "webhooks": self.webhooks,
        }

    def touch(self) -> None:
        self.network.dirty.add(self.uuid)
        self.state_changed.set()
        self.state_changed = asyncio.Event()

    def hear(self, entry: dict[str, Any]) -> None:
        """Append to what this leg heard (the control API's ``heard``), unless it is earmuffed."""
        if self.earmuffed and entry.get("type") == "speech":
            return
        self.heard.append(entry)
        self.touch()

    def log_webhook(self, entry: dict[str, Any]) -> None:
        self.webhooks.append(entry)
        self.touch()

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("leg %s task failed", self.uuid, exc_info=task.exception())

    @property
    def is_live(self) -> bool:
        return not self.finished and self.status not in TERMINAL

    # -- events -----------------------------------------
    def base_payload(self, status: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "from": endpoint_address(self.from_),
            "to": endpoint_address(self.to),
            "uuid": self.uuid,
            "conversation_uuid": self.conversation_uuid,
        }
        if status is not None:
            payload["status"] = status
        payload["direction"] = self.direction
        payload["timestamp"] = iso_now()
        return payload

    def _take_turn(self) -> tuple[asyncio.Future[None] | None, asyncio.Future[None]]:
        """Reserve the next place in this leg's webhook queue (synchronously, so order = call order)."""
        previous = self._webhook_tail
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._webhook_tail = mine
        return previous, mine

    @staticmethod
    async def _wait_turn(previous: asyncio.Future[None] | None) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait({previous})

    @staticmethod
    def _end_turn(mine: asyncio.Future[None]) -> None:
        if not mine.done():
            mine.set_result(None)

    def send_event_to(self, hook: Hook, payload: dict[str, Any], *, kind: str) -> Any:
        """A coroutine delivering a plain event after this leg's webhooks queued before it."""
        previous, mine = self._take_turn()
        return self._send_in_turn(previous, mine, hook, payload, kind)

    async def _send_in_turn(
        self,
        previous: asyncio.Future[None] | None,
        mine: asyncio.Future[None],
        hook: Hook,
        payload: dict[str, Any],
        kind: str,
    ) -> None:
        try:
            await self._wait_turn(previous)
            await self.network.webhooks.send_event(
                hook, payload, kind=kind, signing=self.network.signing(self.app), log=self.log_webhook
            )
        finally:
            self._end_turn(mine)

    def emit(self, status: str, **extra: Any) -> None:
        """Queue a call-status event (ordered per leg; the caller does not wait for delivery)."""
        payload = self.base_payload(status)
        if self.headers is not None:
            payload["headers"] = self.headers
        payload.update(extra)
        if self.event_hook is not None:
            self.spawn(self.send_event_to(self.event_hook, payload, kind="event"))
        else:
            self.log_webhook({"kind": "event", "skipped": "no event_url", "payload": payload, "timestamp": iso_now()})

    async def emit_sync(self, status: str, hook: Hook | None, **extra: Any) -> list[dict[str, Any]] | None:
        """A call-status event whose answer may be an NCCO (connect ``eventType: synchronous``)."""
        payload = self.base_payload(status)
        payload.update(extra)
        if hook is None:
            return None
        outcome = await self.fetch_ncco(hook, payload, kind="event", request_type="event")
        return outcome.ncco

    def emit_error(self, reason: str) -> None:
        payload = {"reason": reason, "conversation_uuid": self.conversation_uuid, "timestamp": iso_now()}
        if self.event_hook is not None:
            self.spawn(self.send_event_to(self.event_hook, payload, kind="error"))

    async def fetch_ncco(self, hook: Hook, payload: dict[str, Any], *, kind: str, request_type: str) -> NccoOutcome:
        """An NCCO-bearing webhook, ordered after this leg's queued events."""

        async def on_invalid(errors: Invalid) -> None:
            await self.network.webhooks.send_event(
                self.event_hook or hook,
                {"reason": SYNTAX_ERROR, "conversation_uuid": self.conversation_uuid, "timestamp": iso_now()},
                kind="error",
                signing=self.network.signing(self.app),
                log=self.log_webhook,
            )

        previous, mine = self._take_turn()
        try:
            await self._wait_turn(previous)
            return await self.network.webhooks.fetch_ncco(
                hook,
                self.fallback_hook,
                payload,
                kind=kind,
                request_type=request_type,
                signing=self.network.signing(self.app),
                log=self.log_webhook,
                on_invalid=on_invalid,
            )
        finally:
            self._end_turn(mine)

    def answer_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"to": endpoint_address(self.to)}
        if self.from_.get("type") == "app":
            payload["from_user"] = self.from_.get("user")
        else:
            payload["from"] = endpoint_address(self.from_)
        payload.update(
            {
                "uuid": self.uuid,
                "conversation_uuid": self.conversation_uuid,
                "endpoint_type": (self.from_ if self.direction == "inbound" else self.to).get("type", "phone"),
                "region_url": self.network.config.public_url,
            }
        )
        if self.direction == "inbound" and self.from_.get("custom_data") is not None:
            payload["custom_data"] = self.from_["custom_data"]
        return payload

    # -- state -----------------------------------------
    def set_status(self, status: str) -> None:
        self.status = status
        self.touch()

    async def mark_answered(self) -> None:
        """The far end picked up: ``answered`` event, timers, machine detection, the party's script."""
        self.set_status("answered")
        self.start_time = iso_now()
        self.answered_mono = self.network.clock.monotonic()
        self.answered.set()
        self.emit("answered", start_time=None, rate=None, network=None)
        if self.length_timer:
            self.spawn(self._length_timer(self.length_timer))
        if self.machine_detection is not None:
            self.spawn(self._detect_machine())
        if self.is_live:
            steps = list(self.behaviour.get("script") or [])
            if steps:
                self.script_task = self.spawn(self.network.run_script(self, steps))

    async def _detect_machine(self) -> None:
        settings = self.machine_detection or {}
        is_machine = bool(self.behaviour.get("machine"))
        await self.network.clock.sleep(1.0)
        payload: dict[str, Any] = {
            "call_uuid": self.uuid,
            "conversation_uuid": self.conversation_uuid,
            "status": "machine" if is_machine else "human",
            "to": endpoint_address(self.to),
            "from": endpoint_address(self.from_),
            "timestamp": iso_now(),
        }
        if self.event_hook is not None:
            self.spawn(self.send_event_to(self.event_hook, payload, kind="event"))
        if is_machine and settings.get("mode") == "detect_beep":
            beep = dict(payload, sub_state="beep_start", timestamp=iso_now())
            if self.event_hook is not None:
                self.spawn(self.send_event_to(self.event_hook, beep, kind="event"))
        if is_machine and settings.get("behavior") == "hangup":
            await self.end(by="platform")

    async def _length_timer(self, seconds: float) -> None:
        await self.network.clock.sleep(seconds)
        await self.end(by="platform")

    async def end(self, *, by: str = "platform", status: str | None = None) -> None:
        """Hang up: stop everything, leave the conversation, send ``completed`` (or ``status``) once."""
        if self.finished:
            return
        self.finished = True
        current = asyncio.current_task()
        was_answered = self.answered.is_set()
        for task in list(self.tasks) + [t for t in (self.lifecycle, self.executor) if t is not None]:
            if task is not current and not task.done() and not _is_event_delivery(task):
                task.cancel()
        self.input_session = None
        for recording in list(self.recordings):
            await recording.finish()
        if self.websocket is not None:
            await self.websocket.close()
        if self.conversation is not None:
            conversation, self.conversation = self.conversation, None
            await conversation.leave(self)
        self.end_time = iso_now()
        self.disconnected_by = by
        if was_answered and self.answered_mono is not None:
            wall = self.network.clock.monotonic() - self.answered_mono
            seconds = round(wall)
        else:
            seconds = 0
        self.duration = str(seconds)
        self.price = f"{RATE_PER_MINUTE * seconds / 60:.8f}"
        if status is not None:
            self.set_status(status)
        if self.status != "rejected":
            if not was_answered and self.status in ("started", "ringing"):
                self.set_status("cancelled")
                self.emit("cancelled")
            self.set_status("completed")
            self.emit(
                "completed",
                start_time=self.start_time or self.created,
                end_time=self.end_time,
                duration=self.duration,
                rate=f"{RATE_PER_MINUTE:.8f}",
                price=self.price,
                network=NETWORK_CODE,
                disconnected_by=by,
                sip_code=self.sip_code or 200,
            )
        self.ended_mono = self.network.clock.monotonic()
        self.network.media.leg_ended(self)
        self.ended.set()
        self.touch()

    # -- what the far end does -----------------------------------------
    async def press_dtmf(self, digits: str) -> None:
        """The party on this leg presses keys (``p`` = 0.5 s pause): out-of-band and/or as tones (media's choice)."""
        await self.network.media.party_dtmf(self, digits)

    def key(self, digit: str) -> None:
        """One key press: to the running input, the async listeners, a record's endOnKey, or the room."""
        consumed = False
        self.network.media.key_pressed(self, digit)
        if self.input_session is not None and "dtmf" in self.input_session.kinds:
            self.input_session.put("dtmf", digit)
            consumed = True
        for wanted, event in list(self.record_key_waiters):
            if wanted == digit:
                event.set()
                consumed = True
        for hook in (self.async_input_hook, self.dtmf_listener):
            if hook is not None:
                payload = self.base_payload()
                payload.pop("direction", None)
                payload = {"dtmf": {"digits": digit, "timed_out": False}, **payload}
                self.spawn(self.send_event_to(hook, payload, kind="input"))
                consumed = True
        if not consumed and self.conversation is not None:
            self.conversation.deliver(self, {"type": "dtmf", "digits": digit})

    async def say(self, text: str) -> None:
        """The party on this leg speaks ``text`` (to a running speech input, else to the conversation)."""
        seconds = await self.network.media.speech_from(self, text)
        if self.input_session is not None and "speech" in self.input_session.kinds:
            self.input_session.put("speech", text, seconds)
        elif self.conversation is not None:
            self.conversation.deliver(self, {"type": "speech", "text": text})
        await self.network.media.speech_done(self, seconds)

    # -- conversation membership -----------------------------------------
    async def join(self, conversation: Conversation, member: Member) -> None:
        if self.conversation is conversation:
            conversation.members[self.uuid] = member
            return
        if self.conversation is not None:
            old, self.conversation = self.conversation, None
            await old.leave(self)
        self.conversation = conversation
        self.conversation_uuid = conversation.uuid
        conversation.members[self.uuid] = member
        for other in conversation.members.values():
            other.leg.touch()  # wakes scripts waiting for someone to join (wait_for: conversation)
        self.network.media.conversation_changed(conversation)
        if member.start_on_enter:
            conversation.start()
        elif not conversation.started:
            member.hold_task = self.spawn(self.network.media.music_on_hold(self, member.music_on_hold))

    # -- NCCO -------------------------------------------------------------------------------------------------------
    def run_ncco(self, ncco: list[dict[str, Any]], *, hangup_when_done: bool = True) -> asyncio.Task[Any]:
        self.executor = self.spawn(self.network.interpreter.execute(self, ncco, hangup_when_done))
        return self.executor

    async def stop_ncco(self) -> None:
        """Cancel the running NCCO and anything it started in the background (bargeIn prompts, input)."""
        for task in (self.executor, self.barge_task):
            if task is not None and task is not asyncio.current_task() and not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        self.executor = None
        self.barge_task = None
        self.input_session = None


def _is_event_delivery(task: asyncio.Task[Any]) -> bool:
    # Events already queued (e.g. ``answered``) must still be delivered after a hang-up.
    coro = task.get_coro()
    return getattr(coro, "__qualname__", "").endswith("_send_in_turn")


# ------------------------------------------------------------------------------------------------------
# The network
# ------------------------------------------------------------------------------------------------------


class RateLimiter:
    """Rolling one-second windows for call creations (CPS) and other requests (RPS)."""

    def __init__(self, cps: float, rps: float) -> None:
        self.cps = cps
        self.rps = rps
        self.windows: dict[str, deque[float]] = {"cps": deque(), "rps": deque()}

    def allow(self, kind: str, now: float) -> bool:
        window = self.windows[kind]
        limit = self.cps if kind == "cps" else self.rps
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= limit:
            return False
        window.append(now)
        return True


class Network:
    """All state of one sandbox: applications, numbers, parties, legs, conversations."""

    def __init__(self, config: SandboxConfig, store: Store, webhooks: WebhookClient, media: MediaBackend | None = None):
        self.config = config
        self.store = store
        self.webhooks = webhooks
        self.clock = Clock(config.speed)
        self.media = media or default_media(self)
        self.media.clock = self.clock
        self.interpreter = Interpreter(self)
        self.limiter = RateLimiter(config.cps, config.rps)
        self.apps: dict[str, Application] = {}
        self.numbers: dict[str, dict[str, Any]] = {}
        self.parties: dict[str, dict[str, Any]] = {}
        #: Parties a person answers live (the browser phone): party key -> ``async (leg, timeout) -> outcome``,
        #: used by ``ring`` instead of the scripted behaviour while registered.
        self.answerers: dict[str, Callable[[Leg, float], Awaitable[tuple[str, dict[str, Any]]]]] = {}
        self.legs: dict[str, Leg] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.conversations: dict[str, Conversation] = {}
        self.named: dict[tuple[str, str], Conversation] = {}
        self.dirty: set[str] = set()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.recordings_dir = (config.data_dir / "recordings") if config.data_dir else None
        self._memory_recordings: dict[str, tuple[str, bytes, str]] = {}
        self.load()

    # -- persistence -----------------------------------------
    def load(self) -> None:
        for created, data in self.store.applications():
            self.apps[data["id"]] = Application(data, created)
        for number in self.store.numbers():
            self.numbers[number["msisdn"]] = number
        for key, value in self.store.kv_items("party:"):
            self.parties[key] = value
        changed = []
        for record in self.store.legs():
            if record.get("status") not in TERMINAL:
                # A call cannot survive a restart of the process that carried its audio.
                record["status"] = "completed"
                record["end_time"] = record.get("end_time") or iso_now()
                record["disconnected_by"] = "platform"
                record["duration"] = record.get("duration") or "0"
                record["price"] = record.get("price") or "0.00000000"
                changed.append(record)
            self.records[record["uuid"]] = record
        self.store.save_legs(changed)

    def flush(self) -> None:
        """Write dirty legs in one transaction."""
        if not self.dirty:
            return
        uuids, self.dirty = self.dirty, set()
        self.store.save_legs(self.legs[u].record() for u in uuids if u in self.legs)

    def evict(self, older_than: float = LIVE_OBJECT_SECONDS) -> int:
        """Turn legs finished more than ``older_than`` wall seconds ago into plain records (bounded memory)."""
        now = self.clock.monotonic()
        evicted = 0
        for uuid, leg in list(self.legs.items()):
            if (
                leg.finished
                and leg.ended_mono is not None
                and now - leg.ended_mono > older_than
                and not leg.tasks
                and uuid not in self.dirty
            ):
                self.records[uuid] = leg.record()
                del self.legs[uuid]
                evicted += 1
        return evicted

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def leg_record(self, uuid: str) -> dict[str, Any] | None:
        leg = self.legs.get(uuid)
        if leg is not None:
            return leg.record()
        return self.records.get(uuid)

    def all_records(self) -> list[dict[str, Any]]:
        out = dict(self.records)
        for uuid, leg in self.legs.items():
            out[uuid] = leg.record()
        return sorted(out.values(), key=lambda r: (r["created"], r["uuid"]))

    def signing(self, app: Application) -> Signing | None:
        if not app.signed_callbacks:
            return None
        return Signing(self.config.signature_secret, self.config.api_key, app.id)

    def save_recording(self, file_id: str, app_id: str, data: bytes, content_type: str) -> str:
        if self.recordings_dir is not None:
            self.recordings_dir.mkdir(parents=True, exist_ok=True)
            path = self.recordings_dir / file_id
            path.write_bytes(data)
            self.store.save_recording(file_id, app_id, str(path), content_type)
        else:
            self._memory_recordings[file_id] = (app_id, data, content_type)
        return f"{self.config.public_url}/v1/files/{file_id}"

    def load_recording(self, file_id: str) -> tuple[str, bytes, str] | None:
        if file_id in self._memory_recordings:
            return self._memory_recordings[file_id]
        row = self.store.recording(file_id)
        if row is None:
            return None
        app_id, path, content_type = row
        try:
            return app_id, Path(path).read_bytes(), content_type
        except OSError:
            return None

    # -- parties -----------------------------------------
    def set_party(self, key: str, behaviour: dict[str, Any]) -> None:
        self.parties[key] = behaviour
        self.store.kv_set("party:" + key, behaviour)

    def behaviour_for(self, endpoint: dict[str, Any]) -> dict[str, Any]:
        """How the party at ``endpoint`` behaves; unknown parties answer after one ring and stay."""
        return dict(self.parties.get(party_key(endpoint)) or {"on_ring": "answer", "rings": 1})

    # -- conversations -----------------------------------------
    def new_conversation(self, app_id: str, name: str | None = None) -> Conversation:
        conversation = Conversation(self, app_id, name)
        self.conversations[conversation.uuid] = conversation
        if name is not None:
            self.named[(app_id, name)] = conversation
        return conversation

    def named_conversation(self, app_id: str, name: str) -> Conversation:
        existing = self.named.get((app_id, name))
        if existing is not None and not existing.ended:
            return existing
        return self.new_conversation(app_id, name)

    def forget_conversation(self, conversation: Conversation) -> None:
        self.conversations.pop(conversation.uuid, None)
        if conversation.name is not None and self.named.get((conversation.app_id, conversation.name)) is conversation:
            del self.named[(conversation.app_id, conversation.name)]

    # -- numbers -----------------------------------------
    def numbers_of(self, app_id: str) -> list[str]:
        return sorted(n for n, data in self.numbers.items() if data.get("app_id") == app_id)

    def random_number(self, app_id: str, destination: str = "") -> str | None:
        linked = self.numbers_of(app_id)
        if not linked:
            return None
        same = [n for n in linked if destination[:2] and n[:2] == destination[:2]]
        return random.choice(same or linked)

    # -- calls -----------------------------------------
    def new_leg(self, *, join: Conversation | None = None, **kwargs: Any) -> Leg:
        """A new leg in a conversation of its own, or (``join``, for connect) carrying ``join``'s uuid."""
        leg = Leg(self, **kwargs)
        if join is not None:
            # Connected legs share the caller's conversation uuid from their first event on, but only
            # become members (hear and are heard) once they answer.
            leg.conversation_uuid = join.uuid
        else:
            conversation = self.new_conversation(leg.app.id)
            leg.conversation = conversation
            leg.conversation_uuid = conversation.uuid
            conversation.members[leg.uuid] = Member(leg)
        self.legs[leg.uuid] = leg
        leg.behaviour = self.behaviour_for(leg.to if leg.direction == "outbound" else leg.from_)
        leg.touch()
        return leg

    async def ring(self, leg: Leg, timeout: float) -> tuple[str, dict[str, Any]]:
        """Ring the party of an outbound ``leg``; emits ``started``/``ringing``, returns the outcome.

        The outcome is ``answered`` or a failure status with its extra event fields; the caller emits the
        failure event (it may be synchronous) and ``completed``.
        """
        leg.emit("started")
        if leg.to.get("type") == "websocket":
            return await self._connect_websocket(leg)
        answerer = self.answerers.get(party_key(leg.to))
        if answerer is not None:
            return await answerer(leg, timeout)
        behaviour = leg.behaviour
        on_ring = behaviour.get("on_ring", "answer")
        rings = max(0, int(behaviour.get("rings", 1) or 0))
        ring_time = rings * self.config.ring_seconds
        await self.clock.sleep(0.05)
        if on_ring in ("busy", "fail"):
            await self.clock.sleep(0.5)
            if leg.finished:
                return "cancelled", {}
            if on_ring == "busy":
                return "busy", {"sip_code": 486}
            return "failed", {"detail": "cannot_route", "sip_code": 404}
        if leg.finished:
            return "cancelled", {}
        leg.set_status("ringing")
        leg.emit("ringing")
        if ring_time > timeout:
            await self.clock.sleep(timeout)
            return ("cancelled" if leg.finished else "timeout"), {}
        await self.clock.sleep(ring_time)
        if leg.finished:
            return "cancelled", {}
        if on_ring == "reject":
            return "rejected", {"detail": "declined", "sip_code": 603}
        if on_ring == "unanswered":
            return "unanswered", {"detail": "carrier_timeout", "sip_code": 480}
        return "answered", {}

    async def _connect_websocket(self, leg: Leg) -> tuple[str, dict[str, Any]]:
        leg.headers = dict(leg.to.get("headers") or {})
        token = sign_webhook(
            b"", secret=self.config.signature_secret, api_key=self.config.api_key, application_id=leg.app.id
        )

        async def on_closed() -> None:
            if leg.is_live:
                await self.websocket_closed(leg)

        try:
            leg.websocket = await self.media.open_websocket(leg, leg.to, token, on_closed)
        except OSError:
            return "failed", {"detail": "cannot_route"}
        return "answered", {}

    async def websocket_closed(self, leg: Leg) -> None:
        """The app closed the socket: ``disconnected`` event (its answer may be an NCCO), then the leg ends."""
        payload = leg.base_payload("disconnected")
        payload.pop("direction", None)
        payload["headers"] = leg.headers or {}
        hook = leg.event_hook
        ncco = None
        if hook is not None:
            outcome = await leg.fetch_ncco(hook, payload, kind="event", request_type="event")
            ncco = outcome.ncco
        parent = leg.parent
        if ncco and parent is not None and parent.is_live:
            await parent.stop_ncco()
            parent.run_ncco(ncco)
        await leg.end(by="user")

    async def transfer(self, leg: Leg, ncco: list[dict[str, Any]]) -> None:
        """REST transfer: the leg leaves its conversation for a new one and runs ``ncco`` instead."""
        await leg.stop_ncco()
        if not leg.is_live:
            return
        old_uuid = leg.conversation_uuid
        await leg.join(self.new_conversation(leg.app.id), Member(leg))
        payload = {
            "conversation_uuid_from": old_uuid,
            "conversation_uuid_to": leg.conversation_uuid,
            "uuid": leg.uuid,
            "timestamp": iso_now(),
            "type": "transfer",
        }
        if leg.event_hook is not None:
            leg.spawn(leg.send_event_to(leg.event_hook, payload, kind="transfer"))
        leg.run_ncco(ncco)

    async def transfer_to_url(self, leg: Leg, url: str) -> None:
        """REST transfer to an NCCO URL: fetched (with fallback rules) before the current NCCO is replaced."""
        hook = leg.app.timeouts("answer_url").with_url(url, "GET")
        fetched = await leg.fetch_ncco(hook, leg.answer_payload(), kind="transfer", request_type="answer")
        if fetched.ncco and leg.is_live:
            await self.transfer(leg, fetched.ncco)

    async def finish_failed(self, leg: Leg, status: str, extra: dict[str, Any]) -> None:
        leg.sip_code = extra.get("sip_code")
        leg.set_status(status)
        leg.emit(status, **extra)
        await leg.end(by="platform", status=status)

    async def place_outbound(self, leg: Leg, *, ncco: list[dict[str, Any]] | None, answer_hook: Hook | None) -> None:
        """Lifecycle of a REST-created call: ring, answer, fetch the NCCO (answer_url) and run it."""
        try:
            outcome, extra = await self.ring(leg, leg.ringing_timer or 60)
            if outcome == "cancelled":
                return
            if outcome != "answered":
                await self.finish_failed(leg, outcome, extra)
                return
            await leg.mark_answered()
            if not leg.is_live:
                return
            if ncco is None and answer_hook is not None:
                fetched = await leg.fetch_ncco(answer_hook, leg.answer_payload(), kind="answer", request_type="answer")
                if fetched.failed or not fetched.ncco:
                    # No NCCO from the answer or fallback URL: Vonage drops the call.
                    await leg.end(by="platform")
                    return
                ncco = fetched.ncco
            if ncco is not None and leg.is_live:
                leg.run_ncco(ncco)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("outbound call %s failed", leg.uuid)
            await leg.end(by="platform")

    async def receive_inbound(self, leg: Leg) -> None:
        """Lifecycle of a call from the network to a virtual number: answer webhook, then the NCCO."""
        try:
            leg.emit("started")
            leg.set_status("ringing")
            leg.emit("ringing")
            answer = leg.app.hook("answer_url")
            if answer is None:
                await self.finish_failed(leg, "failed", {"detail": "cannot_route", "sip_code": 404})
                return
            fetched = await leg.fetch_ncco(answer, leg.answer_payload(), kind="answer", request_type="answer")
            if fetched.failed or not fetched.ncco:
                # Neither the answer nor the fallback URL gave an NCCO: the call cannot be connected.
                await self.finish_failed(leg, "failed", {})
                return
            await leg.mark_answered()
            if leg.is_live:
                leg.run_ncco(fetched.ncco)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("inbound call %s failed", leg.uuid)
            await leg.end(by="platform")

    async def run_script(self, leg: Leg, steps: list[dict[str, Any]]) -> None:
        """Play a party's script once its call is answered (wait, dtmf, say, hangup, wait_for)."""
        for step in steps:
            if not leg.is_live:
                return
            if "wait" in step:
                await self.clock.sleep(float(step["wait"]))
            elif "dtmf" in step:
                await leg.press_dtmf(str(step["dtmf"]))
            elif "say" in step:
                await leg.say(str(step["say"]))
            elif "hangup" in step:
                if step["hangup"]:
                    await leg.end(by="user")
                    return
            elif "wait_for" in step:
                await self.wait_for_state(leg, str(step["wait_for"]), float(step.get("timeout", 3600)))

    async def wait_for_state(self, leg: Leg, what: str, timeout: float) -> None:
        """Block a script until its leg runs an input (``input``) or is in a conversation with someone else
        or a named one (``conversation``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout / self.clock.speed
        while leg.is_live:
            if what == "input" and leg.input_session is not None:
                return
            conversation = leg.conversation
            if (
                what == "conversation"
                and conversation is not None
                and (conversation.name is not None or len(conversation.members) > 1)
            ):
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await leg.state_changed.wait()


# ------------------------------------------------------------------------------------------------------
# NCCO interpreter
# ------------------------------------------------------------------------------------------------------


def _hook_from(action: dict[str, Any], template: Hook | None, key: str = "eventUrl") -> Hook | None:
    urls = action.get(key)
    if isinstance(urls, list) and urls:
        base = template or Hook("", "POST")
        return base.with_url(str(urls[0]), str(action.get("eventMethod") or "POST"))
    return template


def _level(value: Any) -> float:
    if value is None:
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


class Interpreter:
    """Runs NCCO actions on a leg with Vonage's semantics."""

    def __init__(self, network: Network) -> None:
        self.network = network

    async def execute(self, leg: Leg, ncco: list[dict[str, Any]], hangup_when_done: bool) -> None:
        queue = list(ncco)
        while queue and leg.is_live:
            action = queue.pop(0)
            try:
                replacement = await getattr(self, "do_" + action["action"])(leg, action)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("NCCO action %s failed on leg %s", action.get("action"), leg.uuid)
                leg.emit_error(f"Failed to execute {action.get('action')} action.")
                replacement = None
            if replacement is not None:
                queue = list(replacement)
        if leg.barge_task is not None and not leg.barge_task.done():
            with contextlib.suppress(BaseException):
                await leg.barge_task
        if hangup_when_done and leg.is_live:
            leg.executor = None
            await leg.end(by="platform")

    # -- media -----------------------------------------
    async def do_talk(self, leg: Leg, action: dict[str, Any]) -> None:
        coro_factory = lambda: self.network.media.talk(  # noqa: E731
            leg,
            text=str(action["text"]),
            language=str(action.get("language") or "en-US"),
            style=int(action.get("style") or 0),
            level=_level(action.get("level")),
            loop=int(action.get("loop", 1)),
        )
        await self._play(leg, action, coro_factory)

    async def do_stream(self, leg: Leg, action: dict[str, Any]) -> None:
        coro_factory = lambda: self.network.media.stream(  # noqa: E731
            leg, url=str(action["streamUrl"][0]), level=_level(action.get("level")), loop=int(action.get("loop", 1))
        )
        await self._play(leg, action, coro_factory)

    async def _play(self, leg: Leg, action: dict[str, Any], coro_factory: Any) -> None:
        if action.get("bargeIn") is True:
            previous = leg.barge_task

            async def chained() -> None:
                if previous is not None:
                    with contextlib.suppress(BaseException):
                        await previous
                await coro_factory()

            leg.barge_task = leg.spawn(chained())
            return
        await coro_factory()

    # -- input -----------------------------------------
    async def do_input(self, leg: Leg, action: dict[str, Any]) -> list[dict[str, Any]] | None:
        kinds = list(action["type"])
        hook = _hook_from(action, leg.event_hook)
        if action.get("mode") == "asynchronous":
            leg.async_input_hook = hook
            return None
        session = InputSession(kinds)
        leg.input_session = session
        leg.touch()
        media = self.network.media
        if media.real_audio and "speech" in kinds:
            # Listen from the start: a caller may talk over a bargeIn prompt (the VAD then stops it).
            session.capture = await media.speech_capture(leg, action.get("speech") or {})
        try:
            if leg.barge_task is not None and not leg.barge_task.done():
                # Prompts with bargeIn play on; the first key or word stops them.
                barge = leg.barge_task
                waiters = [asyncio.ensure_future(session.ready.wait())]
                if session.capture is not None:
                    waiters.append(asyncio.ensure_future(session.capture.heard_speech.wait()))
                await asyncio.wait({barge, *waiters}, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
                if not barge.done():
                    barge.cancel()
                leg.barge_task = None
            speech_result, dtmf_result = await self._collect(leg, session, action, kinds)
        finally:
            if session.capture is not None and not session.capture.done.done():
                session.capture.done.cancel()
            leg.input_session = None
            leg.touch()
        payload: dict[str, Any] = {"speech": speech_result, "dtmf": dtmf_result}
        payload.update(leg.base_payload())
        payload.pop("direction", None)
        if hook is None:
            return None
        outcome = await leg.fetch_ncco(hook, payload, kind="input", request_type="event")
        return outcome.ncco

    async def _next(self, session: InputSession, seconds: float | None) -> tuple[str, str, float] | None:
        if not session.items:
            session.ready.clear()
            if not await self.network.clock.wait_for(session.ready, seconds):
                return None
        return session.items.popleft() if session.items else None

    async def _collect(
        self, leg: Leg, session: InputSession, action: dict[str, Any], kinds: list[str]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        dtmf_opts = action.get("dtmf") or {}
        speech_opts = action.get("speech") or {}
        time_out = float(dtmf_opts.get("timeOut", 3))
        max_digits = int(dtmf_opts.get("maxDigits", 4))
        submit_on_hash = bool(dtmf_opts.get("submitOnHash", False))
        start_timeout = float(speech_opts.get("startTimeout", 10))
        end_on_silence = float(speech_opts.get("endOnSilence", 2.0))
        max_duration = float(speech_opts.get("maxDuration", 60))
        no_speech: dict[str, Any] = {"results": []}
        no_dtmf: dict[str, Any] = {"digits": None, "timed_out": False}

        async def collect_digits(first: str | None) -> dict[str, Any]:
            digits = ""
            pending = first
            while True:
                if pending is not None:
                    digit, pending = pending, None
                else:
                    item = await self._next(session, time_out)
                    if item is None:
                        return {"digits": digits, "timed_out": True}
                    if item[0] != "dtmf":
                        continue
                    digit = item[1]
                if digit == "#" and submit_on_hash:
                    return {"digits": digits, "timed_out": False}
                digits += digit
                if len(digits) >= max_digits:
                    return {"digits": digits, "timed_out": False}

        if "speech" not in kinds:
            return no_speech, await collect_digits(None)
        if self.network.media.real_audio:
            return await self._listen(leg, session, speech_opts, kinds, collect_digits)
        while True:
            item = await self._next(session, start_timeout)
            if item is None:
                timed_out = {"digits": "", "timed_out": True} if "dtmf" in kinds else no_dtmf
                return {"timeout_reason": "start_timeout", "results": []}, timed_out
            if item[0] == "dtmf":
                if "dtmf" not in kinds:
                    continue
                return {"error": "Speech overridden by DTMF", "results": []}, await collect_digits(item[1])
            break
        text, seconds = item[1], item[2]
        if seconds > max_duration:
            await self.network.clock.sleep(max_duration)
            reason = "max_duration"
        else:
            await self.network.clock.sleep(seconds + end_on_silence)
            reason = "end_on_silence_timeout"
        results = self.network.media.recognise(
            leg,
            text,
            language=str(speech_opts.get("language") or "en-US"),
            context=list(speech_opts.get("context") or []),
        )
        speech: dict[str, Any] = {"timeout_reason": reason, "results": results}
        if speech_opts.get("saveAudio"):
            data, content_type = await self.network.media.recording_bytes(
                seconds=min(seconds, max_duration), channels=1, fmt="wav"
            )
            speech["recording_url"] = self.network.save_recording(new_uuid(), leg.app.id, data, content_type)
        return speech, no_dtmf

    async def _listen(
        self,
        leg: Leg,
        session: InputSession,
        speech_opts: dict[str, Any],
        kinds: list[str],
        collect_digits: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Speech input from the leg's real audio: VAD end-pointing, then ASR (a key press overrides speech)."""
        from voice_sandbox.audio_backend import AudioMediaBackend
        from voice_sandbox.media.vad import EndReason

        media = self.network.media
        assert isinstance(media, AudioMediaBackend)
        language = str(speech_opts.get("language") or "en-US")
        no_dtmf: dict[str, Any] = {"digits": None, "timed_out": False}
        capture = session.capture
        if capture is None:
            return {"error": f"ERR1: language {language} not supported", "results": []}, no_dtmf
        try:
            while True:
                if not session.items:
                    session.ready.clear()
                    waiter = asyncio.ensure_future(session.ready.wait())
                    await asyncio.wait({capture.done, waiter}, return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
                if capture.done.done():
                    break
                kind, value, _ = session.items.popleft() if session.items else ("", "", 0.0)
                if kind == "dtmf" and "dtmf" in kinds:
                    return {"error": "Speech overridden by DTMF", "results": []}, await collect_digits(value)
        finally:
            if not capture.done.done():
                capture.done.cancel()
        reason = capture.done.result()
        if reason == EndReason.START_TIMEOUT:
            timed_out = {"digits": "", "timed_out": True} if "dtmf" in kinds else no_dtmf
            return {"timeout_reason": "start_timeout", "results": []}, timed_out
        audio = capture.audio()
        results = await media.recognise_audio(
            audio, language=media.asr_language(language) or language, context=list(speech_opts.get("context") or [])
        )
        speech: dict[str, Any] = {
            "timeout_reason": "max_duration" if reason == EndReason.MAX_DURATION else "end_on_silence_timeout",
            "results": results,
        }
        if speech_opts.get("saveAudio"):
            data = await media.encode(audio, "wav")
            speech["recording_url"] = self.network.save_recording(new_uuid(), leg.app.id, data, "audio/wav")
        return speech, no_dtmf

    # -- record -----------------------------------------
    async def do_record(self, leg: Leg, action: dict[str, Any]) -> None:
        hook = _hook_from(action, leg.event_hook)
        recording = Recording(self.network, owner=leg, conversation=None, options=action, hook=hook)
        leg.recordings.append(recording)
        if action.get("beepStart"):
            self.network.media.beep(leg)
        time_out = float(action.get("timeOut", 7200))
        synchronous = "endOnSilence" in action or "endOnKey" in action
        if synchronous:
            await self._record_until(leg, recording, action, time_out)
        else:
            leg.spawn(self._record_until(leg, recording, action, time_out))

    async def _record_until(self, leg: Leg, recording: Recording, action: dict[str, Any], time_out: float) -> None:
        waiters: list[asyncio.Event] = [recording.done]
        key_event: asyncio.Event | None = None
        if "endOnKey" in action:
            key_event = asyncio.Event()
            leg.record_key_waiters.append((str(action["endOnKey"]), key_event))
            waiters.append(key_event)
        stop = asyncio.Event()

        async def relay(event: asyncio.Event) -> None:
            await event.wait()
            stop.set()

        relays = [asyncio.ensure_future(relay(event)) for event in waiters]
        limit = time_out
        if "endOnSilence" in action:
            # The media's voice activity detector (part 1: no audio, the leg is silent) ends it on silence.
            silence = asyncio.Event()

            async def on_silence() -> None:
                await self.network.media.until_silence(leg, float(action["endOnSilence"]))
                silence.set()

            relays.append(asyncio.ensure_future(on_silence()))
            relays.append(asyncio.ensure_future(relay(silence)))
        try:
            await self.network.clock.wait_for(stop, limit)
        finally:
            for task in relays:
                task.cancel()
            if key_event is not None:
                leg.record_key_waiters = [(k, e) for k, e in leg.record_key_waiters if e is not key_event]
            if recording in leg.recordings:
                leg.recordings.remove(recording)
            await recording.finish()

    # -- conversation -----------------------------------------
    async def do_conversation(self, leg: Leg, action: dict[str, Any]) -> None:
        conversation = self.network.named_conversation(leg.app.id, str(action["name"]))
        moh = action.get("musicOnHoldUrl")
        member = Member(
            leg,
            can_hear=list(action["canHear"]) if "canHear" in action else None,
            can_speak=list(action["canSpeak"]) if "canSpeak" in action else None,
            mute=bool(action.get("mute", False)),
            start_on_enter=bool(action.get("startOnEnter", True)),
            end_on_exit=bool(action.get("endOnExit", False)),
            music_on_hold=str(moh[0]) if isinstance(moh, list) and moh else None,
        )
        if action.get("record") and conversation.record_hook is None:
            # Recording starts when the conversation starts (with the first attendee, or the moderator).
            conversation.record_hook = _hook_from(action, leg.event_hook) or leg.app.hook("event_url")
        await leg.join(conversation, member)
        if conversation.record_hook is not None and conversation.started and conversation.recording is None:
            conversation.recording = Recording(
                self.network, owner=None, conversation=conversation, options={}, hook=conversation.record_hook
            )
        # Actions after a conversation are never reached: the action lasts as long as the leg.
        await asyncio.Event().wait()

    async def do_transfer(self, leg: Leg, action: dict[str, Any]) -> None:
        target = self.network.conversations.get(str(action["conversationId"]))
        if target is None or target.app_id != leg.app.id or target.ended:
            leg.emit_error(f"Conversation {action['conversationId']} not found.")
            return
        source = leg.conversation
        movers = [m.leg for m in source.members.values()] if source is not None else [leg]
        for mover in movers:
            if mover is leg:
                member = Member(
                    mover,
                    can_hear=list(action["canHear"]) if "canHear" in action else None,
                    can_speak=list(action["canSpeak"]) if "canSpeak" in action else None,
                    mute=bool(action.get("mute", False)),
                )
            else:
                member = Member(mover)
            await mover.join(target, member)
        await asyncio.Event().wait()

    # -- connect -----------------------------------------
    async def do_connect(self, leg: Leg, action: dict[str, Any]) -> list[dict[str, Any]] | None:
        network = self.network
        endpoint = dict(action["endpoint"][0])
        if not network.limiter.allow("cps", network.clock.monotonic()):
            leg.emit_error("Call rejected: calls per second limit exceeded.")
            return None
        if endpoint.get("type") == "phone":
            endpoint["number"] = str(endpoint["number"]).lstrip("+")
        if endpoint.get("type") == "app":
            caller = {"type": "phone", "number": endpoint_address(leg.to if leg.direction == "inbound" else leg.from_)}
        elif action.get("randomFromNumber"):
            number = network.random_number(leg.app.id, endpoint_address(endpoint))
            caller = {"type": "phone", "number": number or endpoint_address(leg.from_)}
        elif action.get("from"):
            caller = {"type": "phone", "number": str(action["from"]).lstrip("+")}
        else:
            caller = {"type": "phone", "number": endpoint_address(leg.from_ if leg.direction == "outbound" else leg.to)}
        event_hook = _hook_from(action, leg.event_hook)
        callee = network.new_leg(
            app=leg.app,
            direction="outbound",
            to=endpoint,
            from_=caller,
            event_hook=event_hook,
            fallback_hook=leg.fallback_hook,
            parent=leg,
            join=leg.conversation,
        )
        if "limit" in action:
            callee.length_timer = float(action["limit"])
        if "advancedMachineDetection" in action:
            callee.machine_detection = dict(action["advancedMachineDetection"])
        elif "machineDetection" in action:
            callee.machine_detection = {"behavior": action["machineDetection"]}
        synchronous = action.get("eventType") == "synchronous"
        ringback_url = action.get("ringbackTone")
        ringback = leg.spawn(network.media.ringback(leg, str(ringback_url))) if ringback_url else None
        try:
            outcome, extra = await network.ring(callee, float(action.get("timeout", 60)))
            if outcome == "cancelled":
                return None
            if outcome != "answered":
                callee.sip_code = extra.get("sip_code")
                callee.set_status(outcome)
                replacement = None
                if synchronous:
                    replacement = await callee.emit_sync(outcome, event_hook, **extra)
                else:
                    callee.emit(outcome, **extra)
                await callee.end(by="platform", status=outcome)
                return replacement
            await callee.mark_answered()
            if not callee.is_live:
                return None
            dtmf_answer = endpoint.get("dtmfAnswer")
            if dtmf_answer:
                await network.media.dtmf_into(callee, str(dtmf_answer))
            on_answer = endpoint.get("onAnswer")
            if isinstance(on_answer, dict) and on_answer.get("url"):
                hook = leg.app.timeouts("answer_url").with_url(str(on_answer["url"]), "GET")
                fetched = await callee.fetch_ncco(hook, callee.answer_payload(), kind="answer", request_type="answer")
                if fetched.ncco and callee.is_live:
                    # asyncio.wait, not await: a hang-up of the callee must not cancel the caller's NCCO.
                    await asyncio.wait({callee.run_ncco(fetched.ncco, hangup_when_done=False)})
                    callee.executor = None
            if not callee.is_live or not leg.is_live:
                return None
        except asyncio.CancelledError:
            # The caller went away (hang-up, transfer) while the callee rang: the callee is cancelled too.
            if callee.is_live:
                network.spawn(callee.end(by="platform"))
            raise
        finally:
            if ringback is not None:
                ringback.cancel()
        conversation = leg.conversation
        if conversation is None:
            return None
        member = Member(callee, bridged=True)
        await callee.join(conversation, member)
        await member.left.wait()
        return None

    # -- notify / wait -----------------------------------------
    async def do_notify(self, leg: Leg, action: dict[str, Any]) -> list[dict[str, Any]] | None:
        hook = _hook_from(action, leg.event_hook)
        if hook is None:
            return None
        payload = {"payload": action["payload"], "conversation_uuid": leg.conversation_uuid, "timestamp": iso_now()}
        outcome = await leg.fetch_ncco(hook, payload, kind="notify", request_type="event")
        return outcome.ncco

    async def do_wait(self, leg: Leg, action: dict[str, Any]) -> None:
        seconds = float(action.get("timeout", 10))
        await self.network.clock.sleep(min(7200.0, max(0.1, seconds)))


def ncco_problems(ncco: Any) -> Invalid:
    return validate_ncco(ncco)
