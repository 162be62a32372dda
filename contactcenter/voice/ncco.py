"""Typed NCCO builders (voice-api.md section 5) and a validator backed by the official models.

Builders take snake_case Python arguments and emit Vonage's camelCase JSON; they check the
documented ranges as they are constructed, so a bad option fails where it is written rather
than as an error event in the middle of a live call. ``build(*actions)`` turns actions into the
JSON list and ``validate(ncco)`` re-checks any NCCO (also hand-written ones) by parsing every
action with ``vonage_voice.models``, plus the rules those models do not cover (unknown keys,
URL arrays, ``bargeIn`` chaining, unreachable actions).

Quirks handled on purpose, each because the docs and the official SDK disagree:

- ``connect.ringbackTone`` is a URL *string* in the API reference and the NCCO schema, while
  ``vonage_voice`` types it as a list; we emit the string and hand the model a one-element list.
- ``vonage_voice`` requires ``from`` or ``randomFromNumber`` on every connect; the API only needs
  it for caller id (and it must be omitted for ``app`` endpoints), so its absence is validated
  as ``randomFromNumber: false`` (the API default).
- The SDK's ``SipEndpoint`` knows only ``uri``; a trunk reached by ``domain`` (+ ``user``) is
  validated as the equivalent ``sip:user@domain`` URI.
- The SDK models read ``from_``/``contentType`` while the wire uses ``from``/``content-type``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar, Literal

from contactcenter.voice.errors import NccoError

__all__ = [
    "Action",
    "AdvancedMachineDetection",
    "AppEndpoint",
    "Connect",
    "Conversation",
    "DtmfSettings",
    "Input",
    "NccoError",
    "Notify",
    "OnAnswer",
    "PhoneEndpoint",
    "Record",
    "SipEndpoint",
    "SpeechSettings",
    "Stream",
    "Talk",
    "Transcription",
    "Transfer",
    "VbcEndpoint",
    "Wait",
    "WebSocketAuthorization",
    "WebSocketEndpoint",
    "build",
    "validate",
]

HttpMethod = Literal["GET", "POST"]
ContentType = Literal["audio/l16;rate=8000", "audio/l16;rate=16000", "audio/l16;rate=24000"]
CONTENT_TYPES: tuple[str, ...] = ("audio/l16;rate=8000", "audio/l16;rate=16000", "audio/l16;rate=24000")

_HTTP_URL = re.compile(r"^https?://[^\s/]+\S*$")
_WS_URL = re.compile(r"^wss?://[^\s/]+\S*$")
_SIP_URI = re.compile(r"^(sip|sips):\+?([\w|:.\-@;,=%&]+)")  # the official SipUri pattern
_PHONE = re.compile(r"^[1-9]\d{6,14}$")  # E.164 digits, no "+", no leading 0 (official PhoneNumber)
_DTMF_ANSWER = re.compile(r"^[0-9#*p]+$")
_END_ON_KEY = re.compile(r"^[0-9#*]$")
TALK_MAX_CHARS = 1500
WEBSOCKET_HEADERS_MAX_BYTES = 512


# --- small checks --------------------------------------------------------------------------------


def _check_url(name: str, value: str, pattern: re.Pattern[str] = _HTTP_URL) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        scheme = "ws:// or wss://" if pattern is _WS_URL else "http:// or https://"
        raise NccoError(f"{name} must be an absolute {scheme} URL, got {value!r}")
    return value


def _url_array(name: str, value: str | None) -> list[str] | None:
    # Vonage answers 400 "Invalid type parameter provided" to a bare string (pitfall 1).
    return None if value is None else [_check_url(name, value)]


def _check_range(name: str, value: float | None, low: float, high: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise NccoError(f"{name} must be a number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise NccoError(f"{name} must be {bound}, got {value!r}")


def _check_int(name: str, value: int | None, low: int, high: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise NccoError(f"{name} must be an integer, got {value!r}")
    _check_range(name, value, low, high)


def _check_choice(name: str, value: str | None, choices: Sequence[str]) -> None:
    if value is not None and value not in choices:
        raise NccoError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_text(name: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise NccoError(f"{name} must be a non-empty string, got {value!r}")


def _check_str_list(name: str, value: Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(item, str) and item for item in value):
        raise NccoError(f"{name} must be a list of non-empty strings, got {value!r}")
    return list(value)


def _check_mapping(name: str, value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise NccoError(f"{name} must be an object, got {value!r}")
    return dict(value)


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


# --- shared option objects ------------------------------------------------------------------------


@dataclass(frozen=True)
class Transcription:
    """Transcription of a recording (record action, or a recorded conversation)."""

    _: KW_ONLY
    language: str | None = None
    event_url: str | None = None
    event_method: HttpMethod | None = None
    sentiment_analysis: bool | None = None

    def __post_init__(self) -> None:
        _url_array("transcription.event_url", self.event_url)
        _check_choice("transcription.event_method", self.event_method, ("GET", "POST"))

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "language": self.language,
                "eventUrl": _url_array("transcription.event_url", self.event_url),
                "eventMethod": self.event_method,
                "sentimentAnalysis": self.sentiment_analysis,
            }
        )


@dataclass(frozen=True)
class AdvancedMachineDetection:
    """Voicemail detection for connect (and create_call); chargeable. Keys stay snake_case on the wire."""

    _: KW_ONLY
    behavior: Literal["continue", "hangup"] | None = None
    mode: Literal["default", "detect", "detect_beep"] | None = None
    beep_timeout: int | None = None

    def __post_init__(self) -> None:
        _check_choice("advanced_machine_detection.behavior", self.behavior, ("continue", "hangup"))
        _check_choice("advanced_machine_detection.mode", self.mode, ("default", "detect", "detect_beep"))
        # The spec says 30-120 but both official SDKs refuse below 45; the stricter bound always works.
        _check_int("advanced_machine_detection.beep_timeout", self.beep_timeout, 45, 120)

    def to_dict(self) -> dict[str, Any]:
        return _compact({"behavior": self.behavior, "mode": self.mode, "beep_timeout": self.beep_timeout})


# --- connect endpoints ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnAnswer:
    """An NCCO (served at ``url``) run on the callee before joining, e.g. a whisper to the agent."""

    url: str
    _: KW_ONLY
    ringback_tone: str | None = None

    def __post_init__(self) -> None:
        _check_url("on_answer.url", self.url)
        if self.ringback_tone is not None:
            _check_url("on_answer.ringback_tone", self.ringback_tone)

    def to_dict(self) -> dict[str, Any]:
        return _compact({"url": self.url, "ringbackTone": self.ringback_tone})


class Endpoint:
    """Base of the connect endpoints; ``to_dict`` is the NCCO form, ``to_rest_dict`` the create-call ``to`` form."""

    type: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_rest_dict(self) -> dict[str, Any]:
        return self.to_dict()


@dataclass(frozen=True)
class PhoneEndpoint(Endpoint):
    """A PSTN number: E.164 digits without ``+`` (``447700900000``)."""

    type: ClassVar[str] = "phone"
    number: str
    _: KW_ONLY
    dtmf_answer: str | None = None
    on_answer: OnAnswer | None = None
    shaken: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.number, str) or not _PHONE.match(self.number):
            raise NccoError(f"phone number must be 7-15 digits, no '+' and no leading 0, got {self.number!r}")
        if self.dtmf_answer is not None and not _DTMF_ANSWER.match(self.dtmf_answer):
            raise NccoError(f"dtmf_answer may hold only 0-9, *, # and p, got {self.dtmf_answer!r}")

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "type": self.type,
                "number": self.number,
                "dtmfAnswer": self.dtmf_answer,
                "onAnswer": self.on_answer.to_dict() if self.on_answer else None,
                "shaken": self.shaken,
            }
        )

    def to_rest_dict(self) -> dict[str, Any]:
        if self.on_answer is not None:
            raise NccoError("on_answer exists only in NCCO connect, not in a create-call 'to'")
        return self.to_dict()


@dataclass(frozen=True)
class AppEndpoint(Endpoint):
    """A Client SDK user of this application."""

    type: ClassVar[str] = "app"
    user: str

    def __post_init__(self) -> None:
        _check_text("app user", self.user)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "user": self.user}


@dataclass(frozen=True)
class WebSocketAuthorization:
    """``vonage``: Vonage sends its signed JWT in the handshake; ``custom``: it sends ``value`` verbatim."""

    type: Literal["vonage", "custom"]
    _: KW_ONLY
    value: str | None = None

    def __post_init__(self) -> None:
        _check_choice("authorization.type", self.type, ("vonage", "custom"))
        if self.type == "custom" and not self.value:
            raise NccoError("authorization.value is required when authorization.type is 'custom'")
        if self.type == "vonage" and self.value is not None:
            raise NccoError("authorization.value is only for type 'custom'; Vonage makes its own token")

    def to_dict(self) -> dict[str, Any]:
        return _compact({"type": self.type, "value": self.value})


@dataclass(frozen=True)
class WebSocketEndpoint(Endpoint):
    """A media WebSocket (``ws://``/``wss://``) receiving L16 audio at the given rate."""

    type: ClassVar[str] = "websocket"
    uri: str
    _: KW_ONLY
    content_type: ContentType = "audio/l16;rate=16000"
    headers: Mapping[str, Any] | None = None
    authorization: WebSocketAuthorization | None = None

    def __post_init__(self) -> None:
        _check_url("websocket uri", self.uri, _WS_URL)
        _check_choice("websocket content_type", self.content_type, CONTENT_TYPES)
        headers = _check_mapping("websocket headers", self.headers)
        if headers is not None and len(json.dumps(headers).encode()) > WEBSOCKET_HEADERS_MAX_BYTES:
            raise NccoError(f"websocket headers must be at most {WEBSOCKET_HEADERS_MAX_BYTES} bytes of JSON")

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "type": self.type,
                "uri": self.uri,
                "content-type": self.content_type,
                "headers": _check_mapping("websocket headers", self.headers),
                "authorization": self.authorization.to_dict() if self.authorization else None,
            }
        )


