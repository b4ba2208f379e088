"""The HTTP face of the emulator: the ECS RPC protocol on ``/`` and the admin routes under ``/_emulator/``.

The world is single-threaded. Every call into it happens synchronously on the event loop thread, so
concurrent requests interleave only between world calls and no update is ever lost; the only awaits in
a request are the injected latencies, which is why concurrent requests overlap their delays.
"""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol
from urllib.parse import parse_qsl

from aiohttp import web

from .auth import Authenticator, SignedRequest, claimed_key_id
from .calls import CallLog, request_params
from .clock import VirtualClock
from .errors import ApiError, missing_parameter
from .faults import FAULT_ERRORS, DropConnection, FaultInjector, validate_plan

API_VERSION = "2014-05-26"
ADMIN_PREFIX = "/_emulator"
# More fields than any ECS operation takes (100 ids x a few attributes); bounds the parsing work.
MAX_FIELDS = 2000
JSON_CONTENT_TYPE = "application/json"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

INTERNAL_ERROR = ApiError(500, "InternalError", "The request processing has failed due to some unknown error.")
MALFORMED_REQUEST = ApiError(400, "InvalidParameter", "The request is malformed: it is not valid UTF-8 percent-encoded form data.")


class World(Protocol):
    """What the server needs from ``ecs_emulator.world.World``."""

    ACTIONS: frozenset[str]

    def is_write(self, action: str) -> bool: ...
    def call(self, action: str, params: dict[str, str]) -> dict[str, Any]: ...
    def load_fleet(self, fleet: dict[str, Any] | str) -> Any: ...
    def reset(self) -> None: ...
    def state(self, region: str | None = None) -> dict[str, Any]: ...
    def configure(self, **settings: Any) -> None: ...
    def advance(self, seconds: float) -> None: ...
    def close(self) -> None: ...


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def log_traceback(context: str) -> None:
    print(f"ecs-emulator: {context}\n{traceback.format_exc()}", file=sys.stderr, flush=True)


def json_response(body: Any, status: int = 200, request_id: str = "") -> web.Response:
    headers = {"x-acs-request-id": request_id} if request_id else None
    return web.Response(body=json.dumps(body).encode(), status=status, content_type=JSON_CONTENT_TYPE, headers=headers)


def error_response(error: ApiError, request_id: str, host: str) -> web.Response:
    body = {
        "RequestId": request_id,
        "HostId": host,
        "Code": error.code,
        "Message": error.message,
        "Recommend": error.recommend or f"https://api.aliyun.com/troubleshoot?q={error.code}&product=Ecs",
    }
    return json_response(body, error.status, request_id)


def decode_pairs(text: str) -> list[tuple[str, str]]:
    """Form-decode a query string or body; MALFORMED_REQUEST when it is not UTF-8 or has too many fields."""
    try:
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeError, ValueError):
        raise MALFORMED_REQUEST from None


@dataclass
class Exchange:
    """One API request as far as it got: what the call log records whatever the outcome."""

    request_id: str
    host: str
    action: str = ""
    params: dict[str, str] = field(default_factory=dict)
    access_key_id: str = ""
    reached_world: bool = False


