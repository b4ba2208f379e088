# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one way modules reach ECS: credentials, endpoint, retries, paging and batching.

Modules never import the SDK. They ask ``connect()`` for an ``EcsClient`` and use ``call``,
``paginate`` and ``batches``. The client works on plain dicts with the API's own parameter and
field names, so what a module sends is what the API reference (and the emulator's recorded
calls) show.
"""

from __future__ import annotations

import ipaddress
import re
import time
import traceback
import typing as t
from urllib.parse import urlsplit

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import (
    EcsApiError,
    InvalidOptionError,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.retries import (
    CONNECTION_ERROR,
    RetryPolicy,
)

try:
    from alibabacloud_ecs20140526 import models as _ecs_models
    from alibabacloud_ecs20140526.client import Client as _EcsSdkClient
    from alibabacloud_tea_openapi.utils_models import Config as _SdkConfig
    from darabonba.runtime import RuntimeOptions as _RuntimeOptions
except ImportError:
    SDK_IMPORT_ERROR: t.Optional[str] = traceback.format_exc()
else:
    SDK_IMPORT_ERROR = None

try:
    from alibabacloud_credentials.client import Client as _CredentialClient
    from alibabacloud_credentials.provider import CLIProfileCredentialsProvider as _ProfileProvider
except ImportError:
    CREDENTIALS_IMPORT_ERROR: t.Optional[str] = traceback.format_exc()
else:
    CREDENTIALS_IMPORT_ERROR = None

SDK_REQUIREMENTS = "alibabacloud-ecs20140526, alibabacloud-tea-openapi and alibabacloud-credentials"

Transport = t.Callable[[str, t.Dict[str, t.Any]], t.Dict[str, t.Any]]

# The most IDs one call of each action takes (ecs-api.md).
BATCH_LIMITS = {
    "DescribeInstances": 100,
    "DescribeInstanceStatus": 100,
    "DeleteInstances": 100,
    "StopInstances": 100,
    "StartInstances": 100,
    "ModifyInstanceChargeType": 20,
    "ModifyDiskAttribute": 100,
    "DescribeDisks": 100,
    "DescribeSnapshots": 100,
    "DescribeSnapshotGroups": 10,
}


class _Paging(t.NamedTuple):
    style: str  # "token" (NextToken/MaxResults) or "page" (PageNumber/PageSize)
    items: t.Tuple[str, str]  # where the list sits in the response body
    size: int


_PAGING = {
    "DescribeInstances": _Paging("token", ("Instances", "Instance"), 100),
    "DescribeDisks": _Paging("token", ("Disks", "Disk"), 500),
    "DescribeSnapshots": _Paging("token", ("Snapshots", "Snapshot"), 100),
    "DescribeSnapshotGroups": _Paging("token", ("SnapshotGroups", "SnapshotGroup"), 100),
    "DescribeInstanceStatus": _Paging("page", ("InstanceStatuses", "InstanceStatus"), 50),
    "DescribeEipAddresses": _Paging("page", ("EipAddresses", "EipAddress"), 100),
    "DescribeImages": _Paging("page", ("Images", "Image"), 100),
    "DescribeRegions": _Paging("none", ("Regions", "Region"), 0),
}


class TransportError(Exception):
    """What a transport raises: the API's refusal, or ``CONNECTION_ERROR`` when there was no answer."""

    def __init__(self, code: str, message: str, status: t.Optional[int] = None,
                 request_id: str = "", retry_after: t.Optional[float] = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after


def batches(items: t.Sequence[t.Any], size: int) -> t.Iterator[t.List[t.Any]]:
    """Consecutive slices of at most ``size`` items, in order."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _dig(body: t.Dict[str, t.Any], path: t.Tuple[str, str]) -> t.List[t.Dict[str, t.Any]]:
    outer = body.get(path[0]) or {}
    return list(outer.get(path[1]) or []) if isinstance(outer, dict) else []


class EcsClient:
    """ECS in one region, through one call path with retries."""

    def __init__(self, transport: Transport, region: str, retry_policy: RetryPolicy,
                 sleep: t.Callable[[float], None] = time.sleep,
                 monotonic: t.Callable[[], float] = time.monotonic) -> None:
        self.region = region
        self._transport = transport
        self._retry_policy = retry_policy
        self._sleep = sleep
        self._monotonic = monotonic
        self.retried = 0  # how many retries this client made, for the module's result

    def call(self, action: str, params: t.Optional[t.Dict[str, t.Any]] = None,
             regional: bool = True) -> t.Dict[str, t.Any]:
        """Call ``action`` with API-named ``params``; retry what may succeed later."""
        request = dict(params or {})
        if regional:
            request.setdefault("RegionId", self.region)
        started = self._monotonic()
        retry_number = 0
        while True:
            try:
                return self._transport(action, request)
            except TransportError as error:
                retry_number += 1
                delay = self._retry_policy.next_delay(
                    error.code, retry_number, self._monotonic() - started, error.retry_after)
                if delay is None:
                    raise EcsApiError(action, error.code, error.message, error.status,
                                      error.request_id, attempts=retry_number) from None
                self.retried += 1
                self._sleep(delay)

    def paginate(self, action: str, params: t.Optional[t.Dict[str, t.Any]] = None
                 ) -> t.Iterator[t.Dict[str, t.Any]]:
        """Every item of a Describe* list, however the action pages."""
        paging = _PAGING[action]
        request = dict(params or {})
        if paging.style == "token":
            request["MaxResults"] = paging.size
            while True:
                body = self.call(action, request)
                yield from _dig(body, paging.items)
                token = body.get("NextToken") or ""
                if not token:
                    return
                request["NextToken"] = token
        elif paging.style == "page":
            request["PageSize"] = paging.size
            page = 1
            seen = 0
            while True:
                request["PageNumber"] = page
                body = self.call(action, request)
                items = _dig(body, paging.items)
                yield from items
                seen += len(items)
                if len(items) < paging.size or seen >= int(body.get("TotalCount") or 0):
                    return
                page += 1
        else:
            yield from _dig(self.call(action, request), paging.items)


def _snake_case(action: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


class _SdkTransport:
    """Sends one request through the official SDK and turns its exceptions into ``TransportError``."""

    def __init__(self, sdk_client: t.Any, timeout: int) -> None:
        self._sdk = sdk_client
        # The SDK's own retries are off: EcsClient owns the retry decision for every call.
        self._runtime = _RuntimeOptions(autoretry=False, read_timeout=timeout * 1000,
                                        connect_timeout=min(timeout, 10) * 1000)

    def __call__(self, action: str, params: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        request = getattr(_ecs_models, f"{action}Request")().from_map(params)
        method = getattr(self._sdk, f"{_snake_case(action)}_with_options")
        try:
            response = method(request, self._runtime)
        except Exception as error:  # the SDK raises several unrelated types; sort them here
            raise _transport_error(error) from None
        return response.body.to_map() if response.body is not None else {}


def _transport_error(error: Exception) -> TransportError:
    data = getattr(error, "data", None)
    code = getattr(error, "code", None)
    if code and isinstance(data, dict):
        return TransportError(
            str(code),
            str(data.get("Message") or data.get("message") or getattr(error, "message", "")),
            getattr(error, "status_code", None),
            str(data.get("RequestId") or getattr(error, "request_id", "") or ""),
            getattr(error, "retry_after", None) or None,
        )
    # No API answer: refused or dropped connection, timeout, DNS failure.
    inner = getattr(error, "inner_exception", None) or error
    return TransportError(CONNECTION_ERROR, str(inner) or type(inner).__name__)


def parse_endpoint(endpoint: str, allow_insecure: bool) -> t.Tuple[str, str]:
    """Split ``ecs_endpoint`` into (host[:port], protocol).

    Without a scheme, loopback hosts speak http (the emulator) and every other host https.
    Plain http to anything but loopback sends signed requests in clear text, so it needs
    ``allow_insecure_endpoint``.
    """
    value = endpoint.strip()
    if "://" not in value:
        value = "//" + value
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as error:
        raise InvalidOptionError("ecs_endpoint", f"{endpoint!r} is not a valid endpoint: {error}") from None
    if not host or parts.path not in ("", "/") or parts.query:
        raise InvalidOptionError("ecs_endpoint", f"{endpoint!r} must be host[:port], optionally with http:// or https://")
    loopback = _is_loopback(host)
    scheme = parts.scheme.lower() or ("http" if loopback else "https")
    if scheme not in ("http", "https"):
        raise InvalidOptionError("ecs_endpoint", f"scheme {parts.scheme!r} is not http or https")
    if scheme == "http" and not loopback and not allow_insecure:
        raise InvalidOptionError(
            "ecs_endpoint",
            f"{endpoint!r} is plain http to a host that is not loopback; "
            "use https, or set allow_insecure_endpoint=true if you really mean it")
    return parts.netloc, scheme


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _credential(params: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """Config fields for the credentials: given keys, a named CLI profile, or the default chain."""
    key_id, secret = params.get("access_key_id"), params.get("access_key_secret")
    if bool(key_id) != bool(secret):
        missing = "access_key_secret" if key_id else "access_key_id"
        raise InvalidOptionError(missing, "access_key_id and access_key_secret must be given together")
    if key_id:
        return {"access_key_id": key_id, "access_key_secret": secret,
                "security_token": params.get("security_token") or None}
    if params.get("security_token"):
        raise InvalidOptionError("security_token", "needs access_key_id and access_key_secret")
    if params.get("profile"):
        return {"credential": _CredentialClient(provider=_ProfileProvider(profile_name=params["profile"]))}
    # The default chain of alibabacloud-credentials: env, profile files, ECS RAM role, OIDC.
    return {"credential": _CredentialClient()}


def connect(params: t.Mapping[str, t.Any], transport: t.Optional[Transport] = None) -> EcsClient:
    """An ``EcsClient`` for the module's connection options (see the ``connection`` doc fragment)."""
    region = params.get("region")
    if not region:
        raise InvalidOptionError(
            "region", "is required (or set ALIBABA_CLOUD_REGION_ID or ALICLOUD_REGION)")
    if not re.match(r"^[a-z]{2,}(-[a-z0-9]+)+$", region):
        raise InvalidOptionError("region", f"{region!r} is not a region id such as cn-hangzhou")
    retries = params.get("api_retries")
    if retries is None:
        retries = 10
    if retries < 0:
        raise InvalidOptionError("api_retries", "must be 0 or more")
    timeout = params.get("api_timeout")
    if timeout is None:
        timeout = 30
    if timeout < 1:
        raise InvalidOptionError("api_timeout", "must be at least 1 second")
    if transport is None:
        transport = _sdk_transport(params, region, timeout)
    return EcsClient(transport, region, RetryPolicy(retries=retries, max_elapsed=max(180.0, 6.0 * timeout)))


def _sdk_transport(params: t.Mapping[str, t.Any], region: str, timeout: int) -> Transport:
    config: t.Dict[str, t.Any] = {"region_id": region}
    if params.get("ecs_endpoint"):
        endpoint, protocol = parse_endpoint(params["ecs_endpoint"], bool(params.get("allow_insecure_endpoint")))
        config.update(endpoint=endpoint, protocol=protocol)
    config.update(_credential(params))
    return _SdkTransport(_EcsSdkClient(_SdkConfig(**config)), timeout)