@dataclass(frozen=True)
class SipEndpoint(Endpoint):
    """A SIP destination: a full ``uri``, or a dashboard trunk by ``domain`` (+ ``user``).

    ``headers`` go out as ``X-<key>: value``; ``standard_headers`` (e.g. ``User-to-User``) verbatim.
    """

    type: ClassVar[str] = "sip"
    uri: str | None = None
    _: KW_ONLY
    domain: str | None = None
    user: str | None = None
    headers: Mapping[str, Any] | None = None
    standard_headers: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if (self.uri is None) == (self.domain is None):
            raise NccoError("a sip endpoint needs exactly one of uri or domain")
        if self.uri is not None and (not isinstance(self.uri, str) or not _SIP_URI.match(self.uri)):
            raise NccoError(f"sip uri must start with sip: or sips:, got {self.uri!r}")
        if self.domain is not None:
            _check_text("sip domain", self.domain)
        if self.user is not None and self.domain is None:
            raise NccoError("sip user goes with domain; put it in the uri instead")
        _check_mapping("sip headers", self.headers)
        _check_mapping("sip standard_headers", self.standard_headers)

    def _base(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "uri": self.uri,
            "domain": self.domain,
            "user": self.user,
            "headers": _check_mapping("sip headers", self.headers),
        }

    def to_dict(self) -> dict[str, Any]:
        return _compact({**self._base(), "standardHeaders": _check_mapping("", self.standard_headers)})

    def to_rest_dict(self) -> dict[str, Any]:
        # The REST create-call body spells it snake_case, NCCO camelCase (pitfall 22).
        return _compact({**self._base(), "standard_headers": _check_mapping("", self.standard_headers)})


