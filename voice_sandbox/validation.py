"""Validation of Voice API request bodies and NCCOs, with Vonage's names and reasons.

Each check appends ``(parameter name, reason)`` to a list; callers turn a non-empty list into a 400 (REST)
or an error event plus fallback (an NCCO fetched from a webhook). Unknown keys are ignored, as Vonage does;
wrong types, missing required fields and out-of-range values are errors. Where the reference lists a
CONFLICT the current value is used (length_timer up to 86400, beep_timeout 45-120, phone numbers 7-15 digits).
"""

from __future__ import annotations

import re
from typing import Any

Invalid = list[tuple[str, str]]

TYPE_REASON = "Invalid type parameter provided"
PHONE_RE = re.compile(r"^\+?\d{7,15}$")
DTMF_ANSWER_RE = re.compile(r"^[0-9#*p]*$")
DTMF_RE = re.compile(r"^[0-9#*p]+$")
URL_RE = re.compile(r"^https?://\S+$")
WS_RE = re.compile(r"^wss?://\S+$")
SIP_RE = re.compile(r"^sips?:\S+$")
WS_CONTENT_TYPES = {"audio/l16;rate=8000", "audio/l16;rate=16000", "audio/l16;rate=24000"}
METHODS = {"GET", "POST"}
CALL_STATUSES = {
    "started",
    "ringing",
    "answered",
    "machine",
    "completed",
    "busy",
    "cancelled",
    "failed",
    "rejected",
    "timeout",
    "unanswered",
}
ACTIONS = {"talk", "stream", "input", "record", "conversation", "connect", "notify", "wait", "transfer"}


def is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def as_number(value: Any) -> float | None:
    """Numbers, or numeric strings where the spec types a number as a string (``level: "0.4"``)."""
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


class Checker:
    """Collects problems for one object; every ``check_*`` is a no-op when the key is absent."""

    def __init__(self, data: dict[str, Any], prefix: str, errors: Invalid) -> None:
        self.data = data
        self.prefix = prefix
        self.errors = errors

    def name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def fail(self, key: str, reason: str) -> None:
        self.errors.append((self.name(key), reason))

    def required(self, *keys: str) -> None:
        for key in keys:
            if key not in self.data or self.data[key] is None:
                self.fail(key, "Missing required parameter")

    def boolean(self, key: str) -> None:
        if key in self.data and not is_bool(self.data[key]):
            self.fail(key, TYPE_REASON)

    def string(self, key: str, *, max_length: int | None = None, pattern: re.Pattern[str] | None = None) -> None:
        if key not in self.data:
            return
        value = self.data[key]
        if not isinstance(value, str):
            self.fail(key, TYPE_REASON)
        elif max_length is not None and len(value) > max_length:
            self.fail(key, f"Must be at most {max_length} characters")
        elif pattern is not None and not pattern.match(value):
            self.fail(key, "Invalid format")

    def enum(self, key: str, allowed: set[str]) -> None:
        if key in self.data and self.data[key] not in allowed:
            self.fail(key, "Must be one of: " + ", ".join(sorted(allowed)))

    def integer(self, key: str, low: float | None = None, high: float | None = None) -> None:
        if key not in self.data:
            return
        value = self.data[key]
        if not is_int(value):
            self.fail(key, TYPE_REASON)
        elif (low is not None and value < low) or (high is not None and value > high):
            self.fail(key, f"Must be between {low} and {high}")

    def number(self, key: str, low: float | None = None, high: float | None = None, *, strings: bool = False) -> None:
        if key not in self.data:
            return
        value = as_number(self.data[key]) if strings else (float(self.data[key]) if is_number(self.data[key]) else None)
        if value is None:
            self.fail(key, TYPE_REASON)
        elif (low is not None and value < low) or (high is not None and value > high):
            self.fail(key, f"Must be between {low} and {high}")

    def url_array(self, key: str, *, websocket: bool = False) -> None:
        """URL fields are arrays of exactly one URL string; a bare string is Vonage's classic 400."""
        if key not in self.data:
            return
        value = self.data[key]
        if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], str):
            self.fail(key, TYPE_REASON)
            return
        if not (WS_RE if websocket else URL_RE).match(value[0]):
            self.fail(key, "Invalid URL")

    def string_list(self, key: str) -> None:
        if key in self.data:
            value = self.data[key]
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                self.fail(key, TYPE_REASON)

    def obj(self, key: str) -> dict[str, Any] | None:
        if key not in self.data:
            return None
        value = self.data[key]
        if not isinstance(value, dict):
            self.fail(key, TYPE_REASON)
            return None
        return value


# --------------------------------------------------------------------------------------------------------
# Endpoints (REST "to" and NCCO connect "endpoint")
# --------------------------------------------------------------------------------------------------------


