"""The browser phone in the system's Chromium (fake microphone and camera, never a downloaded browser).

The sandbox runs with real audio at real-time speed, so the page plays the prompt as a person would hear it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from voice_sandbox.audio_backend import AudioMediaBackend
from voice_sandbox.engine import Network
from voice_sandbox.media_backend import MediaBackend
from voice_sandbox.testing import SandboxServer

from .conftest import Reply, Setup, WebhookReceiver

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def audio_factory(network: Network) -> MediaBackend:
    return AudioMediaBackend.for_network(network)


@pytest.fixture(scope="module")
def live_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(speed=1.0, cps=1000, rps=1000, media_factory=audio_factory) as server:
        yield server


@pytest.fixture
def browser_page(live_sandbox: SandboxServer) -> Iterator[Any]:
    """A Chromium page signed in to the sandbox (Basic auth answered by the browser context)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(
                viewport={"width": 480, "height": 900},
                http_credentials={"username": live_sandbox.api_key, "password": live_sandbox.api_secret},
            )
            page = context.new_page()
            yield page
        finally:
            browser.close()


def test_the_browser_phone_calls_a_number_hears_the_prompt_and_its_key_reaches_the_webhook(
    live_sandbox: SandboxServer, receiver: WebhookReceiver, browser_page: Any
) -> None:
    setup = Setup(live_sandbox, receiver)
    receiver.replies["/answer"] = Reply(
        body=[
            {"action": "talk", "text": "Welcome to the sandbox. Please press a key."},
            {
                "action": "input",
                "type": ["dtmf"],
                "dtmf": {"maxDigits": 1, "timeOut": 10},
                "eventUrl": [f"{receiver.url}/input"],
            },
        ]
    )
    receiver.replies["/input"] = Reply(body=[{"action": "talk", "text": "Thank you.", "loop": 0}])
    page = browser_page
    page.goto(f"{live_sandbox.url}/_sandbox/phone?to={setup.number}")
    page.wait_for_selector("#link[data-state=open]", timeout=10_000)
    assert page.input_value("#to") == setup.number
    assert page.input_value("#from") == "447700900999"

    page.click("#dial")
    page.wait_for_selector("#call-state[data-phase=connected]", timeout=10_000)
    assert page.inner_text("#call-state") == f"Connected to {setup.number}"
    uuid = page.get_attribute("#call-state", "data-uuid")
    assert uuid

    # The prompt plays (real TTS through the sandbox's mixer): the page receives sound, not silence.
    page.wait_for_function("window.phoneStats.loudFrames >= 25", timeout=10_000)
    live_sandbox.wait_until(uuid, lambda leg: leg["listening"])
    page.click("#keypad button[data-key='5']")
    (received,) = receiver.wait_for(lambda rs: any(r.path == "/input" for r in rs)) and receiver.at("/input")
    assert received.json["dtmf"] == {"digits": "5", "timed_out": False}
    assert received.json["uuid"] == uuid
    page.wait_for_function("document.querySelector('#log').textContent.includes('pressed 5')")

    stats = page.evaluate("window.phoneStats")
    assert stats["audio"] == "worklet"
    assert stats["errors"] == []
    assert stats["framesReceived"] >= 100  # 2 s of the call at 50 frames a second
    assert stats["framesSent"] >= 25  # the fake microphone's audio went up during the call
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-phone.png"), full_page=True)

    page.click("#hangup")
    page.wait_for_selector("#call-state[data-phase=ended]", timeout=10_000)
    assert page.inner_text("#call-state") == "Call ended"
    assert receiver.wait_status(uuid, "completed") == ["started", "ringing", "answered", "completed"]
    (completed,) = [e for e in setup.events(uuid) if e["status"] == "completed"]
    assert completed["disconnected_by"] == "user"


def test_the_browser_phone_as_an_app_user_rings_answers_and_hears_the_caller(
    live_sandbox: SandboxServer, receiver: WebhookReceiver, browser_page: Any
) -> None:
    setup = Setup(live_sandbox, receiver)
    receiver.replies["/answer"] = Reply(
        body=[{"action": "connect", "endpoint": [{"type": "app", "user": "agent.browser"}]}]
    )
    page = browser_page
    page.goto(f"{live_sandbox.url}/_sandbox/phone?user=agent.browser")
    page.wait_for_selector("#link[data-state=open]", timeout=10_000)
    assert page.is_hidden("#from-field") and page.is_visible("#user-field")
    page.click("#register")
    page.wait_for_selector("#register:disabled", timeout=10_000)
    assert page.inner_text("#register") == "Registered as agent.browser"

    # A scripted caller dials the number; once bridged to the browser, it says something.
    caller = live_sandbox.place_inbound(
        from_="447700900321", to=setup.number, script=[{"wait_for": "conversation"}, {"say": "hello agent"}]
    )
    page.wait_for_selector("#call-state[data-phase=ringing]", timeout=10_000)
    assert page.inner_text("#call-state") == f"Incoming call from {setup.number}"
    assert page.is_visible("#answer") and page.is_visible("#decline")
    page.click("#answer")
    page.wait_for_selector("#call-state[data-phase=connected]", timeout=10_000)
    callee = page.get_attribute("#call-state", "data-uuid")
    page.wait_for_function("window.phoneStats.loudFrames >= 10", timeout=10_000)  # the caller's "hello agent"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-phone-app-user.png"), full_page=True)
    page.click("#hangup")
    page.wait_for_selector("#call-state[data-phase=ended]", timeout=10_000)
    assert receiver.wait_status(callee, "completed") == ["started", "ringing", "answered", "completed"]
    # The caller's NCCO ends with the connect, so the caller is hung up too.
    assert receiver.wait_status(caller["uuid"], "completed")[-1] == "completed"


def test_without_audio_worklets_the_phone_falls_back_to_a_script_processor(
    live_sandbox: SandboxServer, receiver: WebhookReceiver, browser_page: Any
) -> None:
    setup = Setup(live_sandbox, receiver)
    receiver.replies["/answer"] = Reply(body=[{"action": "talk", "text": "One two three four five.", "loop": 0}])
    page = browser_page
    page.add_init_script("delete window.AudioWorkletNode")  # as in browsers without AudioWorklet
    page.goto(f"{live_sandbox.url}/_sandbox/phone?to={setup.number}")
    page.wait_for_selector("#link[data-state=open]", timeout=10_000)
    page.click("#dial")
    page.wait_for_selector("#call-state[data-phase=connected]", timeout=10_000)
    page.wait_for_function("window.phoneStats.loudFrames >= 25 && window.phoneStats.framesSent >= 25", timeout=10_000)
    stats = page.evaluate("window.phoneStats")
    assert (stats["audio"], stats["errors"]) == ("script-processor", [])
    page.click("#hangup")
    page.wait_for_selector("#call-state[data-phase=ended]", timeout=10_000)