@dataclass(frozen=True)
class VbcEndpoint(Endpoint):
    """A Vonage Business Communications extension."""

    type: ClassVar[str] = "vbc"
    extension: str

    def __post_init__(self) -> None:
        _check_text("vbc extension", self.extension)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "extension": self.extension}


# --- actions ------------------------------------------------------------------------------------------


class Action:
    """Base of the NCCO actions; ``to_dict`` gives the JSON object Vonage expects."""

    action: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class Record(Action):
    """Record the call. Asynchronous unless ``end_on_silence`` or ``end_on_key`` is set.

    ``channels`` (1-32) needs ``split="conversation"``, which is set for you as the SDKs do.
    """

    action: ClassVar[str] = "record"
    _: KW_ONLY
    format: Literal["mp3", "wav", "ogg"] | None = None
    split: Literal["conversation"] | None = None
    channels: int | None = None
    end_on_silence: int | None = None
    end_on_key: str | None = None
    time_out: int | None = None
    beep_start: bool | None = None
    event_url: str | None = None
    event_method: HttpMethod | None = None
    transcription: Transcription | None = None

    def __post_init__(self) -> None:
        _check_choice("record format", self.format, ("mp3", "wav", "ogg"))
        _check_choice("record split", self.split, ("conversation",))
        _check_int("record channels", self.channels, 1, 32)
        if self.channels is not None and self.split is None:
            object.__setattr__(self, "split", "conversation")
        _check_int("record end_on_silence", self.end_on_silence, 3, 10)
        if self.end_on_key is not None and not _END_ON_KEY.match(self.end_on_key):
            raise NccoError(f"record end_on_key must be one of 0-9, * or #, got {self.end_on_key!r}")
        _check_int("record time_out", self.time_out, 3, 7200)
        _url_array("record event_url", self.event_url)
        _check_choice("record event_method", self.event_method, ("GET", "POST"))

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "action": self.action,
                "format": self.format,
                "split": self.split,
                "channels": self.channels,
                "endOnSilence": self.end_on_silence,
                "endOnKey": self.end_on_key,
                "timeOut": self.time_out,
                "beepStart": self.beep_start,
                "eventUrl": _url_array("record event_url", self.event_url),
                "eventMethod": self.event_method,
                "transcription": self.transcription.to_dict() if self.transcription else None,
            }
        )


