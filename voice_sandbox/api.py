"""HTTP handlers: Voice API v1, Applications API v2, Numbers API and the sandbox control API.

Handlers stay thin: authenticate, validate (Vonage's status codes and bodies), call the engine, render.
"""

from __future__ import annotations

import math
import re
import uuid as uuidlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from voice_sandbox.clock import iso
from voice_sandbox.engine import TERMINAL, Application, Leg, Network, endpoint_address
from voice_sandbox.http import (
    ERRORS_BASE,
    ApiError,
    Request,
    Response,
    Router,
    bad_request,
    not_found,
    rate_limited,
    unauthorized,
)
from voice_sandbox.security import (
    bearer_token,
    check_basic,
    generate_key_pair,
    public_key_is_valid,
    unverified_application_id,
    verify_application_jwt,
)
from voice_sandbox.validation import (
    CALL_STATUSES,
    TYPE_REASON,
    URL_RE,
    Checker,
    Invalid,
    validate_create_call,
    validate_dtmf,
    validate_modify,
    validate_stream,
    validate_talk,
)
from voice_sandbox.webhooks import Hook

APP_ERRORS = "https://developer.nexmo.com/api-errors/application"
REGIONS = {"na-east", "na-west", "eu-east", "eu-west", "apac-sng", "apac-australia"}
WEBHOOK_LIMITS = {
    "answer_url": ("GET", 5000),
    "fallback_answer_url": ("GET", 5000),
    "event_url": ("POST", 10000),
}
COUNTRY_CODES = {
    "GB": "44",
    "US": "1",
    "CA": "1",
    "DE": "49",
    "FR": "33",
    "ES": "34",
    "IT": "39",
    "NL": "31",
    "IE": "353",
    "AU": "61",
    "SE": "46",
    "BE": "32",
}
# Ranges reserved for drama/fiction, so a sandbox number can never be someone's real phone.
NUMBER_RANGES = {
    ("GB", "mobile-lvn"): "447700900",
    ("GB", "landline"): "441632960",
    ("GB", "landline-toll-free"): "448081570",
    ("US", "landline"): "1201555",
    ("US", "mobile-lvn"): "1202555",
    ("US", "landline-toll-free"): "1800555",
}
SCRIPT_KEYS = {"wait", "dtmf", "say", "hangup", "wait_for"}
ON_RING = {"answer", "busy", "unanswered", "reject", "fail"}


def numbers_error(code: str, label: str, status: int) -> ApiError:
    return ApiError(status, label, body={"error-code": code, "error-code-label": label})


