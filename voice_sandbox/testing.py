"""Run the sandbox inside a test process, and drive it.

``SandboxServer`` starts uvicorn on a free loopback port in a background thread (optionally over TLS
with a throw-away CA from ``trustme``) and offers small helpers for the control API::

    with SandboxServer(speed=20, tls=True) as sandbox:
        app_id, private_key = sandbox.create_application(
            "cc", answer_url="http://127.0.0.1:8000/webhooks/answer", event_url="http://127.0.0.1:8000/webhooks/event"
        )
        sandbox.buy_number("447700900001", app_id=app_id)
        sandbox.set_phone("447700900123", on_ring="answer", rings=2, script=[{"wait_for": "input"}, {"dtmf": "1"}])
        call = sandbox.place_inbound(from_="447700900123", to="447700900001")
        sandbox.wait_for_status(call["uuid"], "completed")
        print(sandbox.call(call["uuid"])["heard"])

Everything goes over HTTP like any other client; nothing here reaches into the sandbox's memory, so the
same helpers work against a sandbox started with ``manage.py sandbox``. For the official SDK use
``sandbox.vonage_client(app_id, private_key)`` (TLS only: the SDK always speaks HTTPS; it trusts the
test CA through ``REQUESTS_CA_BUNDLE``, which ``start()`` sets while the server runs when ``tls=True``).
"""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from voice_sandbox.app import Sandbox
from voice_sandbox.config import SandboxConfig


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SandboxError(RuntimeError):
    """A control-API request did not succeed; carries the status and the body."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text}")
        self.status_code = response.status_code
        self.body = response.text


def application_jwt(application_id: str, private_key: str, *, lifetime: int = 900, **claims: Any) -> str:
    """An application JWT as the SDKs make it (RS256: application_id, iat, jti, exp)."""
    import uuid

    import jwt

    now = int(time.time())
    payload = {"application_id": application_id, "iat": now, "jti": str(uuid.uuid4()), "exp": now + lifetime}
    payload.update(claims)
    return jwt.encode(payload, private_key, algorithm="RS256")


class VoiceApi:
    """Raw Voice API requests signed with an application's key: ``api.request("PUT", "/v1/calls/x", json=...)``."""

    def __init__(self, server: SandboxServer, application_id: str, private_key: str) -> None:
        self.server = server
        self.application_id = application_id
        self.private_key = private_key

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {application_jwt(self.application_id, self.private_key)}"}
        headers.update(kwargs.pop("headers", {}))
        return self.server.client.request(method, path, headers=headers, auth=None, **kwargs)

    def create_call(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.request("POST", "/v1/calls", json=body)
        if response.status_code != 201:
            raise SandboxError(response)
        return response.json()


class SandboxServer:
    """The sandbox on ``127.0.0.1:<free port>`` in a thread of this process.

    Arguments: ``speed`` (simulated-time factor), ``tls`` (serve HTTPS with a trustme CA; ``ca_path`` is
    the CA bundle for clients), ``data_dir`` (persist to ``<data_dir>/sandbox.sqlite3``; default: in memory),
    ``cps``/``rps`` (Voice API limits; default Vonage's 3 and 15), ``ring_seconds`` (one ring, simulated),
    ``api_key``/``api_secret``/``signature_secret`` (account credentials), ``media_factory`` (a callable
    ``network -> MediaBackend`` to plug another media implementation in).
    """

    def __init__(
        self,
        *,
        speed: float = 10.0,
        tls: bool = False,
        data_dir: str | Path | None = None,
        cps: float = 3.0,
        rps: float = 15.0,
        ring_seconds: float = 2.0,
        api_key: str = "sandbox",
        api_secret: str = "sandbox-secret",  # noqa: S107 - test credentials
        signature_secret: str = "sandbox-signature-secret-0123456789abcdef",  # noqa: S107
        port: int | None = None,
        media_factory: Any = None,
    ) -> None:
        self.port = port or free_port()
        self.tls = tls
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"  # what the SDK takes as api_host/rest_host
        self.api_key = api_key
        self.api_secret = api_secret
        self.signature_secret = signature_secret
        self.config = SandboxConfig(
            api_key=api_key,
            api_secret=api_secret,
            signature_secret=signature_secret,
            data_dir=Path(data_dir) if data_dir else None,
            speed=speed,
            cps=cps,
            rps=rps,
            ring_seconds=ring_seconds,
            public_url=self.url,
        )
        self._tmp = tempfile.TemporaryDirectory(prefix="sandbox-tls-")
        self.ca_path: str | None = None
        certfile = None
        if tls:
            import trustme

            ca = trustme.CA()
            cert = ca.issue_cert("127.0.0.1", "localhost")
            self.ca_path = str(Path(self._tmp.name) / "ca.pem")
            ca.cert_pem.write_to_path(self.ca_path)
            certfile = str(Path(self._tmp.name) / "server.pem")
            cert.private_key_and_cert_chain_pem.write_to_path(certfile)
        self.app = Sandbox(self.config, media_factory=media_factory)
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=self.port,
                lifespan="on",
                log_level="warning",
                access_log=False,
                ssl_certfile=certfile,
                timeout_graceful_shutdown=1,
            )
        )
        self.thread = threading.Thread(target=self.server.run, name=f"sandbox-{self.port}", daemon=True)
        self.client = httpx.Client(
            base_url=self.url,
            auth=(api_key, api_secret),
            verify=ssl.create_default_context(cafile=self.ca_path) if self.ca_path else True,
            timeout=30,
            trust_env=False,
        )
        self._previous_bundle: str | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self, timeout: float = 20) -> SandboxServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.02)
        if self.ca_path:
            self._previous_bundle = os.environ.get("REQUESTS_CA_BUNDLE")
            os.environ["REQUESTS_CA_BUNDLE"] = self.ca_path
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.client.close()
        if self.ca_path:
            if self._previous_bundle is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = self._previous_bundle
        self._tmp.cleanup()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- raw access -----------------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, expect: int | None = None, **kwargs: Any) -> httpx.Response:
        """A request with the account's Basic auth; ``expect`` raises ``SandboxError`` on another status."""
        response = self.client.request(method, path, **kwargs)
        if expect is not None and response.status_code != expect:
            raise SandboxError(response)
        return response

    # -- account set-up ---------------------------------------------------------------------------------------
    def create_application(
        self,
        name: str,
        *,
        answer_url: str | None = None,
        event_url: str | None = None,
        fallback_url: str | None = None,
        answer_method: str = "GET",
        event_method: str = "POST",
        signed_callbacks: bool = False,
        public_key: str | None = None,
        timeouts: dict[str, int] | None = None,
    ) -> tuple[str, str | None]:
        """Create an application with a voice capability; returns ``(id, private key or None)``.

        ``timeouts`` sets ``connect_timeout``/``socket_timeout`` (ms) on every webhook.
        """
        webhooks: dict[str, Any] = {}
        for key, url, method in (
            ("answer_url", answer_url, answer_method),
            ("event_url", event_url, event_method),
            ("fallback_answer_url", fallback_url, "GET"),
        ):
            if url:
                webhooks[key] = {"address": url, "http_method": method, **(timeouts or {})}
        body: dict[str, Any] = {
            "name": name,
            "capabilities": {"voice": {"webhooks": webhooks, "signed_callbacks": signed_callbacks}},
        }
        if public_key:
            body["keys"] = {"public_key": public_key}
        data = self.request("POST", "/v2/applications", json=body, expect=201).json()
        return data["id"], data["keys"].get("private_key")

    def buy_number(self, msisdn: str, *, country: str = "GB", app_id: str | None = None) -> None:
        """Own ``msisdn`` and (with ``app_id``) link it so inbound calls reach that application."""
        self.request("POST", "/number/buy", data={"country": country, "msisdn": msisdn}, expect=200)
        if app_id:
            self.request(
                "POST", "/number/update", data={"country": country, "msisdn": msisdn, "app_id": app_id}, expect=200
            )

    # -- the simulated network ---------------------------------------------------------------------------------
    def set_phone(
        self,
        number: str,
        *,
        on_ring: str = "answer",
        rings: int = 1,
        machine: bool = False,
        script: list[dict[str, Any]] | None = None,
    ) -> None:
        body = {"on_ring": on_ring, "rings": rings, "machine": machine, "script": script or []}
        self.request("PUT", f"/_sandbox/phones/{number}", json=body, expect=200)

    def set_user(
        self, name: str, *, on_ring: str = "answer", rings: int = 1, script: list[dict[str, Any]] | None = None
    ) -> None:
        body = {"on_ring": on_ring, "rings": rings, "script": script or []}
        self.request("PUT", f"/_sandbox/users/{name}", json=body, expect=200)

    def place_inbound(
        self,
        *,
        to: str,
        from_: str | None = None,
        from_user: str | None = None,
        script: list[dict[str, Any]] | None = None,
    ) -> dict[str, str]:
        """A call from the network to virtual number ``to``; returns ``{"uuid", "conversation_uuid"}``."""
        body: dict[str, Any] = {"to": to, "script": script or []}
        if from_user is not None:
            body["from_user"] = from_user
        else:
            body["from"] = from_
        return self.request("POST", "/_sandbox/calls", json=body, expect=201).json()

    def call(self, uuid: str) -> dict[str, Any]:
        """The leg as the control API shows it: status, direction, from, to, heard, webhooks, ..."""
        return self.request("GET", f"/_sandbox/calls/{uuid}", expect=200).json()

    def calls(self, status: str | None = None) -> list[dict[str, Any]]:
        params = {"status": status} if status else None
        return self.request("GET", "/_sandbox/calls", params=params, expect=200).json()["calls"]

    def run_script(self, uuid: str, script: list[dict[str, Any]]) -> None:
        """The party on a live leg does ``script`` now (press keys, speak, hang up)."""
        self.request("POST", f"/_sandbox/calls/{uuid}/script", json={"script": script}, expect=202)

    def reset(self, *, everything: bool = False) -> None:
        """Hang up live calls and forget calls and scripts (``everything``: applications and numbers too)."""
        self.request("POST", "/_sandbox/reset", json={"all": everything}, expect=200)

    def set_speed(self, speed: float) -> None:
        self.request("POST", "/_sandbox/clock", json={"speed": speed}, expect=200)

    def set_limits(self, *, cps: float | None = None, rps: float | None = None) -> None:
        body = {k: v for k, v in (("cps", cps), ("rps", rps)) if v is not None}
        self.request("PUT", "/_sandbox/limits", json=body, expect=200)

    def wait_for_status(self, uuid: str, status: str, timeout: float = 20.0) -> dict[str, Any]:
        """Poll until the leg reaches ``status`` (and its webhooks are delivered); returns the leg."""
        deadline = time.monotonic() + timeout
        leg: dict[str, Any] = {}
        while time.monotonic() < deadline:
            leg = self.call(uuid)
            if leg["status"] == status:
                return leg
            time.sleep(0.02)
        raise TimeoutError(f"leg {uuid} is {leg.get('status')!r}, not {status!r}, after {timeout} s")

    def voice(self, application_id: str, private_key: str) -> VoiceApi:
        """A minimal Voice API client (RS256 JWT per request) for raw requests in tests, over HTTP or HTTPS."""
        return VoiceApi(self, application_id, private_key)

    def wait_until(self, uuid: str, predicate: Any, timeout: float = 20.0) -> dict[str, Any]:
        """Poll the leg until ``predicate(leg)`` is true (e.g. all its webhooks logged); returns the leg."""
        deadline = time.monotonic() + timeout
        leg: dict[str, Any] = {}
        while time.monotonic() < deadline:
            leg = self.call(uuid)
            if predicate(leg):
                return leg
            time.sleep(0.02)
        raise TimeoutError(f"leg {uuid} never matched: {leg}")

    def vonage_client(self, application_id: str, private_key: str) -> Any:
        """The official ``vonage`` SDK pointed at this sandbox (needs ``tls=True``: the SDK speaks HTTPS only)."""
        from vonage import Auth, HttpClientOptions, Vonage

        if not self.tls:
            raise RuntimeError("the vonage SDK only speaks HTTPS: start SandboxServer(tls=True)")
        return Vonage(
            Auth(
                api_key=self.api_key,
                api_secret=self.api_secret,
                application_id=application_id,
                private_key=private_key,
            ),
            HttpClientOptions(api_host=self.host, rest_host=self.host, timeout=30),
        )