@dataclass(frozen=True)
class Conversation(Action):
    """Join the named conversation (a conference room scoped to the application). Terminal for the NCCO."""

    action: ClassVar[str] = "conversation"
    name: str
    _: KW_ONLY
    music_on_hold_url: str | None = None
    start_on_enter: bool | None = None
    end_on_exit: bool | None = None
    record: bool | None = None
    can_speak: Sequence[str] | None = None
    can_hear: Sequence[str] | None = None
    mute: bool | None = None
    event_url: str | None = None
    event_method: HttpMethod | None = None
    transcription: Transcription | None = None

    def __post_init__(self) -> None:
        _check_text("conversation name", self.name)
        _url_array("conversation music_on_hold_url", self.music_on_hold_url)
        _check_str_list("conversation can_speak", self.can_speak)
        _check_str_list("conversation can_hear", self.can_hear)
        if self.mute and self.can_speak is not None:
            raise NccoError("conversation mute cannot be combined with can_speak")
        _url_array("conversation event_url", self.event_url)
        _check_choice("conversation event_method", self.event_method, ("GET", "POST"))
        if self.transcription is not None and not self.record:
            raise NccoError("conversation transcription needs record=True")

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "action": self.action,
                "name": self.name,
                "musicOnHoldUrl": _url_array("conversation music_on_hold_url", self.music_on_hold_url),
                "startOnEnter": self.start_on_enter,
                "endOnExit": self.end_on_exit,
                "record": self.record,
                "canSpeak": _check_str_list("", self.can_speak),
                "canHear": _check_str_list("", self.can_hear),
                "mute": self.mute,
                "eventUrl": _url_array("conversation event_url", self.event_url),
                "eventMethod": self.event_method,
                "transcription": self.transcription.to_dict() if self.transcription else None,
            }
        )


@dataclass(frozen=True)
class Connect(Action):
    """Ring one endpoint and bridge it into the caller's conversation.

    ``from_number`` (a Vonage number, E.164 digits) and ``random_from_number`` are exclusive and both
    must be absent for ``app`` endpoints. ``event_type="synchronous"`` lets ``event_url`` answer
    ``timeout``/``busy``/``failed``/``rejected``/``unanswered`` with a new NCCO.
    """

    action: ClassVar[str] = "connect"
    endpoint: Endpoint
    _: KW_ONLY
    from_number: str | None = None
    random_from_number: bool | None = None
    event_type: Literal["synchronous"] | None = None
    timeout: int | None = None
    limit: int | None = None
    machine_detection: Literal["continue", "hangup"] | None = None
    advanced_machine_detection: AdvancedMachineDetection | None = None
    event_url: str | None = None
    event_method: HttpMethod | None = None
    ringback_tone: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.endpoint, Endpoint):
            raise NccoError(f"connect endpoint must be one endpoint object, got {self.endpoint!r}")
        if self.from_number is not None and self.random_from_number:
            raise NccoError("connect from_number and random_from_number cannot be used together")
        if isinstance(self.endpoint, AppEndpoint) and (self.from_number is not None or self.random_from_number):
            raise NccoError("connect to an app endpoint takes neither from_number nor random_from_number")
        if self.from_number is not None and not _PHONE.match(self.from_number):
            raise NccoError(f"connect from_number must be 7-15 digits without '+', got {self.from_number!r}")
        _check_choice("connect event_type", self.event_type, ("synchronous",))
        _check_int("connect timeout", self.timeout, 3, 7200)
        _check_int("connect limit", self.limit, 1, 7200)
        _check_choice("connect machine_detection", self.machine_detection, ("continue", "hangup"))
        _url_array("connect event_url", self.event_url)
        _check_choice("connect event_method", self.event_method, ("GET", "POST"))
        if self.ringback_tone is not None:
            _check_url("connect ringback_tone", self.ringback_tone)

    def to_dict(self) -> dict[str, Any]:
        amd = self.advanced_machine_detection
        return _compact(
            {
                "action": self.action,
                "endpoint": [self.endpoint.to_dict()],
                "from": self.from_number,
                "randomFromNumber": self.random_from_number,
                "eventType": self.event_type,
                "timeout": self.timeout,
                "limit": self.limit,
                "machineDetection": self.machine_detection,
                "advancedMachineDetection": amd.to_dict() if amd else None,
                "eventUrl": _url_array("connect event_url", self.event_url),
                "eventMethod": self.event_method,
                "ringbackTone": self.ringback_tone,  # a plain string, unlike the other URL fields
            }
        )


