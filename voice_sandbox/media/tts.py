"""Offline text-to-speech with espeak-ng, bundled by the ``espeakng-loader`` wheel.

The wheel ships ``libespeak-ng.so`` (1.52) and its ``espeak-ng-data`` (dictionaries, language files, voice
variants), so synthesis needs nothing but Python packages and never touches the network. The library is
driven in-process through ctypes in synchronous mode; it keeps global state, so every call holds one
process-wide lock (a synthesis of a typical prompt takes a few milliseconds).

Repeatability: in a fresh process the same sequence of calls gives identical audio (the noise sources are
seeded per call), but espeak-ng carries a little state from one utterance to the next (pitch flutter), so
the same text synthesized later in a process may differ by a few samples (< 1 ms in length). The cache makes
repeated prompts identical within a process.

Vonage ``talk`` semantics implemented here: the 46 language codes of the current list (plus the 21 extra
codes of the newest SDK) mapped to real espeak-ng voices; ``style`` selects a female or male variant;
``level`` (-1..1); an SSML subset; output is 16 kHz int16 whose length *is* the talk's duration.
"""

from __future__ import annotations

import ctypes
import re
import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .frames import SAMPLE_RATE, Int16Array, apply_gain, apply_level, ms_to_samples, resample

#: The longest ``text`` Vonage accepts, counted without SSML markup.
MAX_TEXT_CHARS = 1500
#: espeak-ng's default speaking rate in words per minute; SSML ``rate`` scales it.
DEFAULT_WPM = 175
MIN_WPM, MAX_WPM = 80, 450
#: Seed of espeak-ng's noise sources, reset before each synthesis.
RANDOM_SEED = 1
#: Longest SSML ``<break>`` accepted, as in the TTS engines Vonage fronts.
MAX_BREAK_MS = 10_000

# (espeak-ng voice, approximate?) per Vonage code. "approximate" marks codes espeak-ng has no voice of its
# own for, served by the nearest real voice of the same language (or, for Filipino, a related one).
LANGUAGES: dict[str, tuple[str, bool]] = {
    "ar": ("ar", False),
    "ca-ES": ("ca", False),
    "cmn-CN": ("cmn", False),
    "cmn-TW": ("cmn", True),
    "cs-CZ": ("cs", False),
    "cy-GB": ("cy", False),
    "da-DK": ("da", False),
    "de-DE": ("de", False),
    "el-GR": ("el", False),
    "en-AU": ("en", True),
    "en-GB": ("en", False),
    "en-GB-WLS": ("en", True),
    "en-IN": ("en", True),
    "en-US": ("en-us", False),
    "en-ZA": ("en", True),
    "es-ES": ("es", False),
    "es-MX": ("es-419", False),
    "es-US": ("es-419", False),
    "eu-ES": ("eu", False),
    "fi-FI": ("fi", False),
    "fil-PH": ("id", True),
    "fr-CA": ("fr", True),
    "fr-FR": ("fr", False),
    "he-IL": ("he", False),
    "hi-IN": ("hi", False),
    "hu-HU": ("hu", False),
    "id-ID": ("id", False),
    "is-IS": ("is", False),
    "it-IT": ("it", False),
    "ja-JP": ("ja", False),
    "ko-KR": ("ko", False),
    "nb-NO": ("nb", False),
    "nl-NL": ("nl", False),
    "no-NO": ("nb", False),
    "pl-PL": ("pl", False),
    "pt-BR": ("pt-br", False),
    "pt-PT": ("pt", False),
    "ro-RO": ("ro", False),
    "ru-RU": ("ru", False),
    "sk-SK": ("sk", False),
    "sv-SE": ("sv", False),
    "th-TH": ("th", False),
    "tr-TR": ("tr", False),
    "uk-UA": ("uk", False),
    "vi-VN": ("vi", False),
    "yue-CN": ("yue", False),
    # The newest SDK's additions.
    "af-ZA": ("af", False),
    "bg-BG": ("bg", False),
    "bn-IN": ("bn", False),
    "de-AT": ("de", True),
    "en-GB-SCT": ("en-gb-scotland", False),
    "en-IE": ("en", True),
    "en-NZ": ("en", True),
    "es-CO": ("es-419", False),
    "gl-ES": ("pt", True),
    "gu-IN": ("gu", False),
    "kn-IN": ("kn", False),
    "lv-LV": ("lv", False),
    "lt-LT": ("lt", False),
    "ml-IN": ("ml", False),
    "mr-IN": ("mr", False),
    "ms-MY": ("ms", False),
    "nl-BE": ("nl", True),
    "pa-IN": ("pa", False),
    "sr-RS": ("sr", False),
    "ta-IN": ("ta", False),
    "te-IN": ("te", False),
}