class Api:
    """All routes of the sandbox, bound to one ``Network``."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.config = network.config
        self.router = Router()
        r = self.router.add
        r("GET", "/", self.index)
        r("GET", "/_sandbox/health", self.health)
        # Voice API
        r("POST", "/v1/calls", self.create_call)
        r("POST", "/v2/calls", self.create_call_v2)
        r("GET", "/v1/calls", self.list_calls)
        r("GET", "/v1/calls/{uuid}", self.get_call)
        r("PUT", "/v1/calls/{uuid}", self.modify_call)
        r("PUT", "/v1/calls/{uuid}/talk", self.start_talk)
        r("DELETE", "/v1/calls/{uuid}/talk", self.stop_talk)
        r("PUT", "/v1/calls/{uuid}/stream", self.start_stream)
        r("DELETE", "/v1/calls/{uuid}/stream", self.stop_stream)
        r("PUT", "/v1/calls/{uuid}/dtmf", self.send_dtmf)
        r("PUT", "/v1/calls/{uuid}/input/dtmf", self.subscribe_dtmf)
        r("DELETE", "/v1/calls/{uuid}/input/dtmf", self.unsubscribe_dtmf)
        r("GET", "/v1/files/{file_id}", self.get_file)
        # Applications API v2
        r("GET", "/v2/applications", self.list_applications)
        r("POST", "/v2/applications", self.create_application)
        r("GET", "/v2/applications/{app_id}", self.get_application)
        r("PUT", "/v2/applications/{app_id}", self.update_application)
        r("DELETE", "/v2/applications/{app_id}", self.delete_application)
        # Numbers API
        r("GET", "/account/numbers", self.owned_numbers)
        r("GET", "/number/search", self.search_numbers)
        r("POST", "/number/buy", self.buy_number)
        r("POST", "/number/cancel", self.cancel_number)
        r("POST", "/number/update", self.update_number)
        # Control API of the simulated network
        r("GET", "/_sandbox/phones", self.list_phones)
        r("PUT", "/_sandbox/phones/{number}", self.set_phone)
        r("GET", "/_sandbox/phones/{number}", self.get_phone)
        r("DELETE", "/_sandbox/phones/{number}", self.delete_phone)
        r("PUT", "/_sandbox/users/{name}", self.set_user)
        r("GET", "/_sandbox/users/{name}", self.get_user)
        r("DELETE", "/_sandbox/users/{name}", self.delete_user)
        r("POST", "/_sandbox/calls", self.place_inbound)
        r("GET", "/_sandbox/calls", self.control_list_calls)
        r("GET", "/_sandbox/calls/{uuid}", self.control_get_call)
        r("POST", "/_sandbox/calls/{uuid}/script", self.control_run_script)
        r("GET", "/_sandbox/clock", self.get_clock)
        r("POST", "/_sandbox/clock", self.set_clock)
        r("POST", "/_sandbox/reset", self.reset)
        r("GET", "/_sandbox/limits", self.get_limits)
        r("PUT", "/_sandbox/limits", self.set_limits)

    # ------------------------------------------------------------------------------------------------------
    # auth helpers
    # ------------------------------------------------------------------------------------------------------
    def require_basic(self, request: Request) -> None:
        if not check_basic(request, self.config.api_key, self.config.api_secret):
            raise unauthorized()

    def require_numbers_auth(self, request: Request) -> None:
        if not check_basic(request, self.config.api_key, self.config.api_secret):
            raise numbers_error("401", "authentication failed", 401)

    def require_jwt(self, request: Request, *, create: bool = False) -> Application:
        """The application whose RS256 JWT signs this request, then the CPS/RPS limit; else 401/429."""
        token = bearer_token(request)
        app_id = unverified_application_id(token) if token else None
        app = self.network.apps.get(app_id) if app_id else None
        if token is None or app is None or not verify_application_jwt(token, app.public_key, app.id):
            raise unauthorized()
        if not self.network.limiter.allow("cps" if create else "rps", self.network.clock.monotonic()):
            raise rate_limited()
        return app

    def leg_of(self, app: Application, uuid: str) -> Leg:
        leg = self.network.legs.get(uuid)
        if leg is None or leg.app.id != app.id:
            record = self.network.records.get(uuid)
            if record is not None and record["application_id"] == app.id:
                raise bad_request([("uuid", "The call is not in progress")], "Call is not in progress")
            raise not_found(f"Call {uuid} doesn't exist.")
        return leg

    # ------------------------------------------------------------------------------------------------------
    # misc
    # ------------------------------------------------------------------------------------------------------
    async def index(self, request: Request) -> Response:
        return Response(
            200,
            {
                "name": "Vonage Voice API sandbox",
                "apis": ["/v1/calls", "/v2/applications", "/account/numbers", "/number/*", "/_sandbox/*"],
                "speed": self.network.clock.speed,
            },
        )

    async def health(self, request: Request) -> Response:
        live = sum(1 for leg in self.network.legs.values() if leg.is_live)
        return Response(200, {"status": "ok", "live_calls": live, "speed": self.network.clock.speed})

    # ------------------------------------------------------------------------------------------------------
    # Voice API
    # ------------------------------------------------------------------------------------------------------
    async def create_call(self, request: Request) -> Response:
        """POST /v1/calls: validate, create the leg (201 ``started``), ring it in the background."""
        app = self.require_jwt(request, create=True)
        leg = self._create(app, request.json_object(), require_from=False)
        return Response(
            201,
            {
                "uuid": leg.uuid,
                "status": "started",
                "direction": "outbound",
                "conversation_uuid": leg.conversation_uuid,
            },
        )

    async def create_call_v2(self, request: Request) -> Response:
        """POST /v2/calls (beta): the v1 body with ``from`` required; 202 with an empty object."""
        app = self.require_jwt(request, create=True)
        self._create(app, request.json_object(), require_from=True)
        return Response(202, {})

    def _create(self, app: Application, body: dict[str, Any], *, require_from: bool) -> Leg:
        errors = validate_create_call(body, app_has_event_url=app.hook("event_url") is not None)
        if require_from and body.get("from") is None:
            errors.append(("from", "Missing required parameter"))
        if errors:
            raise bad_request(errors)
        to = dict(body["to"][0])
        if to.get("type") == "phone":
            to["number"] = str(to["number"]).lstrip("+")
        if body.get("random_from_number"):
            number = self.network.random_number(app.id, endpoint_address(to))
            if number is None:
                raise bad_request([("random_from_number", "No number is linked to this application")])
            from_ = {"type": "phone", "number": number}
        else:
            from_ = {"type": "phone", "number": str(body["from"]["number"]).lstrip("+")}
        event_hook = app.hook("event_url")
        if "event_url" in body:
            event_hook = app.timeouts("event_url").with_url(body["event_url"][0], body.get("event_method", "POST"))
        answer_hook = None
        if "answer_url" in body:
            answer_hook = app.timeouts("answer_url").with_url(body["answer_url"][0], body.get("answer_method", "GET"))
        leg = self.network.new_leg(
            app=app,
            direction="outbound",
            to=to,
            from_=from_,
            event_hook=event_hook,
            fallback_hook=app.hook("fallback_answer_url"),
        )
        leg.ringing_timer = float(body.get("ringing_timer", 60))
        if "length_timer" in body:
            leg.length_timer = float(body["length_timer"])
        if "advanced_machine_detection" in body:
            leg.machine_detection = dict(body["advanced_machine_detection"])
        elif "machine_detection" in body:
            leg.machine_detection = {"behavior": body["machine_detection"]}
        leg.lifecycle = leg.spawn(self.network.place_outbound(leg, ncco=body.get("ncco"), answer_hook=answer_hook))
        return leg

    @staticmethod
    def call_object(record: dict[str, Any]) -> dict[str, Any]:
        """A leg as GET /v1/calls shows it; billing fields only once completed."""

        def endpoint(ep: dict[str, Any]) -> dict[str, Any]:
            keep = {"type", "number", "uri", "user", "extension", "content-type"}
            return {k: v for k, v in ep.items() if k in keep}

        out: dict[str, Any] = {
            "_links": {"self": {"href": f"/v1/calls/{record['uuid']}"}},
            "uuid": record["uuid"],
            "conversation_uuid": record["conversation_uuid"],
            "to": endpoint(record["to_endpoint"]),
            "from": endpoint(record["from_endpoint"]),
            "status": record["status"],
            "direction": record["direction"],
        }
        if record["status"] == "completed":
            for key in ("rate", "price", "duration", "start_time", "end_time", "network"):
                out[key] = record.get(key)
            out["start_time"] = out["start_time"] or record["created"]
        return out

    async def list_calls(self, request: Request) -> Response:
        """GET /v1/calls: the application's legs with Vonage's filters and HAL paging."""
        app = self.require_jwt(request)
        errors: Invalid = []
        status = request.arg("status")
        if status is not None and status not in CALL_STATUSES:
            errors.append(("status", "Invalid status"))
        page_size = _int_arg(request, "page_size", 10, 1, 100, errors)
        record_index = _int_arg(request, "record_index", 0, 0, None, errors)
        order = request.arg("order") or "asc"
        if order not in ("asc", "desc"):
            errors.append(("order", "Must be one of: asc, desc"))
        date_start = _date_arg(request, "date_start", errors)
        date_end = _date_arg(request, "date_end", errors)
        if errors:
            raise bad_request(errors)
        conversation_uuid = request.arg("conversation_uuid")
        records = [r for r in self.network.all_records() if r["application_id"] == app.id]
        if status:
            records = [r for r in records if r["status"] == status]
        if conversation_uuid:
            records = [r for r in records if r["conversation_uuid"] == conversation_uuid]
        if date_start:
            records = [r for r in records if r["created"] >= date_start]
        if date_end:
            records = [r for r in records if r["created"] <= date_end]
        if order == "desc":
            records.reverse()
        count = len(records)
        page = records[record_index : record_index + page_size]
        filters = {
            k: v
            for k, v in (
                ("status", status),
                ("date_start", request.arg("date_start")),
                ("date_end", request.arg("date_end")),
                ("conversation_uuid", conversation_uuid),
                ("order", request.arg("order")),
            )
            if v
        }

        def href(index: int) -> dict[str, str]:
            params = {**filters, "page_size": page_size}
            if index:
                params["record_index"] = index
            return {"href": "/v1/calls?" + urlencode(params)}

        last_index = max(0, ((count - 1) // page_size) * page_size) if count else 0
        links: dict[str, Any] = {"self": href(record_index), "first": href(0), "last": href(last_index)}
        if record_index + page_size < count:
            links["next"] = href(record_index + page_size)
        if record_index > 0:
            links["prev"] = href(max(0, record_index - page_size))
        return Response(
            200,
            {
                "count": count,
                "page_size": page_size,
                "record_index": record_index,
                "_links": links,
                "_embedded": {"calls": [self.call_object(r) for r in page]},
            },
        )

    async def get_call(self, request: Request) -> Response:
        app = self.require_jwt(request)
        uuid = request.params["uuid"]
        record = self.network.leg_record(uuid)
        if record is None or record["application_id"] != app.id:
            raise not_found(f"Call {uuid} doesn't exist.")
        return Response(200, self.call_object(record))

    async def modify_call(self, request: Request) -> Response:
        """PUT /v1/calls/{uuid}: hangup, mute, unmute, earmuff, unearmuff, transfer (204)."""
        app = self.require_jwt(request)
        leg = self.leg_of(app, request.params["uuid"])
        body = request.json_object()
        errors = validate_modify(body)
        if errors:
            raise bad_request(errors)
        if not leg.is_live:
            # UNVERIFIED: Vonage answers a modification of a finished leg with a 400.
            raise bad_request([("uuid", "The call is not in progress")], "Call is not in progress")
        action = body["action"]
        if action == "hangup":
            await leg.end(by="platform")
        elif action in ("mute", "unmute", "earmuff", "unearmuff"):
            if action in ("mute", "unmute"):
                leg.muted = action == "mute"
            else:
                leg.earmuffed = action == "earmuff"
            leg.touch()
            if leg.conversation is not None:
                self.network.media.conversation_changed(leg.conversation)
        else:
            if not leg.answered.is_set():
                raise bad_request([("uuid", "The call is not answered")], "Call is not in an answered state")
            destination = body["destination"]
            if "ncco" in destination:
                await self.network.transfer(leg, destination["ncco"])
            else:
                leg.spawn(self.network.transfer_to_url(leg, destination["url"][0]))
        return Response(204)

    def answered_leg(self, request: Request) -> Leg:
        app = self.require_jwt(request)
        leg = self.leg_of(app, request.params["uuid"])
        if not leg.is_live or not leg.answered.is_set():
            # Talk/stream/DTMF into a leg that is not answered (yet, or any more) is a 400 at Vonage.
            raise bad_request([("uuid", "The call is not answered")], "Call is not in an answered state")
        return leg

    async def start_talk(self, request: Request) -> Response:
        leg = self.answered_leg(request)
        body = request.json_object()
        errors = validate_talk(body)
        if errors:
            raise bad_request(errors)
        if leg.rest_talk is not None:
            leg.rest_talk.cancel()
        leg.rest_talk = leg.spawn(
            self.network.media.talk(
                leg,
                text=body["text"],
                language=str(body.get("language") or "en-US"),
                style=int(body.get("style") or 0),
                level=float(body.get("level") or 0),
                loop=int(body.get("loop", 1)),
            )
        )
        return Response(200, {"message": "Talk started", "uuid": leg.uuid})

    async def stop_talk(self, request: Request) -> Response:
        leg = self.answered_leg(request)
        if leg.rest_talk is not None:
            leg.rest_talk.cancel()
            leg.rest_talk = None
        return Response(200, {"message": "Talk stopped", "uuid": leg.uuid})

    async def start_stream(self, request: Request) -> Response:
        leg = self.answered_leg(request)
        body = request.json_object()
        errors = validate_stream(body)
        if errors:
            raise bad_request(errors)
        if leg.rest_stream is not None:
            leg.rest_stream.cancel()
        leg.rest_stream = leg.spawn(
            self.network.media.stream(
                leg, url=body["stream_url"][0], level=float(body.get("level") or 0), loop=int(body.get("loop", 1))
            )
        )
        return Response(200, {"message": "Stream started", "uuid": leg.uuid})

    async def stop_stream(self, request: Request) -> Response:
        leg = self.answered_leg(request)
        if leg.rest_stream is not None:
            leg.rest_stream.cancel()
            leg.rest_stream = None
        return Response(200, {"message": "Stream stopped", "uuid": leg.uuid})

    async def send_dtmf(self, request: Request) -> Response:
        leg = self.answered_leg(request)
        body = request.json_object()
        errors = validate_dtmf(body)
        if errors:
            raise bad_request(errors)
        leg.spawn(self.network.media.dtmf_into(leg, body["digits"]))
        return Response(200, {"message": "DTMF sent", "uuid": leg.uuid})

    async def subscribe_dtmf(self, request: Request) -> Response:
        leg = self.answered_leg(request)
        body = request.json_object()
        errors: Invalid = []
        c = Checker(body, "", errors)
        c.required("event_url")
        c.url_array("event_url")
        if errors:
            raise bad_request(errors)
        if leg.async_input_hook is None:
            raise bad_request(
                [("uuid", "No asynchronous input action is running on this call")], "Incompatible call state"
            )
        leg.dtmf_listener = leg.app.timeouts("event_url").with_url(body["event_url"][0], "POST")
        return Response(200, {"message": "DTMF listener registered", "uuid": leg.uuid})

    async def unsubscribe_dtmf(self, request: Request) -> Response:
        leg = self.answered_leg(request)
        leg.dtmf_listener = None
        return Response(200, {"message": "DTMF listener removed", "uuid": leg.uuid})

    async def get_file(self, request: Request) -> Response:
        """GET /v1/files/{id}: a recording, only for a JWT of the application that made it."""
        app = self.require_jwt(request)
        found = self.network.load_recording(request.params["file_id"])
        if found is None:
            raise not_found(f"File {request.params['file_id']} doesn't exist.")
        if found[0] != app.id:
            # Vonage answers a JWT of another application with 401, as if no credentials were given.
            raise unauthorized()
        return Response(200, found[1], content_type=found[2])

    # ------------------------------------------------------------------------------------------------------
    # Applications API v2
    # ------------------------------------------------------------------------------------------------------
    def _app_error(self, errors: Invalid) -> ApiError:
        return bad_request(errors, type_=f"{APP_ERRORS}#payload-validation")

    def _normalise_application(self, body: dict[str, Any], app_id: str, existing: Application | None) -> dict[str, Any]:
        errors: Invalid = []
        c = Checker(body, "", errors)
        c.required("name")
        c.string("name", max_length=200)
        keys = c.obj("keys") or {}
        public_key = keys.get("public_key")
        if public_key is not None and (not isinstance(public_key, str) or not public_key_is_valid(public_key)):
            errors.append(("keys.public_key", "Must be a PEM encoded RSA public key"))
        capabilities = c.obj("capabilities") or {}
        voice_in = capabilities.get("voice")
        voice_out: dict[str, Any] | None = None
        if voice_in is not None:
            if not isinstance(voice_in, dict):
                errors.append(("capabilities.voice", TYPE_REASON))
            else:
                voice_out = self._normalise_voice(voice_in, errors)
        privacy = c.obj("privacy") or {}
        if "improve_ai" in privacy and not isinstance(privacy["improve_ai"], bool):
            errors.append(("privacy.improve_ai", TYPE_REASON))
        if errors:
            raise self._app_error(errors)
        data: dict[str, Any] = {"id": app_id, "name": body["name"]}
        if public_key is None and existing is not None:
            public_key = existing.public_key
        data["keys"] = {"public_key": public_key}
        data["privacy"] = {"improve_ai": privacy.get("improve_ai", True)}
        caps: dict[str, Any] = {k: v for k, v in capabilities.items() if k != "voice" and isinstance(v, dict)}
        if voice_out is not None:
            caps["voice"] = voice_out
        data["capabilities"] = caps
        data["_links"] = {"self": {"href": f"/v2/applications/{app_id}"}}
        return data

    def _normalise_voice(self, voice: dict[str, Any], errors: Invalid) -> dict[str, Any]:
        out: dict[str, Any] = {}
        webhooks_in = voice.get("webhooks") or {}
        if not isinstance(webhooks_in, dict):
            errors.append(("capabilities.voice.webhooks", TYPE_REASON))
            webhooks_in = {}
        webhooks: dict[str, Any] = {}
        for name, (default_method, max_socket) in WEBHOOK_LIMITS.items():
            hook = webhooks_in.get(name)
            if hook is None:
                continue
            prefix = f"capabilities.voice.webhooks.{name}."
            if not isinstance(hook, dict):
                errors.append((prefix.rstrip("."), TYPE_REASON))
                continue
            hc = Checker(hook, prefix, errors)
            hc.required("address")
            hc.string("address", pattern=URL_RE)
            hc.enum("http_method", {"GET", "POST"})
            # Vonage renamed connection_timeout to connect_timeout; both are accepted, the new one emitted.
            connect = hook.get("connect_timeout", hook.get("connection_timeout"))
            hc.integer("connect_timeout", 300, 1000)
            hc.integer("connection_timeout", 300, 1000)
            hc.integer("socket_timeout", 1000, max_socket)
            webhooks[name] = {
                "address": hook.get("address"),
                "http_method": hook.get("http_method", default_method),
                "connect_timeout": connect if connect is not None else 1000,
                "socket_timeout": hook.get("socket_timeout", max_socket),
            }
        out["webhooks"] = webhooks
        vc = Checker(voice, "capabilities.voice.", errors)
        vc.boolean("signed_callbacks")
        vc.integer("conversations_ttl", 1, 9000)
        vc.integer("leg_persistence_time", 1, 31)
        vc.enum("region", REGIONS)
        out["signed_callbacks"] = voice.get("signed_callbacks", True)
        out["conversations_ttl"] = voice.get("conversations_ttl", 48)
        out["leg_persistence_time"] = voice.get("leg_persistence_time", 7)
        if "region" in voice:
            out["region"] = voice["region"]
        return out

    def _application(self, request: Request) -> Application:
        self.require_basic(request)
        app = self.network.apps.get(request.params["app_id"])
        if app is None:
            raise ApiError(
                404,
                "Not Found",
                f"Application {request.params['app_id']} could not be found",
                type_=f"{APP_ERRORS}#not-found",
            )
        return app

    async def create_application(self, request: Request) -> Response:
        """POST /v2/applications: generates a key pair unless a public key is given (private key shown once)."""
        self.require_basic(request)
        body = request.json_object()
        app_id = str(uuidlib.uuid4())
        data = self._normalise_application(body, app_id, None)
        private_key = None
        if not data["keys"]["public_key"]:
            private_key, data["keys"]["public_key"] = generate_key_pair()
        app = Application(data, datetime.now().timestamp())
        self.network.apps[app_id] = app
        self.network.store.save_application(app.created, data)
        shown = dict(data, keys=dict(data["keys"]))
        if private_key:
            shown["keys"]["private_key"] = private_key
        return Response(201, shown)

    async def list_applications(self, request: Request) -> Response:
        self.require_basic(request)
        errors: Invalid = []
        page_size = _int_arg(request, "page_size", 10, 1, 100, errors)
        page = _int_arg(request, "page", 1, 1, None, errors)
        if errors:
            raise bad_request(errors, type_=f"{APP_ERRORS}#list-validation")
        apps = sorted(self.network.apps.values(), key=lambda a: (a.created, a.id))
        total = len(apps)
        total_pages = max(1, math.ceil(total / page_size))
        chunk = apps[(page - 1) * page_size : page * page_size]

        def href(p: int) -> dict[str, str]:
            return {"href": f"/v2/applications?page_size={page_size}&page={p}"}

        links = {"self": href(page), "first": href(1), "last": href(total_pages)}
        if page < total_pages:
            links["next"] = href(page + 1)
        if page > 1:
            links["prev"] = href(page - 1)
        return Response(
            200,
            {
                "page_size": page_size,
                "page": page,
                "total_items": total,
                "total_pages": total_pages,
                "_embedded": {"applications": [a.data for a in chunk]},
                "_links": links,
            },
        )

    async def get_application(self, request: Request) -> Response:
        return Response(200, self._application(request).data)

    async def update_application(self, request: Request) -> Response:
        app = self._application(request)
        body = request.json_object()
        app.data = self._normalise_application(body, app.id, app)
        self.network.store.save_application(app.created, app.data)
        return Response(200, app.data)

    async def delete_application(self, request: Request) -> Response:
        app = self._application(request)
        del self.network.apps[app.id]
        self.network.store.delete_application(app.id)
        for msisdn, number in self.network.numbers.items():
            if number.get("app_id") == app.id:
                number.pop("app_id", None)
                number.pop("voiceCallbackType", None)
                number.pop("voiceCallbackValue", None)
                self.network.store.save_number(self.network.numbers[msisdn])
        return Response(204)

    # ------------------------------------------------------------------------------------------------------
    # Numbers API
    # ------------------------------------------------------------------------------------------------------
    async def owned_numbers(self, request: Request) -> Response:
        self.require_numbers_auth(request)
        form = request.form()
        numbers = list(self.network.numbers.values())
        if form.get("application_id"):
            numbers = [n for n in numbers if n.get("app_id") == form["application_id"]]
        has_application = (form.get("has_application") or "").lower()
        if has_application in ("true", "false"):
            wanted = has_application == "true"
            numbers = [n for n in numbers if bool(n.get("app_id")) == wanted]
        if form.get("country"):
            numbers = [n for n in numbers if n.get("country") == form["country"].upper()]
        numbers = _pattern_filter(numbers, form)
        size, index = _paging(form)
        page = numbers[(index - 1) * size : index * size]
        return Response(200, {"count": len(numbers), "numbers": page})

    async def search_numbers(self, request: Request) -> Response:
        self.require_numbers_auth(request)
        form = request.form()
        country = (form.get("country") or "").upper()
        if country not in COUNTRY_CODES:
            raise (
                numbers_error("420", "Invalid country", 420)
                if country
                else numbers_error("420", "Missing country", 420)
            )
        kind = form.get("type")
        kinds = [kind] if kind else ["mobile-lvn", "landline"]
        features = [f for f in (form.get("features") or "VOICE,SMS").split(",") if f]
        candidates = []
        for k in kinds:
            prefix = NUMBER_RANGES.get((country, k)) or (COUNTRY_CODES[country] + {"landline": "55501"}.get(k, "55502"))
            width = max(0, 12 - len(prefix)) if country != "US" else 11 - len(prefix)
            width = max(width, 3)
            for i in range(100):
                msisdn = prefix + str(i).zfill(width)
                if msisdn not in self.network.numbers:
                    candidates.append(
                        {"country": country, "msisdn": msisdn, "type": k, "cost": "1.25", "features": features}
                    )
        candidates = _pattern_filter(candidates, form)
        size, index = _paging(form)
        return Response(200, {"count": len(candidates), "numbers": candidates[(index - 1) * size : index * size]})

    async def buy_number(self, request: Request) -> Response:
        self.require_numbers_auth(request)
        form = request.form()
        country, msisdn = (form.get("country") or "").upper(), (form.get("msisdn") or "").lstrip("+")
        if not re.fullmatch(r"[A-Z]{2}", country) or not re.fullmatch(r"\d{7,15}", msisdn):
            raise numbers_error("420", "Invalid parameters", 420)
        if msisdn in self.network.numbers:
            raise numbers_error("420", "method failed", 420)
        number = {
            "country": country,
            "msisdn": msisdn,
            "type": "mobile-lvn",
            "features": ["VOICE", "SMS"],
        }
        self.network.numbers[msisdn] = number
        self.network.store.save_number(number)
        return Response(200, {"error-code": "200", "error-code-label": "success"})

    async def cancel_number(self, request: Request) -> Response:
        self.require_numbers_auth(request)
        form = request.form()
        msisdn = (form.get("msisdn") or "").lstrip("+")
        if msisdn not in self.network.numbers:
            raise numbers_error("420", "method failed", 420)
        del self.network.numbers[msisdn]
        self.network.store.delete_number(msisdn)
        return Response(200, {"error-code": "200", "error-code-label": "success"})

    async def update_number(self, request: Request) -> Response:
        """POST /number/update: links a number to an application (``app_id``) and sets its callbacks."""
        self.require_numbers_auth(request)
        form = request.form()
        msisdn = (form.get("msisdn") or "").lstrip("+")
        number = self.network.numbers.get(msisdn)
        if number is None or (form.get("country") and form["country"].upper() != number["country"]):
            raise numbers_error("420", "method failed", 420)
        app_id = form.get("app_id") or form.get("applicationId")
        if app_id and app_id not in self.network.apps:
            raise numbers_error("420", "method failed", 420)
        updated = dict(number)
        if app_id:
            updated["app_id"] = app_id
            updated["messagesCallbackType"] = "app"
            updated["messagesCallbackValue"] = app_id
            updated["voiceCallbackType"] = "app"
            updated["voiceCallbackValue"] = app_id
        for key in ("voiceCallbackType", "voiceCallbackValue", "voiceStatusCallback", "moHttpUrl"):
            if form.get(key):
                updated[key] = form[key]
        self.network.numbers[msisdn] = updated
        self.network.store.save_number(updated)
        return Response(200, {"error-code": "200", "error-code-label": "success"})

    # ------------------------------------------------------------------------------------------------------
    # Control API
    # ------------------------------------------------------------------------------------------------------
    @staticmethod
    def _behaviour(body: dict[str, Any]) -> dict[str, Any]:
        errors: Invalid = []
        c = Checker(body, "", errors)
        c.enum("on_ring", ON_RING)
        c.integer("rings", 0, 100)
        c.boolean("machine")
        script = body.get("script", [])
        errors.extend(_script_problems(script))
        if errors:
            raise bad_request(errors)
        return {
            "on_ring": body.get("on_ring", "answer"),
            "rings": body.get("rings", 1),
            "machine": body.get("machine", False),
            "script": script,
        }

    async def list_phones(self, request: Request) -> Response:
        self.require_basic(request)
        phones = {k: v for k, v in self.network.parties.items() if not k.startswith("user:")}
        return Response(200, {"phones": phones})

    async def set_phone(self, request: Request) -> Response:
        """PUT /_sandbox/phones/{number}: how a number behaves when called."""
        self.require_basic(request)
        behaviour = self._behaviour(request.json_object())
        key = request.params["number"].lstrip("+")
        self.network.set_party(key, behaviour)
        return Response(200, {"number": key, **behaviour})

    async def get_phone(self, request: Request) -> Response:
        self.require_basic(request)
        key = request.params["number"].lstrip("+")
        behaviour = self.network.parties.get(key) or {"on_ring": "answer", "rings": 1, "machine": False, "script": []}
        return Response(200, {"number": key, **behaviour})

    async def delete_phone(self, request: Request) -> Response:
        self.require_basic(request)
        key = request.params["number"].lstrip("+")
        self.network.parties.pop(key, None)
        self.network.store.kv_delete("party:" + key)
        return Response(204)

    async def set_user(self, request: Request) -> Response:
        """PUT /_sandbox/users/{name}: how an app user (the ``app`` endpoint) behaves when called."""
        self.require_basic(request)
        behaviour = self._behaviour(request.json_object())
        self.network.set_party("user:" + request.params["name"], behaviour)
        return Response(200, {"user": request.params["name"], **behaviour})

    async def get_user(self, request: Request) -> Response:
        self.require_basic(request)
        behaviour = self.network.parties.get("user:" + request.params["name"]) or {
            "on_ring": "answer",
            "rings": 1,
            "machine": False,
            "script": [],
        }
        return Response(200, {"user": request.params["name"], **behaviour})

    async def delete_user(self, request: Request) -> Response:
        self.require_basic(request)
        self.network.parties.pop("user:" + request.params["name"], None)
        self.network.store.kv_delete("party:user:" + request.params["name"])
        return Response(204)

    async def place_inbound(self, request: Request) -> Response:
        """POST /_sandbox/calls: a call from the network (``from`` or an app user ``from_user``) to a number."""
        self.require_basic(request)
        body = request.json_object()
        errors: Invalid = []
        c = Checker(body, "", errors)
        c.required("to")
        c.string("to")
        c.string("from")
        c.string("from_user")
        if ("from" in body) == ("from_user" in body):
            errors.append(("from", "Exactly one of from and from_user is required"))
        c.obj("custom_data")
        errors.extend(_script_problems(body.get("script", [])))
        if errors:
            raise bad_request(errors)
        to_number = str(body["to"]).lstrip("+")
        number = self.network.numbers.get(to_number)
        app = self.network.apps.get(number.get("app_id", "")) if number else None
        if app is None:
            raise not_found(f"Number {to_number} is not linked to an application of this account")
        if "from_user" in body:
            from_: dict[str, Any] = {"type": "app", "user": body["from_user"]}
            if "custom_data" in body:
                from_["custom_data"] = body["custom_data"]
        else:
            from_ = {"type": "phone", "number": str(body["from"]).lstrip("+")}
        leg = self.network.new_leg(
            app=app,
            direction="inbound",
            to={"type": "phone", "number": to_number},
            from_=from_,
            event_hook=app.hook("event_url"),
            fallback_hook=app.hook("fallback_answer_url"),
        )
        leg.behaviour = {"script": body.get("script", [])}
        leg.lifecycle = leg.spawn(self.network.receive_inbound(leg))
        return Response(201, {"uuid": leg.uuid, "conversation_uuid": leg.conversation_uuid})

    async def control_get_call(self, request: Request) -> Response:
        """GET /_sandbox/calls/{uuid}: the leg with what it heard and the webhooks sent for it."""
        self.require_basic(request)
        record = self.network.leg_record(request.params["uuid"])
        if record is None:
            raise not_found(f"Call {request.params['uuid']} doesn't exist.")
        leg = self.network.legs.get(record["uuid"])
        if leg is not None and leg.conversation is not None:
            record["conversation"] = {
                "uuid": leg.conversation.uuid,
                "name": leg.conversation.name,
                "started": leg.conversation.started,
                "members": sorted(leg.conversation.members),
            }
        record["listening"] = bool(leg is not None and leg.input_session is not None)
        return Response(200, record)

    async def control_list_calls(self, request: Request) -> Response:
        self.require_basic(request)
        records = self.network.all_records()
        status = request.arg("status")
        if status == "live":
            records = [r for r in records if r["status"] not in TERMINAL]
        elif status:
            records = [r for r in records if r["status"] == status]
        summary = [
            {k: r[k] for k in ("uuid", "conversation_uuid", "status", "direction", "from", "to")} for r in records
        ]
        return Response(200, {"count": len(summary), "calls": summary})

    async def control_run_script(self, request: Request) -> Response:
        """POST /_sandbox/calls/{uuid}/script: the party on a live leg does these steps now."""
        self.require_basic(request)
        leg = self.network.legs.get(request.params["uuid"])
        if leg is None:
            raise not_found(f"Call {request.params['uuid']} doesn't exist.")
        body = request.json_object()
        problems = _script_problems(body.get("script"))
        if problems:
            raise bad_request(problems)
        if not leg.is_live:
            raise bad_request([("uuid", "The call is not in progress")], "Call is not in progress")
        leg.spawn(self.network.run_script(leg, body["script"]))
        return Response(202, {"uuid": leg.uuid, "steps": len(body["script"])})

    async def get_clock(self, request: Request) -> Response:
        self.require_basic(request)
        return Response(200, {"speed": self.network.clock.speed})

    async def set_clock(self, request: Request) -> Response:
        """POST /_sandbox/clock {"speed": N}: rescale simulated time, including sleeps in progress."""
        self.require_basic(request)
        body = request.json_object()
        errors: Invalid = []
        Checker(body, "", errors).required("speed")
        Checker(body, "", errors).number("speed", 0.01, 1000)
        if errors:
            raise bad_request(errors)
        self.network.clock.set_speed(float(body["speed"]))
        return Response(200, {"speed": self.network.clock.speed})

    async def reset(self, request: Request) -> Response:
        """POST /_sandbox/reset: hang up live calls, forget call records and scripts (``{"all": true}``:
        applications and numbers too). For test suites sharing one sandbox."""
        self.require_basic(request)
        body = request.json_object() if request.body else {}
        everything = body.get("all") is True
        network = self.network
        live = [leg for leg in network.legs.values() if leg.is_live]
        for leg in live:
            await leg.end(by="platform")
        network.flush()
        network.legs.clear()
        network.records.clear()
        network.dirty.clear()
        network.store.db.execute("DELETE FROM legs")
        for key in list(network.parties):
            network.store.kv_delete("party:" + key)
        network.parties.clear()
        if everything:
            for app_id in list(network.apps):
                network.store.delete_application(app_id)
            for msisdn in list(network.numbers):
                network.store.delete_number(msisdn)
            network.apps.clear()
            network.numbers.clear()
        return Response(200, {"hung_up": len(live), "applications": len(network.apps), "numbers": len(network.numbers)})

    async def get_limits(self, request: Request) -> Response:
        self.require_basic(request)
        return Response(200, {"cps": self.network.limiter.cps, "rps": self.network.limiter.rps})

    async def set_limits(self, request: Request) -> Response:
        """PUT /_sandbox/limits {"cps": N, "rps": M}: change the Voice API rate limits."""
        self.require_basic(request)
        body = request.json_object()
        errors: Invalid = []
        c = Checker(body, "", errors)
        c.number("cps", 0.001, 1_000_000)
        c.number("rps", 0.001, 1_000_000)
        if errors:
            raise bad_request(errors)
        if "cps" in body:
            self.network.limiter.cps = float(body["cps"])
        if "rps" in body:
            self.network.limiter.rps = float(body["rps"])
        return Response(200, {"cps": self.network.limiter.cps, "rps": self.network.limiter.rps})


def _script_problems(script: Any) -> Invalid:
    if not isinstance(script, list):
        return [("script", "Must be an array of steps")]
    problems: Invalid = []
    for index, step in enumerate(script):
        name = f"script[{index}]"
        if not isinstance(step, dict) or len(step.keys() & SCRIPT_KEYS) != 1:
            problems.append((name, "Each step is one of wait, dtmf, say, hangup, wait_for"))
            continue
        if "wait" in step and (isinstance(step["wait"], bool) or not isinstance(step["wait"], int | float)):
            problems.append((f"{name}.wait", TYPE_REASON))
        elif "wait" in step and not 0 <= step["wait"] <= 86400:
            problems.append((f"{name}.wait", "Must be between 0 and 86400"))
        if "dtmf" in step and (not isinstance(step["dtmf"], str) or not re.fullmatch(r"[0-9*#p]+", step["dtmf"])):
            problems.append((f"{name}.dtmf", "Digits 0-9, *, # and p only"))
        if "say" in step and (not isinstance(step["say"], str) or not step["say"].strip()):
            problems.append((f"{name}.say", TYPE_REASON))
        if "hangup" in step and not isinstance(step["hangup"], bool):
            problems.append((f"{name}.hangup", TYPE_REASON))
        if "wait_for" in step and step["wait_for"] not in ("input", "conversation"):
            problems.append((f"{name}.wait_for", "Must be one of: conversation, input"))
    return problems


def _int_arg(request: Request, name: str, default: int, low: int, high: int | None, errors: Invalid) -> int:
    raw = request.arg(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        errors.append((name, TYPE_REASON))
        return default
    if value < low or (high is not None and value > high):
        errors.append((name, f"Must be between {low} and {high}"))
        return default
    return value


def _date_arg(request: Request, name: str, errors: Invalid) -> str | None:
    raw = request.arg(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        errors.append((name, "Must be an ISO 8601 date-time"))
        return None
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _pattern_filter(numbers: list[dict[str, Any]], form: dict[str, str]) -> list[dict[str, Any]]:
    pattern = form.get("pattern")
    if not pattern:
        return numbers
    mode = form.get("search_pattern", "0")
    if mode == "1":
        return [n for n in numbers if pattern in n["msisdn"]]
    if mode == "2":
        return [n for n in numbers if n["msisdn"].endswith(pattern)]
    return [n for n in numbers if n["msisdn"].startswith(pattern)]


def _paging(form: dict[str, str]) -> tuple[int, int]:
    try:
        size = min(100, max(1, int(form.get("size", 10))))
        index = max(1, int(form.get("index", 1)))
    except ValueError:
        raise numbers_error("420", "Invalid parameters", 420) from None
    return size, index


__all__ = ["ERRORS_BASE", "Api", "Hook"]