@dataclass(frozen=True)
class Talk(Action):
    """Speak ``text`` (at most 1500 characters, SSML inside ``<speak>``). ``loop=0`` repeats forever."""

    action: ClassVar[str] = "talk"
    text: str
    _: KW_ONLY
    barge_in: bool | None = None
    loop: int | None = None
    level: float | None = None
    language: str | None = None
    style: int | None = None
    premium: bool | None = None

    def __post_init__(self) -> None:
        _check_text("talk text", self.text)
        # The API counts characters outside SSML tags, the official model the whole string;
        # the stricter count is the one every layer accepts.
        if len(self.text) > TALK_MAX_CHARS:
            raise NccoError(f"talk text must be at most {TALK_MAX_CHARS} characters, got {len(self.text)}")
        _check_int("talk loop", self.loop, 0, None)
        _check_range("talk level", self.level, -1, 1)
        _check_int("talk style", self.style, 0, None)

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "action": self.action,
                "text": self.text,
                "bargeIn": self.barge_in,
                "loop": self.loop,
                "level": self.level,
                "language": self.language,
                "style": self.style,
                "premium": self.premium,
            }
        )


@dataclass(frozen=True)
class Stream(Action):
    """Play an MP3 or 16-bit WAV file. ``loop=0`` repeats forever."""

    action: ClassVar[str] = "stream"
    stream_url: str
    _: KW_ONLY
    level: float | None = None
    barge_in: bool | None = None
    loop: int | None = None

    def __post_init__(self) -> None:
        _check_url("stream stream_url", self.stream_url)
        _check_range("stream level", self.level, -1, 1)
        _check_int("stream loop", self.loop, 0, None)

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "action": self.action,
                "streamUrl": _url_array("stream stream_url", self.stream_url),
                "level": self.level,
                "bargeIn": self.barge_in,
                "loop": self.loop,
            }
        )


@dataclass(frozen=True)
class DtmfSettings:
    """Keypad input: submit after ``time_out`` s of quiet (0-10), ``max_digits`` (1-20) or ``#``."""

    _: KW_ONLY
    time_out: int | None = None
    max_digits: int | None = None
    submit_on_hash: bool | None = None

    def __post_init__(self) -> None:
        _check_int("dtmf time_out", self.time_out, 0, 10)
        _check_int("dtmf max_digits", self.max_digits, 1, 20)

    def to_dict(self) -> dict[str, Any]:
        return _compact({"timeOut": self.time_out, "maxDigits": self.max_digits, "submitOnHash": self.submit_on_hash})


@dataclass(frozen=True)
class SpeechSettings:
    """Speech recognition options; ``uuid`` picks the leg to listen to (default: the first leg)."""

    _: KW_ONLY
    uuid: str | None = None
    end_on_silence: float | None = None
    language: str | None = None
    context: Sequence[str] | None = None
    start_timeout: int | None = None
    max_duration: int | None = None
    save_audio: bool | None = None
    sensitivity: int | None = None

    def __post_init__(self) -> None:
        if self.uuid is not None:
            _check_text("speech uuid", self.uuid)
        _check_range("speech end_on_silence", self.end_on_silence, 0.4, 10.0)
        _check_str_list("speech context", self.context)
        _check_int("speech start_timeout", self.start_timeout, 1, 60)
        _check_int("speech max_duration", self.max_duration, 1, 60)
        # Documented as 10 (low) to 100 (max); the Python model's 0 floor is looser than the docs.
        _check_int("speech sensitivity", self.sensitivity, 10, 100)

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "uuid": [self.uuid] if self.uuid is not None else None,
                "endOnSilence": self.end_on_silence,
                "language": self.language,
                "context": _check_str_list("", self.context),
                "startTimeout": self.start_timeout,
                "maxDuration": self.max_duration,
                "saveAudio": self.save_audio,
                "sensitivity": self.sensitivity,
            }
        )