#: The 46 codes of the current Vonage list (voice-api.md 5.5).
CURRENT_LANGUAGES: tuple[str, ...] = (
    "ar",
    "ca-ES",
    "cmn-CN",
    "cmn-TW",
    "cs-CZ",
    "cy-GB",
    "da-DK",
    "de-DE",
    "el-GR",
    "en-AU",
    "en-GB",
    "en-GB-WLS",
    "en-IN",
    "en-US",
    "en-ZA",
    "es-ES",
    "es-MX",
    "es-US",
    "eu-ES",
    "fi-FI",
    "fil-PH",
    "fr-CA",
    "fr-FR",
    "he-IL",
    "hi-IN",
    "hu-HU",
    "id-ID",
    "is-IS",
    "it-IT",
    "ja-JP",
    "ko-KR",
    "nb-NO",
    "nl-NL",
    "no-NO",
    "pl-PL",
    "pt-BR",
    "pt-PT",
    "ro-RO",
    "ru-RU",
    "sk-SK",
    "sv-SE",
    "th-TH",
    "tr-TR",
    "uk-UA",
    "vi-VN",
    "yue-CN",
)

#: ``style`` → espeak-ng variant; even styles are female, odd styles male, in every language.
STYLES: tuple[tuple[str, str], ...] = (("f3", "female"), ("m3", "male"), ("f2", "female"), ("m1", "male"))

_CANONICAL = {code.lower(): code for code in LANGUAGES}


