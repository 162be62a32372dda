"""Idempotent set-up of an application in a running sandbox, over HTTP only (for ``make run`` and demos).

``ensure_application`` creates the application on first use, keeps its id and private key in a directory
of the caller's choosing (``var/`` for the contact center), keeps its webhooks up to date on later runs,
and links the given numbers to it. If the sandbox lost its state (a fresh data directory), the
application is created again. Nothing here imports the contact center: it speaks to the sandbox exactly
as a developer would with the Applications and Numbers APIs.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


@dataclass(frozen=True)
class SandboxApplication:
    application_id: str
    private_key_path: Path
    numbers: tuple[str, ...]

    @property
    def private_key(self) -> str:
        return self.private_key_path.read_text()


class BootstrapError(RuntimeError):
    """The sandbox answered something unexpected."""


def wait_for_sandbox(base_url: str, *, timeout: float = 20.0, verify: Any = True) -> None:
    """Block until ``GET /_sandbox/health`` answers (a sandbox process was just started)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base_url}/_sandbox/health", timeout=1, verify=verify, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise BootstrapError(f"no sandbox answered at {base_url} within {timeout:g} s")
        time.sleep(0.1)


def ensure_application(
    *,
    base_url: str,
    api_key: str,
    api_secret: str,
    name: str,
    answer_url: str,
    event_url: str,
    fallback_url: str | None = None,
    signed_callbacks: bool = True,
    numbers: tuple[str, ...] = (),
    country: str = "GB",
    key_dir: Path,
    verify: Any = True,
    timeout: float = 10.0,
) -> SandboxApplication:
    """Create or refresh application ``name`` and link ``numbers`` to it; returns its id and key file.

    Files written in ``key_dir``: ``sandbox-application.json`` (id) and ``sandbox-private.key`` (mode 0600).
    """
    key_dir.mkdir(parents=True, exist_ok=True)
    state_file = key_dir / "sandbox-application.json"
    key_file = key_dir / "sandbox-private.key"
    webhooks: dict[str, Any] = {
        "answer_url": {"address": answer_url, "http_method": "GET"},
        "event_url": {"address": event_url, "http_method": "POST"},
    }
    if fallback_url:
        webhooks["fallback_answer_url"] = {"address": fallback_url, "http_method": "GET"}
    body = {"name": name, "capabilities": {"voice": {"webhooks": webhooks, "signed_callbacks": signed_callbacks}}}

    with httpx.Client(
        base_url=base_url, auth=(api_key, api_secret), verify=verify, timeout=timeout, trust_env=False
    ) as http:
        app_id = None
        if state_file.is_file() and key_file.is_file():
            app_id = json.loads(state_file.read_text()).get("application_id")
            if app_id and http.get(f"/v2/applications/{app_id}").status_code == 404:
                app_id = None
        if app_id:
            response = http.put(f"/v2/applications/{app_id}", json=body)
            if response.status_code != 200:
                raise BootstrapError(f"updating application {app_id}: {response.status_code} {response.text}")
        else:
            response = http.post("/v2/applications", json=body)
            if response.status_code != 201:
                raise BootstrapError(f"creating the application: {response.status_code} {response.text}")
            created = response.json()
            app_id = created["id"]
            key_file.write_text(created["keys"]["private_key"])
            os.chmod(key_file, 0o600)
            state_file.write_text(json.dumps({"application_id": app_id}))
        owned = {n["msisdn"]: n for n in http.get("/account/numbers", params={"size": 100}).json().get("numbers", [])}
        for msisdn in numbers:
            if msisdn not in owned:
                bought = http.post("/number/buy", data={"country": country, "msisdn": msisdn})
                if bought.status_code != 200:
                    raise BootstrapError(f"buying {msisdn}: {bought.status_code} {bought.text}")
            if owned.get(msisdn, {}).get("app_id") != app_id:
                linked = http.post(
                    "/number/update",
                    data={"country": owned.get(msisdn, {}).get("country", country), "msisdn": msisdn, "app_id": app_id},
                )
                if linked.status_code != 200:
                    raise BootstrapError(f"linking {msisdn}: {linked.status_code} {linked.text}")
    return SandboxApplication(app_id, key_file, tuple(numbers))