@dataclass(frozen=True)
class Input(Action):
    """Collect DTMF and/or speech; the result goes to ``event_url`` as an input webhook.

    ``type`` lists ``"dtmf"`` and/or ``"speech"``; settings objects are allowed only for listed
    types. ``mode="asynchronous"`` streams digits one by one (to the listener set up with
    ``VoiceClient.start_dtmf_listener``) and forbids DTMF settings.
    """

    action: ClassVar[str] = "input"
    type: Sequence[Literal["dtmf", "speech"]]
    _: KW_ONLY
    dtmf: DtmfSettings | None = None
    speech: SpeechSettings | None = None
    mode: Literal["synchronous", "asynchronous"] | None = None
    event_url: str | None = None
    event_method: HttpMethod | None = None

    def __post_init__(self) -> None:
        kinds = list(self.type) if not isinstance(self.type, str) else None
        if not kinds or len(set(kinds)) != len(kinds) or not set(kinds) <= {"dtmf", "speech"}:
            raise NccoError(f"input type must list 'dtmf' and/or 'speech' once each, got {self.type!r}")
        if self.dtmf is not None and "dtmf" not in kinds:
            raise NccoError("input dtmf settings need 'dtmf' in type")
        if self.speech is not None and "speech" not in kinds:
            raise NccoError("input speech settings need 'speech' in type")
        _check_choice("input mode", self.mode, ("synchronous", "asynchronous"))
        if self.mode == "asynchronous" and self.dtmf is not None:
            raise NccoError("input dtmf settings are not allowed with mode='asynchronous'")
        _url_array("input event_url", self.event_url)
        _check_choice("input event_method", self.event_method, ("GET", "POST"))

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "action": self.action,
                "type": list(self.type),
                "dtmf": self.dtmf.to_dict() if self.dtmf else None,
                "speech": self.speech.to_dict() if self.speech else None,
                "mode": self.mode,
                "eventUrl": _url_array("input event_url", self.event_url),
                "eventMethod": self.event_method,
            }
        )


@dataclass(frozen=True)
class Notify(Action):
    """Send ``payload`` to ``event_url``; an NCCO in the response replaces the rest of this one."""

    action: ClassVar[str] = "notify"
    payload: Mapping[str, Any]
    event_url: str
    _: KW_ONLY
    event_method: HttpMethod | None = None

    def __post_init__(self) -> None:
        _check_mapping("notify payload", self.payload)
        _check_url("notify event_url", self.event_url)
        _check_choice("notify event_method", self.event_method, ("GET", "POST"))

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "action": self.action,
                "payload": dict(self.payload),
                "eventUrl": _url_array("notify event_url", self.event_url),
                "eventMethod": self.event_method,
            }
        )


@dataclass(frozen=True)
class Wait(Action):
    """Pause for ``timeout`` seconds (0.1-7200; Vonage's default is 10)."""

    action: ClassVar[str] = "wait"
    timeout: float | None = None

    def __post_init__(self) -> None:
        # Vonage clamps out-of-range values silently; refusing them here catches unit mistakes (ms vs s).
        _check_range("wait timeout", self.timeout, 0.1, 7200)

    def to_dict(self) -> dict[str, Any]:
        return _compact({"action": self.action, "timeout": self.timeout})


@dataclass(frozen=True)
class Transfer(Action):
    """Move every leg of this conversation into ``conversation_id``; terminal for this NCCO."""

    action: ClassVar[str] = "transfer"
    conversation_id: str
    _: KW_ONLY
    can_hear: Sequence[str] | None = None
    can_speak: Sequence[str] | None = None
    mute: bool | None = None

    def __post_init__(self) -> None:
        _check_text("transfer conversation_id", self.conversation_id)
        _check_str_list("transfer can_hear", self.can_hear)
        _check_str_list("transfer can_speak", self.can_speak)
        if self.mute and self.can_speak is not None:
            raise NccoError("transfer mute cannot be combined with can_speak")

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "action": self.action,
                "conversationId": self.conversation_id,
                "canHear": _check_str_list("", self.can_hear),
                "canSpeak": _check_str_list("", self.can_speak),
                "mute": self.mute,
            }
        )


# --- validation ------------------------------------------------------------------------------------------