def check_endpoint(endpoint: Any, prefix: str, errors: Invalid, *, ncco: bool) -> None:
    if not isinstance(endpoint, dict):
        errors.append((prefix.rstrip("."), TYPE_REASON))
        return
    c = Checker(endpoint, prefix, errors)
    kind = endpoint.get("type")
    if kind not in {"phone", "sip", "websocket", "vbc", "app"}:
        c.fail("type", "Must be one of: app, phone, sip, vbc, websocket")
        return
    if kind == "phone":
        c.required("number")
        c.string("number", pattern=PHONE_RE)
        c.string("dtmfAnswer", pattern=DTMF_ANSWER_RE)
        c.string("shaken")
        on_answer = c.obj("onAnswer") if ncco else None
        if on_answer is not None:
            oc = Checker(on_answer, f"{prefix}onAnswer.", errors)
            oc.required("url")
            oc.string("url", pattern=URL_RE)
            oc.string("ringbackTone", pattern=URL_RE)
            oc.string("ringback", pattern=URL_RE)
    elif kind == "sip":
        if "uri" not in endpoint and not (ncco and "domain" in endpoint):
            c.fail("uri", "Missing required parameter")
        c.string("uri", pattern=SIP_RE)
        c.string("domain")
        c.string("user")
        c.obj("headers")
        c.obj("standardHeaders" if ncco else "standard_headers")
    elif kind == "websocket":
        c.required("uri", "content-type")
        c.string("uri", pattern=WS_RE)
        c.enum("content-type", WS_CONTENT_TYPES)
        headers = c.obj("headers")
        if headers is not None and len(str(headers).encode()) > 512:
            c.fail("headers", "Must be at most 512 bytes")
        auth = c.obj("authorization")
        if auth is not None:
            ac = Checker(auth, f"{prefix}authorization.", errors)
            ac.enum("type", {"vonage", "custom"})
            ac.string("value", max_length=8191)
            if auth.get("type") == "custom" and "value" not in auth:
                ac.fail("value", "Missing required parameter")
    elif kind == "vbc":
        c.required("extension")
        c.string("extension")
    elif kind == "app":
        c.required("user")
        c.string("user", max_length=200)


def check_amd(value: Any, prefix: str, errors: Invalid) -> None:
    if not isinstance(value, dict):
        errors.append((prefix.rstrip("."), TYPE_REASON))
        return
    c = Checker(value, prefix, errors)
    c.enum("behavior", {"continue", "hangup"})
    c.enum("mode", {"default", "detect", "detect_beep"})
    c.integer("beep_timeout", 45, 120)


# --------------------------------------------------------------------------------------------------------
# NCCO
# --------------------------------------------------------------------------------------------------------


def validate_ncco(ncco: Any, prefix: str = "ncco") -> Invalid:
    """Problems of an NCCO; an empty list means it can run."""
    errors: Invalid = []
    if not isinstance(ncco, list) or not ncco:
        return [(prefix, "NCCO must be a non-empty array of actions")]
    for index, action in enumerate(ncco):
        name = f"{prefix}[{index}]"
        if not isinstance(action, dict):
            errors.append((name, TYPE_REASON))
            continue
        kind = action.get("action")
        if kind not in ACTIONS:
            errors.append((f"{name}.action", "Unknown action"))
            continue
        CHECKS[kind](Checker(action, f"{name}.", errors))
    _check_barge_in(ncco, prefix, errors)
    return errors


def _check_barge_in(ncco: list[Any], prefix: str, errors: Invalid) -> None:
    """``bargeIn: true`` needs an ``input`` as the next action that is not talk/stream."""
    pending: int | None = None
    for index, action in enumerate(ncco):
        if not isinstance(action, dict):
            continue
        kind = action.get("action")
        if kind in ("talk", "stream"):
            if action.get("bargeIn") is True and pending is None:
                pending = index
        elif pending is not None:
            if kind != "input":
                errors.append((f"{prefix}[{pending}].bargeIn", "bargeIn requires a following input action"))
            pending = None
    if pending is not None:
        errors.append((f"{prefix}[{pending}].bargeIn", "bargeIn requires a following input action"))


def _talk(c: Checker) -> None:
    c.required("text")
    c.string("text")
    text = c.data.get("text")
    if isinstance(text, str) and len(re.sub(r"<[^>]+>", "", text)) > 1500:
        c.fail("text", "Must be at most 1500 characters")
    c.boolean("bargeIn")
    c.integer("loop", 0, 100)
    c.number("level", -1, 1, strings=True)
    c.string("language", max_length=20)
    c.integer("style", 0, 100)
    c.boolean("premium")
    c.string("voiceName")