class TtsError(ValueError):
    """A talk that cannot be spoken: unknown language or style, invalid or unsupported SSML, text too long.

    ``reason`` is one of ``language``, ``style``, ``ssml``, ``text``; ``str(error)`` is a message fit for the
    error event the engine sends.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Voice:
    """The espeak-ng voice serving a Vonage ``language`` + ``style``."""

    language: str
    style: int
    espeak_voice: str
    variant: str
    gender: str
    is_approximate: bool

    @property
    def espeak_name(self) -> str:
        """Name passed to ``espeak_SetVoiceByName`` (voice plus variant)."""
        return f"{self.espeak_voice}+{self.variant}"


def voice_for(language: str, style: int = 0) -> Voice:
    """Resolve a Vonage language code (case-insensitive) and style; raises :class:`TtsError` when unknown."""
    canonical = _CANONICAL.get(str(language).lower())
    if canonical is None:
        raise TtsError("language", f"Unsupported language: {language!r}")
    if not isinstance(style, int) or isinstance(style, bool) or not 0 <= style < len(STYLES):
        raise TtsError("style", f"Unsupported style {style!r} for language {canonical}: use 0-{len(STYLES) - 1}")
    espeak_voice, approximate = LANGUAGES[canonical]
    variant, gender = STYLES[style]
    return Voice(canonical, style, espeak_voice, variant, gender, approximate)


# ---------------------------------------------------------------------------------------------- SSML


@dataclass(frozen=True)
class TextRun:
    """Text spoken with one prosody."""

    text: str
    rate: float = 1.0
    gain: float = 1.0


@dataclass(frozen=True)
class Break:
    """Silence inserted by ``<break>``."""

    ms: int


Segment = TextRun | Break

_RATE_WORDS = {"x-slow": 0.6, "slow": 0.8, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.6}
_VOLUME_DB = {"silent": None, "x-soft": -12.0, "soft": -6.0, "medium": 0.0, "default": 0.0, "loud": 4.0, "x-loud": 6.0}
_BREAK_STRENGTH_MS = {"none": 0, "x-weak": 100, "weak": 250, "medium": 400, "strong": 700, "x-strong": 1000}
_TIME_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$")
_PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_DB_RE = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*dB\s*$")
_ALLOWED = {
    "speak": set(),
    "break": {"time", "strength"},
    "prosody": {"rate", "volume"},
    "say-as": {"interpret-as"},
    "p": set(),
    "s": set(),
}


def is_ssml(text: str) -> bool:
    """True when ``text`` is SSML, which Vonage requires to be wrapped in ``<speak>``."""
    return text.lstrip().startswith("<speak")


def parse_ssml(text: str) -> list[Segment]:
    """Parse the supported SSML subset into text runs and breaks.

    Supported: ``<speak>``, ``<break time="500ms|1.5s" strength="…">``, ``<prosody rate="x-slow…x-fast|N%"
    volume="silent…x-loud|±NdB">``, ``<say-as interpret-as="digits|characters">``, ``<p>``, ``<s>``.
    Anything else raises :class:`TtsError` (reason ``ssml``) naming the element or attribute.
    """
    try:
        root = ET.fromstring(text.strip())  # noqa: S314  (no DTDs/entities are expanded by ElementTree's parser)
    except ET.ParseError as exc:
        raise TtsError("ssml", f"Invalid SSML: {exc}") from exc
    if _local(root.tag) != "speak":
        raise TtsError("ssml", "Invalid SSML: the root element must be <speak>")
    segments: list[Segment] = []
    _walk(root, 1.0, 1.0, segments)
    return _merge(segments)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _walk(element: ET.Element, rate: float, gain: float, out: list[Segment]) -> None:
    name = _local(element.tag)
    if name not in _ALLOWED:
        raise TtsError("ssml", f"Unsupported SSML element <{name}>")
    unknown = {_local(key) for key in element.attrib} - _ALLOWED[name] - {"lang", "version", "space"}
    if unknown:
        raise TtsError("ssml", f"Unsupported attribute {sorted(unknown)[0]!r} on <{name}>")
    if name == "break":
        if len(element) or (element.text or "").strip():
            raise TtsError("ssml", "Invalid SSML: <break> must be empty")
        out.append(Break(_break_ms(element)))
    elif name == "say-as":
        if len(element):
            raise TtsError("ssml", "Invalid SSML: <say-as> may contain only text")
        out.append(TextRun(_say_as(element.get("interpret-as"), element.text or ""), rate, gain))
    else:
        if name == "prosody":
            rate = rate * _prosody_rate(element.get("rate"))
            gain = gain * _prosody_gain(element.get("volume"))
        if element.text:
            out.append(TextRun(element.text, rate, gain))
        for child in element:
            _walk(child, rate, gain, out)
            if child.tail:
                out.append(TextRun(child.tail, rate, gain))
        if name in ("p", "s"):
            out.append(TextRun(". ", rate, gain))


def _break_ms(element: ET.Element) -> int:
    time = element.get("time")
    if time is not None:
        match = _TIME_RE.match(time)
        if not match:
            raise TtsError("ssml", f"Invalid break time {time!r}: use e.g. '500ms' or '1.5s'")
        value = float(match.group(1)) * (1000 if match.group(2) == "s" else 1)
        if value > MAX_BREAK_MS:
            raise TtsError("ssml", f"Break time {time!r} exceeds {MAX_BREAK_MS // 1000}s")
        return round(value)
    strength = element.get("strength", "medium")
    if strength not in _BREAK_STRENGTH_MS:
        raise TtsError("ssml", f"Invalid break strength {strength!r}")
    return _BREAK_STRENGTH_MS[strength]


def _prosody_rate(value: str | None) -> float:
    if value is None:
        return 1.0
    if value in _RATE_WORDS:
        return _RATE_WORDS[value]
    match = _PERCENT_RE.match(value)
    if not match or not 20 <= float(match.group(1)) <= 200:
        raise TtsError("ssml", f"Invalid prosody rate {value!r}: use x-slow..x-fast or 20%..200%")
    return float(match.group(1)) / 100


def _prosody_gain(value: str | None) -> float:
    if value is None:
        return 1.0
    if value in _VOLUME_DB:
        db = _VOLUME_DB[value]
        return 0.0 if db is None else 10 ** (db / 20)
    match = _DB_RE.match(value)
    if not match or not -40 <= float(match.group(1)) <= 12:
        raise TtsError("ssml", f"Invalid prosody volume {value!r}: use silent..x-loud or -40dB..+12dB")
    return float(10 ** (float(match.group(1)) / 20))


def _say_as(interpret_as: str | None, text: str) -> str:
    if interpret_as == "digits":
        digits = [ch for ch in text if not ch.isspace()]
        if not all(ch.isdigit() for ch in digits):
            raise TtsError("ssml", f"say-as digits expects digits, got {text!r}")
        return " " + " ".join(digits) + " "
    if interpret_as in ("characters", "spell-out"):
        return " " + " ".join(ch for ch in text if not ch.isspace()) + " "
    raise TtsError("ssml", f"Unsupported say-as interpret-as={interpret_as!r}: use digits or characters")


def _merge(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for segment in segments:
        last = merged[-1] if merged else None
        if (
            isinstance(segment, TextRun)
            and isinstance(last, TextRun)
            and (last.rate, last.gain)
            == (
                segment.rate,
                segment.gain,
            )
        ):
            merged[-1] = TextRun(last.text + segment.text, last.rate, last.gain)
        elif isinstance(segment, Break) and isinstance(last, Break):
            merged[-1] = Break(last.ms + segment.ms)
        else:
            merged.append(segment)
    return [s for s in merged if not (isinstance(s, TextRun) and not s.text.strip())]


def parse_talk(text: str) -> list[Segment]:
    """Turn a talk ``text`` (plain or ``<speak>`` SSML) into segments, enforcing the 1500-character limit."""
    segments: list[Segment] = parse_ssml(text) if is_ssml(text) else [TextRun(text)]
    spoken = sum(len(s.text.strip()) for s in segments if isinstance(s, TextRun))
    if spoken > MAX_TEXT_CHARS:
        raise TtsError("text", f"Text is {spoken} characters long; the limit is {MAX_TEXT_CHARS}")
    return segments


# ------------------------------------------------------------------------------------------- espeak


class _Espeak:
    """The process-wide espeak-ng library, loaded once, used under a lock."""

    AUDIO_OUTPUT_SYNCHRONOUS = 2
    INIT_DONT_EXIT = 0x8000
    CHARS_UTF8 = 1
    PARAM_RATE = 1

    _instance: ClassVar[_Espeak | None] = None
    _instance_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        import espeakng_loader

        self.lock = threading.Lock()
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        self._libc = ctypes.CDLL(None)
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        data_path = espeakng_loader.get_data_path().encode()
        self.rate = int(self.lib.espeak_Initialize(self.AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, self.INIT_DONT_EXIT))
        if self.rate <= 0:
            raise RuntimeError(f"espeak-ng failed to initialise (data at {data_path.decode()})")
        self._chunks: list[np.ndarray[Any, np.dtype[np.int16]]] = []
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
        # Kept on self: ctypes callbacks must outlive every call into the library.
        self._callback = callback_type(self._on_audio)
        self.lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def get(cls) -> _Espeak:
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _on_audio(self, wav: Any, count: int, _events: Any) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).astype(np.int16))
        return 0

    def has_voice(self, name: str) -> bool:
        """True when espeak-ng knows the voice name (variants are checked separately, see tests)."""
        with self.lock:
            return int(self.lib.espeak_SetVoiceByName(name.encode())) == 0

    def synth(self, text: str, voice: str, wpm: int) -> Int16Array:
        """Synthesize ``text`` and return the samples at espeak's native rate (22 050 Hz)."""
        data = text.encode("utf-8")
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise TtsError("language", f"espeak-ng has no voice {voice!r}")
            self.lib.espeak_SetParameter(self.PARAM_RATE, wpm, 0)
            # The breath/noise sources draw random numbers; a fixed seed makes them repeatable.
            self.lib.espeak_ng_SetRandSeed(ctypes.c_long(RANDOM_SEED))
            self._libc.srand(RANDOM_SEED)
            self._chunks = []
            status = self.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, self.CHARS_UTF8, None, None)
            chunks, self._chunks = self._chunks, []
        if status != 0:
            raise RuntimeError(f"espeak-ng synthesis failed with status {status}")
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