# Every key each action (and endpoint) may carry; anything else is a typo Vonage would not honour.
_ACTION_KEYS: dict[str, frozenset[str]] = {
    "record": frozenset(
        {"format", "split", "channels", "endOnSilence", "endOnKey", "timeOut", "beepStart", "eventUrl", "eventMethod"}
        | {"transcription"}
    ),
    "conversation": frozenset(
        {"name", "musicOnHoldUrl", "startOnEnter", "endOnExit", "record", "canSpeak", "canHear", "mute"}
        | {"eventUrl", "eventMethod", "transcription"}
    ),
    "connect": frozenset(
        {"endpoint", "from", "randomFromNumber", "eventType", "timeout", "limit", "machineDetection"}
        | {"advancedMachineDetection", "eventUrl", "eventMethod", "ringbackTone"}
    ),
    "talk": frozenset({"text", "bargeIn", "loop", "level", "language", "style", "premium"}),
    "stream": frozenset({"streamUrl", "level", "bargeIn", "loop"}),
    "input": frozenset({"type", "dtmf", "speech", "mode", "eventUrl", "eventMethod"}),
    "notify": frozenset({"payload", "eventUrl", "eventMethod"}),
    "wait": frozenset({"timeout"}),
    "transfer": frozenset({"conversationId", "canHear", "canSpeak", "mute"}),
}
_ENDPOINT_KEYS: dict[str, frozenset[str]] = {
    "phone": frozenset({"number", "dtmfAnswer", "onAnswer", "shaken"}),
    "app": frozenset({"user"}),
    "websocket": frozenset({"uri", "content-type", "headers", "authorization"}),
    "sip": frozenset({"uri", "domain", "user", "headers", "standardHeaders"}),
    "vbc": frozenset({"extension"}),
}
_URL_ARRAY_KEYS = ("eventUrl", "streamUrl", "musicOnHoldUrl")
_TERMINAL = frozenset({"conversation", "transfer"})


def _official_models() -> dict[str, Any]:
    # Imported on first use: pydantic models are not needed to import this package.
    from vonage_voice.models import ncco as official

    return {
        "record": official.Record,
        "conversation": official.Conversation,
        "connect": official.Connect,
        "talk": official.Talk,
        "stream": official.Stream,
        "input": official.Input,
        "notify": official.Notify,
        "wait": official.Wait,
        "transfer": official.Transfer,
    }


