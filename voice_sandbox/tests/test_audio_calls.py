"""Calls with real audio: recordings, speech recognition and DTMF tones through the sandbox's media engine.

The sandbox runs at speed 20: every tick still carries 20 ms of PCM, so what is recorded and recognised is
exactly what a real-time call would carry, in a twentieth of the wall time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from voice_sandbox.audio_backend import PARTY_VOICE, AudioMediaBackend
from voice_sandbox.audio_io import attach_external
from voice_sandbox.engine import Network
from voice_sandbox.media import codecs, tts
from voice_sandbox.media.asr import recognize, word_error_rate
from voice_sandbox.media.frames import SAMPLE_RATE, pad_to_frames
from voice_sandbox.media_backend import MediaBackend
from voice_sandbox.testing import SandboxServer

from .conftest import Reply, Setup, WebhookReceiver, fresh_number

SPEED = 20.0
#: Word accuracy on PHRASES, one call after the other: 0.948 measured alone and 0.935 inside the whole suite
#: (the decoder's state depends a little on what it decoded before) on 2026-11-23; goal 0.90, held at 0.92.
#: (Placed all at once the figure moved between 0.93 and 0.99: the decoder depends a little on what it decoded before.)
MIN_WORD_ACCURACY = 0.92

PHRASES = [
    "I want to check my account balance",
    "speak to an agent",
    "I would like to pay my bill",
    "report a lost card",
    "change my address",
    "cancel my subscription",
    "technical support please",
    "open a new account",
    "what are your opening hours",
    "I need help with my order",
    "track my delivery",
    "reset my password",
    "talk to sales",
    "make a complaint",
    "update my phone number",
    "book an appointment",
    "where is my refund",
    "upgrade my plan",
    "close my account",
    "yes please",
]


def audio_factory(**options: Any) -> Any:
    def factory(network: Network) -> MediaBackend:
        return AudioMediaBackend.for_network(network, **options)

    return factory


@pytest.fixture(scope="module")
def audio_sandbox() -> Iterator[SandboxServer]:
    # Load the acoustic model first (about a second): at speed 20 that would be 20 s of a test call's time.
    recognize(tts.synthesize("hello"), context=["hello"])
    with SandboxServer(speed=SPEED, cps=1000, rps=1000, media_factory=audio_factory()) as server:
        yield server


@pytest.fixture
def audio(audio_sandbox: SandboxServer, receiver: WebhookReceiver) -> Setup:
    return Setup(audio_sandbox, receiver)


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def rms(samples: npt.NDArray[np.int16]) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


def test_split_recording_of_talk_downloads_only_for_its_application_and_carries_each_party(
    audio: Setup, receiver: WebhookReceiver
) -> None:
    prompt = "Thank you for calling the sandbox. This call is recorded for quality and training purposes."
    answer = "yes"
    receiver.replies["/answer"] = Reply(
        body=[
            {"action": "record", "split": "conversation", "eventUrl": [f"{receiver.url}/record"]},
            {"action": "talk", "text": prompt},
        ]
    )
    call = audio.sandbox.place_inbound(from_=fresh_number(), to=audio.number, script=[{"say": answer}])
    receiver.wait_status(call["uuid"], "completed")
    (record,) = receiver.wait_for(lambda rs: any(r.path == "/record" for r in rs)) and receiver.at("/record")
    body = record.json
    path = body["recording_url"].removeprefix(audio.sandbox.url)

    download = audio.voice.request("GET", path)
    assert download.status_code == 200
    assert download.headers["content-type"] == "audio/mpeg"
    assert len(download.content) == body["size"]
    other = Setup(audio.sandbox, receiver)
    refused = other.voice.request("GET", path)
    assert refused.status_code == 401
    assert audio.voice.request("GET", path).content == download.content  # nothing changed

    stereo, rate = codecs.decode_channels(download.content)
    assert rate == SAMPLE_RATE
    assert stereo.shape[1] == 2
    spoken = tts.synthesize(prompt).shape[0] / SAMPLE_RATE
    assert abs(stereo.shape[0] / SAMPLE_RATE - spoken) <= 0.1
    said = tts.synthesize(answer, language=PARTY_VOICE[0], style=PARTY_VOICE[1]).shape[0] / SAMPLE_RATE
    left, right = stereo[:, 0], stereo[:, 1]
    while_answering = slice(0, int(said * SAMPLE_RATE))
    after_answer = slice(int((said + 0.3) * SAMPLE_RATE), int((spoken - 0.3) * SAMPLE_RATE))
    # Left: the caller's own voice (its "yes"), silent afterwards; right: the prompt it heard, all along.
    assert rms(left[while_answering]) > 300
    assert rms(left[after_answer]) < 30
    assert rms(right[after_answer]) > 300


def test_scripted_phrases_are_recognised_from_the_call_audio(audio: Setup, receiver: WebhookReceiver) -> None:
    receiver.replies["/answer"] = Reply(
        body=[
            {
                "action": "input",
                "type": ["speech"],
                "speech": {"endOnSilence": 1, "context": PHRASES, "maxDuration": 10},
                "eventUrl": [f"{receiver.url}/input"],
            }
        ]
    )
    calls = {}
    for phrase in PHRASES:
        # One call after the other: the decoder's result depends a little on what it decoded before, so a
        # fixed order keeps the figure reproducible.
        call = audio.sandbox.place_inbound(
            from_=fresh_number(), to=audio.number, script=[{"wait_for": "input"}, {"say": phrase}]
        )
        calls[call["uuid"]] = phrase
        receiver.wait_for(lambda rs: len([r for r in rs if r.path == "/input"]) == len(calls), timeout=30)
    errors = words = 0
    for request in receiver.at("/input"):
        data = request.json
        speech = data["speech"]
        assert speech["timeout_reason"] == "end_on_silence_timeout"
        heard = speech["results"][0]["text"] if speech["results"] else ""
        assert all(0.0 <= r["confidence"] <= 1.0 for r in speech["results"])
        distance, count = word_error_rate(calls[data["uuid"]], heard)
        errors, words = errors + distance, words + count
    accuracy = 1 - errors / words
    print(f"word accuracy {accuracy:.3f} over {words} words")
    assert accuracy >= MIN_WORD_ACCURACY


def test_speech_input_in_an_unsupported_language_reports_a_speech_error(
    audio: Setup, receiver: WebhookReceiver
) -> None:
    receiver.replies["/answer"] = Reply(
        body=[
            {
                "action": "input",
                "type": ["speech"],
                "speech": {"language": "xx-XX"},
                "eventUrl": [f"{receiver.url}/input"],
            }
        ]
    )
    call = audio.sandbox.place_inbound(from_=fresh_number(), to=audio.number)
    receiver.wait_status(call["uuid"], "completed")
    (request,) = receiver.at("/input")
    assert request.json["speech"] == {"error": "ERR1: language xx-XX not supported", "results": []}
    assert request.json["dtmf"] == {"digits": None, "timed_out": False}


def test_speech_input_with_silence_times_out_at_start(audio: Setup, receiver: WebhookReceiver) -> None:
    receiver.replies["/answer"] = Reply(
        body=[
            {
                "action": "input",
                "type": ["speech"],
                "speech": {"startTimeout": 2},
                "eventUrl": [f"{receiver.url}/input"],
            }
        ]
    )
    call = audio.sandbox.place_inbound(from_=fresh_number(), to=audio.number)
    receiver.wait_status(call["uuid"], "completed")
    (request,) = receiver.at("/input")
    assert request.json["speech"] == {"timeout_reason": "start_timeout", "results": []}


def test_dtmf_tones_alone_reach_input() -> None:
    receiver = WebhookReceiver()
    try:
        with SandboxServer(speed=SPEED, cps=100, rps=100, media_factory=audio_factory(out_of_band_dtmf=False)) as sb:
            setup = Setup(sb, receiver)
            receiver.replies["/answer"] = Reply(
                body=[
                    {
                        "action": "input",
                        "type": ["dtmf"],
                        "dtmf": {"maxDigits": 4, "timeOut": 3},
                        "eventUrl": [f"{receiver.url}/input"],
                    }
                ]
            )
            call = sb.place_inbound(
                from_=fresh_number(), to=setup.number, script=[{"wait_for": "input"}, {"dtmf": "4#7*"}]
            )
            receiver.wait_status(call["uuid"], "completed")
            (request,) = receiver.at("/input")
            assert request.json["dtmf"] == {"digits": "4#7*", "timed_out": False}
            # Only the tones carried the keys: nothing reached the call out of band before the detector.
            assert sb.call(call["uuid"])["status"] == "completed"
    finally:
        receiver.stop()


def test_talk_in_an_unknown_language_sends_an_error_event_and_the_ncco_goes_on(
    audio: Setup, receiver: WebhookReceiver
) -> None:
    receiver.replies["/answer"] = Reply(
        body=[
            {"action": "talk", "text": "Bonjour", "language": "zz-ZZ"},
            {"action": "talk", "text": "Hello"},
        ]
    )
    call = audio.sandbox.place_inbound(from_=fresh_number(), to=audio.number)
    receiver.wait_status(call["uuid"], "completed")
    errors = [r.json for r in receiver.at("/event") if "reason" in (r.json or {})]
    assert len(errors) == 1
    assert errors[0]["reason"].startswith("Talk failed: ")
    heard = audio.sandbox.call(call["uuid"])["heard"]
    assert [h["text"] for h in heard if h["type"] == "talk"] == ["Bonjour", "Hello"]


def test_stream_plays_a_wav_for_exactly_its_length_and_a_missing_file_is_an_error(
    audio: Setup, receiver: WebhookReceiver, tmp_path: Any
) -> None:
    clip = np.zeros(int(1.5 * SAMPLE_RATE), dtype=np.int16)
    clip[::40] = 8000
    wav = tmp_path / "clip.wav"
    wav.write_bytes(codecs.encode(clip, "wav"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietFiles, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    files = f"http://127.0.0.1:{server.server_address[1]}"
    receiver.replies["/answer"] = Reply(
        body=[
            {"action": "record", "format": "wav", "eventUrl": [f"{receiver.url}/record"]},
            {"action": "stream", "streamUrl": [f"{files}/missing.mp3"]},
            {"action": "stream", "streamUrl": [f"{files}/clip.wav"], "loop": 2},
        ]
    )
    started = time.monotonic()
    call = audio.sandbox.place_inbound(from_=fresh_number(), to=audio.number)
    receiver.wait_status(call["uuid"], "completed")
    assert time.monotonic() - started < 10
    (record,) = receiver.wait_for(lambda rs: any(r.path == "/record" for r in rs)) and receiver.at("/record")
    data = audio.voice.request("GET", record.json["recording_url"].removeprefix(audio.sandbox.url)).content
    mono, _ = codecs.decode_channels(data)
    # Two loops of 1.5 s; at speed 20 every millisecond the event loop spends between the NCCO's actions is
    # 20 ms of simulated silence, hence the wider margin than for a single talk.
    assert abs(mono.shape[0] / SAMPLE_RATE - 3.0) <= 0.25
    errors = [r.json for r in receiver.at("/event") if "reason" in (r.json or {})]
    server.shutdown()
    server.server_close()
    assert len(errors) == 1
    assert errors[0]["reason"] == f"Stream failed: {files}/missing.mp3: HTTP 404"


def test_a_caller_talking_over_a_barge_in_prompt_stops_it_and_is_recognised(
    audio: Setup, receiver: WebhookReceiver
) -> None:
    prompt = "Welcome to the sandbox. Please say the name of the department you want, or stay on the line. " * 3
    receiver.replies["/answer"] = Reply(
        body=[
            {"action": "talk", "text": prompt, "bargeIn": True},
            {
                "action": "input",
                "type": ["speech"],
                "speech": {"endOnSilence": 1, "context": ["talk to sales", "technical support please"]},
                "eventUrl": [f"{receiver.url}/input"],
            },
        ]
    )
    call = audio.sandbox.place_inbound(
        from_=fresh_number(), to=audio.number, script=[{"wait_for": "input"}, {"wait": 1}, {"say": "talk to sales"}]
    )
    receiver.wait_status(call["uuid"], "completed")
    (request,) = receiver.at("/input")
    assert request.json["speech"]["results"][0]["text"] == "talk to sales"
    answered = next(r.at for r in receiver.at("/event") if r.json.get("status") == "answered")
    # The prompt lasts ~32 s of simulated time (1.6 s of wall time at speed 20); the webhook came well before
    # (after the 1 s wait, the words, 1 s of silence and the recognizer's wall time, which counts 20-fold).
    assert (request.at - answered) * SPEED < tts.synthesize(prompt).shape[0] / SAMPLE_RATE * 0.75


def test_record_ends_on_silence_after_the_message(audio: Setup, receiver: WebhookReceiver) -> None:
    message = "Hello, please call me back tomorrow morning"
    receiver.replies["/answer"] = Reply(
        body=[
            {"action": "record", "endOnSilence": 3, "format": "wav", "eventUrl": [f"{receiver.url}/record"]},
            {"action": "talk", "text": "Goodbye"},
        ]
    )
    call = audio.sandbox.place_inbound(from_=fresh_number(), to=audio.number, script=[{"say": message}])
    receiver.wait_status(call["uuid"], "completed")
    (record,) = receiver.at("/record")
    data = audio.voice.request("GET", record.json["recording_url"].removeprefix(audio.sandbox.url)).content
    mono, _ = codecs.decode_channels(data)
    said = tts.synthesize(message, language=PARTY_VOICE[0], style=PARTY_VOICE[1]).shape[0] / SAMPLE_RATE
    assert abs(mono.shape[0] / SAMPLE_RATE - (said + 3.0)) <= 0.3
    assert rms(mono[: int(said * SAMPLE_RATE), 0]) > 300
    heard = audio.sandbox.call(call["uuid"])["heard"]
    assert [h["text"] for h in heard if h["type"] == "talk"] == ["Goodbye"]


def test_an_external_endpoint_hears_the_leg_and_speaks_into_it(audio: Setup, receiver: WebhookReceiver) -> None:
    prompt = "Say something"
    receiver.replies["/answer"] = Reply(
        body=[
            {"action": "talk", "text": prompt},
            {
                "action": "input",
                "type": ["speech"],
                "speech": {"endOnSilence": 1, "context": PHRASES},
                "eventUrl": [f"{receiver.url}/input"],
            },
        ]
    )
    network = audio.sandbox.app.network
    assert network is not None
    media = network.media
    assert isinstance(media, AudioMediaBackend) and media.loop is not None
    heard: list[bytes] = []
    ended = threading.Event()
    endpoints: list[Any] = []

    def attach(uuid: str) -> None:
        endpoints.append(attach_external(network.legs[uuid], heard.append, on_end=ended.set))

    call = audio.sandbox.place_inbound(from_=fresh_number(), to=audio.number, script=[{"wait_for": "input"}])
    media.loop.call_soon_threadsafe(attach, call["uuid"])
    audio.sandbox.wait_until(call["uuid"], lambda leg: any(h["type"] == "talk" for h in leg["heard"]))
    deadline = time.monotonic() + 10
    while network.legs[call["uuid"]].input_session is None and time.monotonic() < deadline:
        time.sleep(0.01)
    voice = tts.synthesize("book an appointment", language=PARTY_VOICE[0], style=PARTY_VOICE[1])
    frames = pad_to_frames(voice).tobytes()
    for offset in range(0, len(frames), 640):
        media.loop.call_soon_threadsafe(endpoints[0].push_input, frames[offset : offset + 640])
    receiver.wait_for(lambda rs: any(r.path == "/input" for r in rs))
    (request,) = receiver.at("/input")
    assert request.json["speech"]["results"][0]["text"] == "book an appointment"
    media.loop.call_soon_threadsafe(lambda: network.spawn(endpoints[0].hangup()))
    receiver.wait_status(call["uuid"], "completed")
    assert ended.wait(5)
    assert {len(frame) for frame in heard} == {640}
    assert pad_to_frames(tts.synthesize(prompt)).tobytes() in b"".join(heard)  # the prompt, byte for byte
    with pytest.raises(ValueError, match="unexpected frame size 100, when required 640"):
        endpoints[0].push_input(b"\x00" * 100)


def test_conversation_recording_and_a_three_channel_leg_recording_carry_each_participant(
    audio: Setup, receiver: WebhookReceiver
) -> None:
    first, second = fresh_number(), fresh_number()
    room = f"room-{first}"

    def answer(request: Any) -> Reply:
        ncco: list[dict[str, Any]] = []
        if request.query.get("from") == first:
            ncco.append(
                {"action": "record", "split": "conversation", "channels": 3, "eventUrl": [f"{receiver.url}/record"]}
            )
        ncco.append({"action": "conversation", "name": room, "record": True, "eventUrl": [f"{receiver.url}/room"]})
        return Reply(body=ncco)

    receiver.replies["/answer"] = answer
    a = audio.sandbox.place_inbound(
        from_=first,
        to=audio.number,
        script=[{"wait_for": "conversation"}, {"say": "one two three"}, {"wait": 4}, {"hangup": True}],
    )
    audio.sandbox.wait_until(a["uuid"], lambda leg: (leg.get("conversation") or {}).get("name") == room)
    b = audio.sandbox.place_inbound(
        from_=second, to=audio.number, script=[{"wait": 2.5}, {"say": "four five six"}, {"hangup": True}]
    )
    receiver.wait_status(a["uuid"], "completed")
    receiver.wait_status(b["uuid"], "completed")
    receiver.wait_for(lambda rs: any(r.path == "/record" for r in rs) and any(r.path == "/room" for r in rs))
    (leg_record,) = receiver.at("/record")
    (room_record,) = receiver.at("/room")

    def download(body: dict[str, Any]) -> tuple[bytes, str]:
        response = audio.voice.request("GET", body["recording_url"].removeprefix(audio.sandbox.url))
        return response.content, response.headers["content-type"]

    data, content_type = download(leg_record.json)
    assert content_type == "audio/wav"  # more than 2 channels: wav
    channels, _ = codecs.decode_channels(data)
    assert channels.shape[1] == 3
    said = tts.synthesize("one two three", language=PARTY_VOICE[0], style=PARTY_VOICE[1]).shape[0] / SAMPLE_RATE
    own, other, spare = channels[:, 0], channels[:, 1], channels[:, 2]
    assert rms(own[: int(said * SAMPLE_RATE)]) > 300
    assert rms(own[int((said + 0.2) * SAMPLE_RATE) :]) < 30
    assert rms(other) > 100  # the second caller, heard in the room
    assert rms(spare) == 0.0  # no third participant
    mixed, content_type = download(room_record.json)
    assert content_type == "audio/mpeg"
    mono, _ = codecs.decode_channels(mixed)
    assert mono.shape[1] == 1
    assert rms(mono[: int(said * SAMPLE_RATE), 0]) > 300  # the first caller's words