class EmulatorServer:
    def __init__(
        self,
        world: World,
        clock: VirtualClock,
        authenticator: Authenticator,
        faults: FaultInjector,
        latency_ms: float = 0.0,
    ) -> None:
        self.world = world
        self.clock = clock
        self.authenticator = authenticator
        self.faults = faults
        self.latency_ms = latency_ms
        self.calls = CallLog()
        # Asked once: the set of operations is fixed when the world is built, and every request needs it.
        self.actions = frozenset(world.ACTIONS)
        self.write_actions = frozenset(action for action in self.actions if world.is_write(action))

    # ----- the ECS API -------------------------------------------------------------------------

    async def handle_api(self, request: web.Request) -> web.StreamResponse:
        exchange = Exchange(new_request_id(), request.headers.get("Host", ""))
        code = ""
        try:
            response = await self._answer(request, exchange)
        except ApiError as error:
            code = error.code
            response = error_response(error, exchange.request_id, exchange.host)
        except DropConnection:
            self._record(exchange, 0, "ConnectionDropped")
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError from None
        except Exception:  # noqa: BLE001 - the last resort: a world bug must not kill the server
            log_traceback(f"{exchange.action or 'request'} {exchange.request_id} failed")
            code = INTERNAL_ERROR.code
            response = error_response(INTERNAL_ERROR, exchange.request_id, exchange.host)
        self._record(exchange, response.status, code)
        return response

    async def _answer(self, request: web.Request, exchange: Exchange) -> web.Response:
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        signed = await self._read_request(request)
        params = dict(signed.query)
        params.update(signed.form)
        exchange.params = params
        headers = request.headers
        exchange.action = params.get("Action") or headers.get("x-acs-action") or ""
        exchange.access_key_id = claimed_key_id(signed, params)
        try:
            key = self.authenticator.authenticate(signed, params)
        except UnicodeError:
            raise MALFORMED_REQUEST from None
        exchange.access_key_id = key.id
        action = exchange.action
        if not action:
            raise missing_parameter("Action")
        version = params.get("Version") or headers.get("x-acs-version") or ""
        if version != API_VERSION:
            raise ApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        if action not in self.actions:
            raise ApiError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        await self._apply_faults(action)
        exchange.reached_world = True
        result = self.world.call(action, request_params(params))
        return json_response({"RequestId": exchange.request_id, **result}, request_id=exchange.request_id)

    async def _apply_faults(self, action: str) -> None:
        latency_ms = self.faults.latency_ms(action)
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)
        outcome = self.faults.decide(action)
        if outcome == "drop":
            raise DropConnection()
        if outcome:
            raise FAULT_ERRORS[outcome]

    @staticmethod
    async def _read_request(request: web.Request) -> SignedRequest:
        query = decode_pairs(request.rel_url.raw_query_string)
        body = b""
        form: list[tuple[str, str]] = []
        if request.can_read_body:
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                raise ApiError(413, "RequestEntityTooLarge", "The request body is too large.") from None
            if body and request.content_type == FORM_CONTENT_TYPE:
                try:
                    form = decode_pairs(body.decode("utf-8"))
                except UnicodeError:
                    raise MALFORMED_REQUEST from None
        return SignedRequest(request.method, request.rel_url.raw_path, query, form, request.headers, body)

    def _record(self, exchange: Exchange, status: int, code: str) -> None:
        action = exchange.action
        self.calls.add(
            {
                "action": action,
                "region": exchange.params.get("RegionId", ""),
                "access_key_id": exchange.access_key_id,
                "params": request_params(exchange.params),
                "status": status,
                "code": code,
                "request_id": exchange.request_id,
                "time": self.clock.now(),
                "write": action in self.write_actions,
                "reached_world": exchange.reached_world,
            }
        )

    # ----- admin routes ------------------------------------------------------------------------

    async def get_calls(self, request: web.Request) -> web.Response:
        since = _int_query(request, "since", 0)
        action = request.query.get("action") or None
        return json_response({"calls": self.calls.since(since, action), "next": self.calls.last_seq})

    async def delete_calls(self, request: web.Request) -> web.Response:
        self.calls.clear()
        return json_response({"cleared": True})

    async def get_state(self, request: web.Request) -> web.Response:
        return json_response(self.world.state(request.query.get("region") or None))

    def _clock_view(self) -> dict[str, Any]:
        now = self.clock.now()
        iso = datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"now": now, "iso": iso, "offset": self.clock.offset, "speed": self.clock.speed}

    async def get_clock(self, request: web.Request) -> web.Response:
        return json_response(self._clock_view())

    async def post_clock(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        seconds = float(body.get("advance", 0))
        if seconds < 0:
            raise ValueError("advance must not be negative: the clock only moves forward")
        self.world.advance(seconds)
        return json_response(self._clock_view())

    async def get_faults(self, request: web.Request) -> web.Response:
        return json_response({"actions": self.faults.plan})

    async def post_faults(self, request: web.Request) -> web.Response:
        self.apply_fault_settings(await _json_body(request))
        return json_response({"actions": self.faults.plan})

    def apply_fault_settings(self, body: Mapping[str, Any]) -> None:
        """``{"actions": {...}, "seed": n, **world_settings}``: the CLI's --faults and the admin route share this."""
        settings = dict(body)
        plan = validate_plan(settings.pop("actions", {}) or {})
        seed = settings.pop("seed", None)
        # Everything is checked before anything changes: the world validates its settings as a whole.
        if settings:
            self.world.configure(**settings)
        self.faults.set_plan(plan, None if seed is None else int(seed))

    async def delete_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return json_response({"actions": {}})

    async def post_fleet(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        fleet: dict[str, Any] | str = body["path"] if set(body) == {"path"} else body
        result = self.world.load_fleet(fleet)
        return json_response(result if isinstance(result, dict) else {"loaded": True})

    async def post_settings(self, request: web.Request) -> web.Response:
        self.apply_settings(await _json_body(request))
        return json_response({"latency_ms": self.latency_ms})

    def apply_settings(self, body: Mapping[str, Any]) -> None:
        """``latency_ms`` belongs to the server; every other setting goes to ``world.configure``."""
        settings = dict(body)
        if "latency_ms" in settings:
            self.latency_ms = max(float(settings.pop("latency_ms")), 0.0)
        if settings:
            self.world.configure(**settings)

    async def post_reset(self, request: web.Request) -> web.Response:
        self.world.reset()
        self.calls.clear()
        self.faults.clear()
        self.clock.offset = 0.0
        self.world.advance(0)  # lets the world persist the rewound clock
        return json_response(self._clock_view())

    async def get_info(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "version": API_VERSION,
                "actions": sorted(self.actions),
                "access_key_ids": sorted(self.authenticator.keys),
                "latency_ms": self.latency_ms,
            }
        )

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[_admin_errors])
        admin: list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]] = [
            ("GET", "", self.get_info),
            ("GET", "/calls", self.get_calls),
            ("DELETE", "/calls", self.delete_calls),
            ("GET", "/state", self.get_state),
            ("GET", "/clock", self.get_clock),
            ("POST", "/clock", self.post_clock),
            ("GET", "/faults", self.get_faults),
            ("POST", "/faults", self.post_faults),
            ("DELETE", "/faults", self.delete_faults),
            ("POST", "/fleet", self.post_fleet),
            ("POST", "/settings", self.post_settings),
            ("POST", "/reset", self.post_reset),
        ]
        for method, path, handler in admin:
            app.router.add_route(method, ADMIN_PREFIX + path, handler)
        app.router.add_route("*", "/{path:.*}", self.handle_api)
        return app


def _int_query(request: web.Request, name: str, default: int) -> int:
    try:
        return int(request.query.get(name, default))
    except ValueError:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"{name} must be an integer"}), content_type=JSON_CONTENT_TYPE) from None


async def _json_body(request: web.Request) -> dict[str, Any]:
    text = await request.text()
    body = json.loads(text) if text.strip() else {}
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    return body


@web.middleware
async def _admin_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Admin routes answer ``{"error": ...}``: 400 for a bad body, setting or fleet file; 500 for a bug."""
    if not request.path.startswith(ADMIN_PREFIX + "/") and request.path != ADMIN_PREFIX:
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except ApiError as error:
        return json_response({"error": error.message, "code": error.code}, error.status)
    except (ValueError, TypeError, KeyError, OSError) as error:
        return json_response({"error": f"{type(error).__name__}: {error}"}, 400)
    except Exception as error:  # noqa: BLE001 - report, keep serving
        log_traceback(f"admin {request.method} {request.path} failed")
        return json_response({"error": f"{type(error).__name__}: {error}"}, 500)