def _for_official_model(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The wire JSON reshaped to what ``vonage_voice.models`` reads (see the module docstring)."""
    shaped = dict(data)
    shaped.pop("action", None)
    if kind != "connect":
        return shaped
    if "from" in shaped:
        shaped["from_"] = shaped.pop("from")
    if "from_" not in shaped and "randomFromNumber" not in shaped:
        shaped["randomFromNumber"] = False
    if isinstance(shaped.get("ringbackTone"), str):
        shaped["ringbackTone"] = [shaped["ringbackTone"]]
    endpoints = []
    for endpoint in shaped.get("endpoint") or []:
        endpoint = dict(endpoint) if isinstance(endpoint, Mapping) else endpoint
        if isinstance(endpoint, dict):
            if "content-type" in endpoint:
                endpoint["contentType"] = endpoint.pop("content-type")
            if endpoint.get("type") == "sip" and "uri" not in endpoint and endpoint.get("domain"):
                user = endpoint.pop("user", None)
                endpoint["uri"] = f"sip:{user}@{endpoint.pop('domain')}" if user else f"sip:{endpoint.pop('domain')}"
        endpoints.append(endpoint)
    shaped["endpoint"] = endpoints
    return shaped


_WIRE_NAMES = {"from_": "from", "contentType": "content-type"}


def _official_endpoint_models() -> dict[str, Any]:
    from vonage_voice.models import connect_endpoints as official

    return {
        "phone": official.PhoneEndpoint,
        "app": official.AppEndpoint,
        "websocket": official.WebsocketEndpoint,
        "sip": official.SipEndpoint,
        "vbc": official.VbcEndpoint,
    }


def _pydantic_message(exc: Exception, prefix: str = "") -> str:
    """The model's complaints as ``field: message`` pairs, in wire names."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    for error in errors():
        where = prefix + ".".join(_WIRE_NAMES.get(str(part), str(part)) for part in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return "; ".join(parts)


def _check_structure(index: int, kind: str, data: dict[str, Any]) -> None:
    where = f"action {index} ({kind})"
    unknown = set(data) - {"action"} - _ACTION_KEYS[kind]
    if unknown:
        raise NccoError(f"{where}: unknown option(s) {', '.join(sorted(unknown))}")
    for key in _URL_ARRAY_KEYS:
        if key in data:
            value = data[key]
            if not (isinstance(value, list) and len(value) == 1 and isinstance(value[0], str)):
                raise NccoError(f"{where}: {key} must be an array holding exactly one URL, got {value!r}")
            _check_url(f"{where}: {key}", value[0])
    if "eventMethod" in data:
        _check_choice(f"{where}: eventMethod", data["eventMethod"], ("GET", "POST"))
    if kind == "connect":
        endpoints = data.get("endpoint")
        if not isinstance(endpoints, list) or len(endpoints) != 1 or not isinstance(endpoints[0], Mapping):
            raise NccoError(f"{where}: endpoint must be an array holding exactly one endpoint object")
        endpoint = endpoints[0]
        endpoint_keys = _ENDPOINT_KEYS.get(endpoint.get("type"))  # type: ignore[arg-type]
        if endpoint_keys is None:
            raise NccoError(f"{where}: endpoint type must be one of {', '.join(_ENDPOINT_KEYS)}")
        unknown = set(endpoint) - {"type"} - endpoint_keys
        if unknown:
            raise NccoError(f"{where}: unknown endpoint option(s) {', '.join(sorted(unknown))}")
        if "ringbackTone" in data and not isinstance(data["ringbackTone"], str):
            raise NccoError(f"{where}: ringbackTone must be a URL string")
    if kind == "input":
        _check_choice(f"{where}: mode", data.get("mode"), ("synchronous", "asynchronous"))
    if kind == "wait":
        _check_range(f"{where}: timeout", data.get("timeout"), 0.1, 7200)


def validate(ncco: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check an NCCO as JSON (a list of action objects) and return it as a list of plain dicts.

    Each action is parsed by its official ``vonage_voice.models`` class; on top of that: no unknown
    keys, URL fields as one-element arrays, ``bargeIn`` only when the next non-talk/stream action
    is ``input``, and nothing after a terminal ``conversation``/``transfer``. Raises ``NccoError``
    naming the action index and the option at fault.
    """
    if isinstance(ncco, str | bytes | Mapping) or not isinstance(ncco, Sequence) or not ncco:
        raise NccoError("an NCCO must be a non-empty JSON array of action objects")
    models = _official_models()
    result: list[dict[str, Any]] = []
    barge_in_from: int | None = None
    for index, raw in enumerate(ncco):
        if not isinstance(raw, Mapping):
            raise NccoError(f"action {index}: must be an object, got {raw!r}")
        data = dict(raw)
        kind = data.get("action")
        if kind not in models:
            raise NccoError(f"action {index}: 'action' must be one of {', '.join(models)}; got {kind!r}")
        if result and result[-1]["action"] in _TERMINAL:
            raise NccoError(f"action {index} ({kind}) is never reached: {result[-1]['action']} ends the NCCO")
        _check_structure(index, kind, data)
        shaped = _for_official_model(kind, data)
        if kind == "connect":
            # The SDK's endpoint union is not discriminated ({"type": "sip", "uri": "tel:1"} passes as a
            # websocket), so each endpoint is parsed by the model of its own type first.
            endpoint = shaped["endpoint"][0]
            try:
                _official_endpoint_models()[endpoint["type"]].model_validate(endpoint)
            except Exception as exc:
                raise NccoError(f"action {index} (connect): {_pydantic_message(exc, 'endpoint.0.')}") from None
        try:
            models[kind].model_validate(shaped)
        except Exception as exc:  # pydantic.ValidationError or vonage's NccoActionError
            raise NccoError(f"action {index} ({kind}): {_pydantic_message(exc)}") from None
        if kind in ("talk", "stream"):
            if data.get("bargeIn") and barge_in_from is None:
                barge_in_from = index
        elif barge_in_from is not None:
            if kind != "input":
                raise NccoError(f"action {barge_in_from}: bargeIn needs an input action next, found {kind}")
            barge_in_from = None
        result.append(data)
    if barge_in_from is not None:
        raise NccoError(f"action {barge_in_from}: bargeIn needs an input action after it")
    return result


def build(*actions: Action) -> list[dict[str, Any]]:
    """The NCCO JSON for ``actions``, validated by ``validate`` (official models included)."""
    for index, item in enumerate(actions):
        if not isinstance(item, Action):
            raise NccoError(f"action {index}: expected an NCCO action object, got {item!r}")
    return validate([item.to_dict() for item in actions])