# --------------------------------------------------------------------------------------- synthesizer


class Synthesizer:
    """Text-to-speech with a bounded LRU cache of synthesized audio keyed by (text, language, style).

    ``level`` is applied after the cache, so a prompt played at several levels is synthesized once.
    Thread-safe; each synthesis blocks for a few milliseconds, so async callers may run it in a thread.
    """

    def __init__(self, max_cache_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_cache_bytes = max_cache_bytes
        self._cache: OrderedDict[tuple[str, str, int], Int16Array] = OrderedDict()
        self._cache_bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def synthesize(self, text: str, *, language: str = "en-US", style: int = 0, level: float = 0.0) -> Int16Array:
        """Speak ``text`` (plain or ``<speak>`` SSML) as 16 kHz int16 mono; its length is the talk's duration.

        Raises :class:`TtsError` for an unknown language/style, bad SSML or text over 1500 characters, and
        ``ValueError`` for a level outside -1..1. The returned array is read-only (it may be shared via the cache).
        """
        voice = voice_for(language, style)
        key = (text, voice.language, voice.style)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                self.hits += 1
        if cached is None:
            cached = self._render(text, voice)
            cached.flags.writeable = False
            with self._lock:
                self.misses += 1
                if key not in self._cache and cached.nbytes <= self.max_cache_bytes:
                    self._cache[key] = cached
                    self._cache_bytes += cached.nbytes
                    while self._cache_bytes > self.max_cache_bytes:
                        _, evicted = self._cache.popitem(last=False)
                        self._cache_bytes -= evicted.nbytes
        return apply_level(cached, level) if level else cached

    def _render(self, text: str, voice: Voice) -> Int16Array:
        espeak = _Espeak.get()
        parts: list[Int16Array] = []
        for segment in parse_talk(text):
            if isinstance(segment, Break):
                parts.append(np.zeros(ms_to_samples(segment.ms), dtype=np.int16))
                continue
            wpm = min(MAX_WPM, max(MIN_WPM, round(DEFAULT_WPM * segment.rate)))
            native = espeak.synth(segment.text, voice.espeak_name, wpm)
            parts.append(apply_gain(resample(native, espeak.rate, SAMPLE_RATE), segment.gain))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def cache_info(self) -> dict[str, int]:
        """Entries, bytes, hits and misses of the cache (for diagnostics and tests)."""
        with self._lock:
            return {"entries": len(self._cache), "bytes": self._cache_bytes, "hits": self.hits, "misses": self.misses}

    def clear(self) -> None:
        """Drop every cached entry and reset the counters."""
        with self._lock:
            self._cache.clear()
            self._cache_bytes = 0
            self.hits = self.misses = 0


_default: Synthesizer | None = None
_default_lock = threading.Lock()


def default_synthesizer() -> Synthesizer:
    """The process-wide synthesizer (64 MiB cache)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Synthesizer()
        return _default


def synthesize(text: str, *, language: str = "en-US", style: int = 0, level: float = 0.0) -> Int16Array:
    """Speak ``text`` with the process-wide cached synthesizer; see :meth:`Synthesizer.synthesize`."""
    return default_synthesizer().synthesize(text, language=language, style=style, level=level)


def check_talk(text: str, *, language: str = "en-US", style: int = 0) -> TtsError | None:
    """Validate a talk without synthesizing it: the error the engine should report, or ``None``."""
    try:
        voice_for(language, style)
        parse_talk(text)
    except TtsError as error:
        return error
    return None


def espeak_data_path() -> str:
    """Directory of the bundled espeak-ng data (voices, dictionaries)."""
    import espeakng_loader

    return str(espeakng_loader.get_data_path())
