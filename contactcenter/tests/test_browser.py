"""The pages in a real browser: the system's Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page():
    """A Chromium page; request it last, after fixtures that touch the database (Playwright runs a loop)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": 1200, "height": 760})
        finally:
            browser.close()


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_agent_signs_in_and_the_console_goes_live(asgi_server, agent_user, page) -> None:
    sign_in(page, asgi_server.url, agent_user.username)
    page.wait_for_url(f"{asgi_server.url}/agent/")
    assert page.inner_text("h1") == "Agent console"
    page.wait_for_function("document.getElementById('live-text').textContent === 'connected'", timeout=10_000)
    assert page.get_attribute("#live-status", "data-state") == "open"
    nav = page.inner_text("nav")
    assert "Agent console" in nav
    assert "Wallboard" not in nav and "Manage" not in nav
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "agent-console.png"), full_page=True)


def test_supervisor_wallboard_shows_pushed_events(asgi_server, supervisor_user, agent_user, page) -> None:
    from contactcenter import realtime

    sign_in(page, asgi_server.url, supervisor_user.username)
    page.wait_for_url(f"{asgi_server.url}/supervisor/")
    page.wait_for_function("document.getElementById('live-text').textContent === 'connected'", timeout=10_000)
    assert "agent.alice" in page.inner_text("table")
    realtime.send_now([realtime.supervisors_group()], "call.answered", {"id": 1})
    page.wait_for_selector("#events li", timeout=10_000)
    assert page.inner_text("#events li").endswith("call.answered")
    page.screenshot(path=str(ARTIFACTS / "wallboard.png"), full_page=True)


def test_wrong_password_is_shown_in_the_page(asgi_server, agent_user, page) -> None:
    page.goto(f"{asgi_server.url}/login/")
    page.fill("input[name=username]", agent_user.username)
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "didn't match" in page.inner_text("[role=alert]")
    assert page.url == f"{asgi_server.url}/login/"