def _stream(c: Checker) -> None:
    c.required("streamUrl")
    c.url_array("streamUrl")
    c.boolean("bargeIn")
    c.integer("loop", 0, 100)
    c.number("level", -1, 1, strings=True)


def _input(c: Checker) -> None:
    c.required("type")
    kinds = c.data.get("type")
    if "type" in c.data and (
        not isinstance(kinds, list)
        or not kinds
        or not all(k in ("dtmf", "speech") for k in kinds)
        or len(set(kinds)) != len(kinds)
    ):
        c.fail("type", "Must be an array of dtmf and/or speech")
    c.enum("mode", {"synchronous", "asynchronous"})
    dtmf = c.obj("dtmf")
    if dtmf is not None:
        dc = Checker(dtmf, f"{c.prefix}dtmf.", c.errors)
        dc.integer("timeOut", 0, 10)
        dc.integer("maxDigits", 1, 20)
        dc.boolean("submitOnHash")
        if c.data.get("mode") == "asynchronous" and dtmf:
            c.fail("dtmf", "DTMF settings are not allowed in asynchronous mode")
    speech = c.obj("speech")
    if speech is not None:
        sc = Checker(speech, f"{c.prefix}speech.", c.errors)
        sc.string_list("uuid")
        if isinstance(speech.get("uuid"), list) and len(speech["uuid"]) > 1:
            sc.fail("uuid", "Must hold one leg uuid")
        sc.number("endOnSilence", 0.4, 10)
        sc.string("language", max_length=20)
        sc.string_list("context")
        sc.integer("startTimeout", 1, 60)
        sc.integer("maxDuration", 1, 60)
        sc.boolean("saveAudio")
        sc.integer("sensitivity", 0, 100)
    c.url_array("eventUrl")
    c.enum("eventMethod", METHODS)


def _record(c: Checker) -> None:
    c.enum("format", {"mp3", "wav", "ogg"})
    c.enum("split", {"conversation"})
    c.integer("channels", 1, 32)
    c.integer("endOnSilence", 3, 10)
    c.string("endOnKey", pattern=re.compile(r"^[0-9#*]$"))
    c.integer("timeOut", 3, 7200)
    c.boolean("beepStart")
    c.url_array("eventUrl")
    c.enum("eventMethod", METHODS)
    transcription = c.obj("transcription")
    if transcription is not None:
        _transcription(Checker(transcription, f"{c.prefix}transcription.", c.errors))


def _transcription(c: Checker) -> None:
    c.string("language", max_length=20)
    c.url_array("eventUrl")
    c.enum("eventMethod", METHODS)
    c.boolean("sentimentAnalysis")


def _conversation(c: Checker) -> None:
    c.required("name")
    c.string("name", max_length=200)
    c.url_array("musicOnHoldUrl")
    c.boolean("startOnEnter")
    c.boolean("endOnExit")
    c.boolean("record")
    c.string_list("canSpeak")
    c.string_list("canHear")
    c.boolean("mute")
    if c.data.get("mute") is True and "canSpeak" in c.data:
        c.fail("mute", "mute cannot be used together with canSpeak")
    c.url_array("eventUrl")
    c.enum("eventMethod", METHODS)
    transcription = c.obj("transcription")
    if transcription is not None:
        if c.data.get("record") is not True:
            c.fail("transcription", "transcription requires record: true")
        _transcription(Checker(transcription, f"{c.prefix}transcription.", c.errors))


def _connect(c: Checker) -> None:
    c.required("endpoint")
    endpoint = c.data.get("endpoint")
    if "endpoint" in c.data:
        if not isinstance(endpoint, list) or len(endpoint) != 1:
            c.fail("endpoint", "Must be an array holding exactly one endpoint")
        else:
            check_endpoint(endpoint[0], f"{c.prefix}endpoint[0].", c.errors, ncco=True)
    c.string("from", pattern=PHONE_RE)
    c.boolean("randomFromNumber")
    if c.data.get("randomFromNumber") is True and "from" in c.data:
        c.fail("randomFromNumber", "from and randomFromNumber are mutually exclusive")
    c.enum("eventType", {"synchronous"})
    c.integer("timeout", 3, 7200)
    c.integer("limit", 1, 7200)
    c.enum("machineDetection", {"continue", "hangup"})
    if "advancedMachineDetection" in c.data:
        check_amd(c.data["advancedMachineDetection"], f"{c.prefix}advancedMachineDetection.", c.errors)
    c.url_array("eventUrl")
    c.enum("eventMethod", METHODS)
    c.string("ringbackTone", pattern=URL_RE)


def _notify(c: Checker) -> None:
    c.required("payload", "eventUrl")
    c.obj("payload")
    c.url_array("eventUrl")
    c.enum("eventMethod", METHODS)


