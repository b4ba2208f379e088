"""SDK clients and raw HTTP requests aimed at an emulator, the way the tests talk to it."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi.models import Config
from aliyunsdkcore.auth.credentials import StsTokenCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import RpcRequest

from ecs_emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, Emulator
from ecs_emulator.auth import AccessKey, sign_v1, sign_v3, v1_signature, v1_string_to_sign

REGION = "cn-hangzhou"
DEFAULT_KEY = AccessKey(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
SECOND_KEY = AccessKey("LTAI5tSecondEmulatorKey", "SecondEmulatorSecret000000000000")
STS_KEY = AccessKey("STS.NUgYrLnoC37mZZCNnAbez2ngJ", "StsEmulatorSecret00000000000000", "CAIS-emulator-sts-token")
# The session emulator accepts exactly these.
SESSION_KEYS = [DEFAULT_KEY, SECOND_KEY, STS_KEY]


def key_spec(key: AccessKey) -> str:
    return ":".join(filter(None, [key.id, key.secret, key.security_token]))


def ecs_client(emu: Emulator, key: AccessKey = DEFAULT_KEY, region: str = REGION, signature_algorithm: str | None = None) -> Client:
    """The official SDK client, pointed at the emulator; it signs v3 unless ``signature_algorithm="v2"``."""
    config = Config(
        access_key_id=key.id,
        access_key_secret=key.secret,
        security_token=key.security_token or None,
        endpoint=emu.endpoint,
        protocol="http",
        region_id=region,
        read_timeout=30000,
        signature_algorithm=signature_algorithm,
    )
    return Client(config)


def legacy_client(key: AccessKey = DEFAULT_KEY, region: str = REGION) -> AcsClient:
    if key.security_token:
        return AcsClient(region_id=region, credential=StsTokenCredential(key.id, key.secret, key.security_token))
    return AcsClient(key.id, key.secret, region)


def legacy_call(emu: Emulator, request: RpcRequest, key: AccessKey = DEFAULT_KEY) -> dict[str, Any]:
    """Send a legacy (v1-signed) request to the emulator and decode its JSON answer."""
    request.set_endpoint(emu.endpoint)
    request.set_protocol_type("http")
    return json.loads(legacy_client(key).do_action_with_exception(request))


def raw_request(
    emu: Emulator, method: str, target: str, headers: Mapping[str, str] | None = None, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """One request over a fresh connection; ``target`` is the path and query exactly as sent."""
    connection = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=30)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        sent = {name.lower() for name in (headers or {})}
        if "host" not in sent:
            connection.putheader("Host", emu.endpoint)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if body or method == "POST":
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def v3_request(emu: Emulator, action: str, query: Mapping[str, str], key: AccessKey = DEFAULT_KEY) -> tuple[int, dict[str, Any]]:
    headers = sign_v3(key, action, query, emu.endpoint)
    status, _, body = raw_request(emu, "POST", "/?" + urlencode(query), headers)
    return status, json.loads(body)


def v1_request(emu: Emulator, action: str, params: Mapping[str, str], key: AccessKey = DEFAULT_KEY) -> tuple[int, dict[str, Any]]:
    signed = sign_v1(key, action, params)
    status, _, body = raw_request(emu, "POST", "/?" + urlencode(signed))
    return status, json.loads(body)


def resign_v1(signed: Mapping[str, str], key: AccessKey = DEFAULT_KEY, **changes: str) -> dict[str, str]:
    """A v1 parameter set with ``changes`` applied and signed again: for the fields sign_v1 fills in itself."""
    params = {name: value for name, value in signed.items() if name != "Signature"} | changes
    params["Signature"] = v1_signature(key, v1_string_to_sign("POST", params))
    return params


def small_fleet(count: int, region: str = REGION) -> dict[str, Any]:
    """``count`` running pay-as-you-go instances named test-001... in one region."""
    instance = {"count": count, "name": "test-{n:03d}", "status": "Running", "tags": {"suite": "emulator"}}
    return {"regions": {region: {"instances": [instance]}}}


def send_bytes(emu: Emulator, method: str, target: bytes, headers: Mapping[str, str | bytes], body: bytes = b"") -> tuple[int, bytes]:
    """An HTTP/1.1 request written byte for byte, for what http.client refuses to send; (status, body)."""
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: " + emu.endpoint.encode(), b"Connection: close"]
    for name, value in headers.items():
        lines.append(name.encode() + b": " + (value if isinstance(value, bytes) else value.encode("latin-1")))
    lines.append(b"Content-Length: " + str(len(body)).encode())
    with socket.create_connection(("127.0.0.1", emu.port), timeout=30) as connection:
        connection.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), payload