def _wait(c: Checker) -> None:
    c.number("timeout")


def _transfer(c: Checker) -> None:
    c.required("conversationId")
    c.string("conversationId")
    c.string_list("canHear")
    c.string_list("canSpeak")
    c.boolean("mute")


CHECKS = {
    "talk": _talk,
    "stream": _stream,
    "input": _input,
    "record": _record,
    "conversation": _conversation,
    "connect": _connect,
    "notify": _notify,
    "wait": _wait,
    "transfer": _transfer,
}


# --------------------------------------------------------------------------------------------------------
# REST bodies
# --------------------------------------------------------------------------------------------------------


def validate_create_call(body: dict[str, Any], *, app_has_event_url: bool) -> Invalid:
    """Problems of a ``POST /v1/calls`` body."""
    errors: Invalid = []
    c = Checker(body, "", errors)
    c.required("to")
    to = body.get("to")
    if "to" in body:
        if not isinstance(to, list) or len(to) != 1:
            c.fail("to", "Must be an array holding exactly one endpoint")
        else:
            check_endpoint(to[0], "to[0].", errors, ncco=False)
    has_from = "from" in body and body["from"] is not None
    c.boolean("random_from_number")
    if has_from and body.get("random_from_number") is True:
        c.fail("random_from_number", "from and random_from_number are mutually exclusive")
    elif not has_from and body.get("random_from_number") is not True:
        c.fail("from", "Missing required parameter")
    if has_from:
        frm = body["from"]
        if not isinstance(frm, dict):
            c.fail("from", TYPE_REASON)
        else:
            fc = Checker(frm, "from.", errors)
            fc.enum("type", {"phone"})
            fc.required("number")
            fc.string("number")
            number = frm.get("number")
            if isinstance(number, str) and not (PHONE_RE.match(number) or SIP_RE.match(number)):
                fc.fail("number", "Invalid format")
    has_ncco = "ncco" in body
    has_answer = "answer_url" in body
    if has_ncco == has_answer:
        c.fail("ncco", "Exactly one of ncco and answer_url is required")
    if has_ncco:
        errors.extend(validate_ncco(body["ncco"], "ncco"))
    c.url_array("answer_url")
    c.enum("answer_method", METHODS)
    c.url_array("event_url")
    c.enum("event_method", METHODS)
    if "event_url" not in body and not app_has_event_url:
        c.fail("event_url", "Missing required parameter")
    c.enum("machine_detection", {"continue", "hangup"})
    if "advanced_machine_detection" in body:
        if "machine_detection" in body:
            c.fail("advanced_machine_detection", "machine_detection and advanced_machine_detection are exclusive")
        check_amd(body["advanced_machine_detection"], "advanced_machine_detection.", errors)
    c.integer("length_timer", 1, 86400)
    c.integer("ringing_timer", 1, 120)
    return errors


def validate_modify(body: dict[str, Any]) -> Invalid:
    errors: Invalid = []
    c = Checker(body, "", errors)
    c.required("action")
    c.enum("action", {"hangup", "mute", "unmute", "earmuff", "unearmuff", "transfer"})
    if body.get("action") == "transfer":
        c.required("destination")
        destination = c.obj("destination")
        if destination is not None:
            dc = Checker(destination, "destination.", errors)
            dc.required("type")
            dc.enum("type", {"ncco"})
            if ("ncco" in destination) == ("url" in destination):
                dc.fail("ncco", "Exactly one of ncco and url is required")
            if "ncco" in destination:
                errors.extend(validate_ncco(destination["ncco"], "destination.ncco"))
            dc.url_array("url")
    return errors


def validate_talk(body: dict[str, Any]) -> Invalid:
    errors: Invalid = []
    c = Checker(body, "", errors)
    c.required("text")
    c.string("text")
    text = body.get("text")
    if isinstance(text, str) and len(re.sub(r"<[^>]+>", "", text)) > 1500:
        c.fail("text", "Must be at most 1500 characters")
    c.string("language", max_length=20)
    c.integer("style", 0, 100)
    c.boolean("premium")
    c.integer("loop", 0, 100)
    c.number("level", -1, 1, strings=True)
    c.string("voice_name")
    return errors


def validate_stream(body: dict[str, Any]) -> Invalid:
    errors: Invalid = []
    c = Checker(body, "", errors)
    c.required("stream_url")
    c.url_array("stream_url")
    c.integer("loop", 0, 100)
    c.number("level", -1, 1, strings=True)
    return errors


def validate_dtmf(body: dict[str, Any]) -> Invalid:
    errors: Invalid = []
    c = Checker(body, "", errors)
    c.required("digits")
    c.string("digits", max_length=1000, pattern=DTMF_RE)
    return errors
