"""Who sent a request: access keys, STS tokens, signature v3 and legacy v1, replay protection.

The checks follow what the ECS gateway does, in its order: a credential must be present, the key must
exist, the signature must match, the STS token must belong to the key, the timestamp must be fresh,
and the nonce must be new. The nonce is remembered only after the signature is proven, so nobody can
burn another client's nonces with forged requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping
from urllib.parse import quote

from multidict import CIMultiDictProxy

from . import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
from .errors import ApiError

V3_ALGORITHM = "ACS3-HMAC-SHA256"
NONCE_TTL_SECONDS = 15 * 60
# Bounded memory: at 1000 requests/s for 15 minutes this holds every nonce the TTL asks for.
NONCE_CAPACITY = 1_000_000
TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ")

# The sha256 of an empty body, which is what every v3 SDK request carries.
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class AccessKey:
    id: str
    secret: str
    security_token: str = ""  # set only for an STS credential

    @property
    def v1_secret(self) -> bytes:
        return (self.secret + "&").encode()

    @property
    def v3_secret(self) -> bytes:
        return self.secret.encode()


def parse_access_key(text: str) -> AccessKey:
    """``ID:SECRET`` or ``ID:SECRET:STS_TOKEN``, as the CLI's ``--access-key`` takes it."""
    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ValueError(f"access key must be ID:SECRET or ID:SECRET:STS_TOKEN, got {text!r}")
    return AccessKey(parts[0], parts[1], parts[2] if len(parts) == 3 else "")


DEFAULT_ACCESS_KEY = AccessKey(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)


def percent_encode(text: str) -> str:
    """RFC 3986 encoding: only ``A-Za-z0-9-_.~`` stay as they are."""
    return quote(text, safe="~")


class NonceCache:
    """Nonces seen in the last 15 minutes, oldest first, never more than ``capacity``."""

    def __init__(self, ttl: float = NONCE_TTL_SECONDS, capacity: int = NONCE_CAPACITY) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()

    def remember(self, nonce: str, now: float) -> bool:
        """Record ``nonce``; False when it was already used within the TTL."""
        self._expire(now)
        if nonce in self._seen:
            return False
        self._seen[nonce] = now
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True

    def _expire(self, now: float) -> None:
        cutoff = now - self._ttl
        seen = self._seen
        while seen:
            oldest = next(iter(seen.values()))
            if oldest >= cutoff:
                break
            seen.popitem(last=False)


def incomplete_signature(detail: str) -> ApiError:
    return ApiError(400, "IncompleteSignature", f"The request signature does not conform to Aliyun standards. {detail}")


def signature_mismatch(string_to_sign: str, v3: bool) -> ApiError:
    # The legacy SDK compares the text after the first ':' with its own string to sign, so keep the shape.
    if v3:
        message = f"Specified signature does not match our calculation. server StringToSign is [{string_to_sign}]"
    else:
        message = f"Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
    return ApiError(400, "SignatureDoesNotMatch", message)


def _check_timestamp(value: str, name: str) -> None:
    """Signed requests older or newer than 15 minutes of real time are refused, like the gateway does."""
    for fmt in TIMESTAMP_FORMATS:
        try:
            stamp = datetime.strptime(value, fmt).replace(tzinfo=timezone.utc).timestamp()
            break
        except ValueError:
            continue
    else:
        raise ApiError(400, "InvalidTimeStamp.Format", f"Specified time stamp or date value is not well formatted. {name}={value[:64]}")
    if abs(time.time() - stamp) > NONCE_TTL_SECONDS:
        raise ApiError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")


@dataclass
class SignedRequest:
    """What the verifier needs from an HTTP request; built by the server from the raw request."""

    method: str
    path: str
    query: list[tuple[str, str]]  # decoded pairs from the query string, in order
    form: list[tuple[str, str]]  # decoded pairs from a form body
    headers: CIMultiDictProxy[str]  # aiohttp's case-insensitive multi-valued headers
    body: bytes


def claimed_key_id(request: SignedRequest, params: Mapping[str, str]) -> str:
    """The access key id a request names, before anything is verified: what the call log shows."""
    if "AccessKeyId" in params:
        return params["AccessKeyId"]
    fields = request.headers.get("Authorization", "").partition("Credential=")[2]
    return fields.partition(",")[0].strip()


class Authenticator:
    """Verifies a request against the configured keys and answers with the key that signed it."""

    def __init__(self, keys: list[AccessKey] | None = None) -> None:
        keys = keys or [DEFAULT_ACCESS_KEY]
        self.keys: dict[str, AccessKey] = {key.id: key for key in keys}
        self.nonces = NonceCache()

    def authenticate(self, request: SignedRequest, params: Mapping[str, str]) -> AccessKey:
        """Return the signing key or raise the gateway's ApiError. ``params`` = query and form merged."""
        authorization = request.headers.get("Authorization", "")
        if "Signature" in params or "SignatureMethod" in params:
            key, nonce = self._verify_v1(request, params)
        elif authorization:
            key, nonce = self._verify_v3(request, authorization)
        else:
            raise ApiError(400, "MissingAccessKeyId", "AccessKeyId is mandatory for this action.")
        if not self.nonces.remember(nonce, time.time()):
            raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        return key

    def _key(self, key_id: str) -> AccessKey:
        key = self.keys.get(key_id)
        if key is None:
            raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        return key

    @staticmethod
    def _check_token(key: AccessKey, token: str) -> None:
        """An STS key needs its token; a permanent key ignores one (the SDKs only send it for STS)."""
        if not key.security_token:
            return
        if not token:
            raise ApiError(400, "MissingSecurityToken", "SecurityToken is mandatory for this action.")
        if not hmac.compare_digest(token.encode(), key.security_token.encode()):
            raise ApiError(400, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey.")

    def _verify_v1(self, request: SignedRequest, params: Mapping[str, str]) -> tuple[AccessKey, str]:
        key_id = params.get("AccessKeyId", "")
        if not key_id:
            raise ApiError(400, "MissingAccessKeyId", "AccessKeyId is mandatory for this action.")
        signature = params.get("Signature", "")
        method = params.get("SignatureMethod", "")
        nonce = params.get("SignatureNonce", "")
        if not signature or not nonce:
            raise incomplete_signature("Signature and SignatureNonce are required.")
        digest = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}.get(method)
        if digest is None:
            raise ApiError(400, "InvalidSignatureMethod", f"Specified signature method is not supported: {method[:32]}.")
        key = self._key(key_id)
        # Query and form parameters are both signed; a name present in both would be ambiguous and
        # the SDKs never send one, so the merged view is what gets signed.
        pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
        canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in pairs)
        string_to_sign = f"{request.method}&%2F&{percent_encode(canonical)}"
        expected = base64.b64encode(hmac.new(key.v1_secret, string_to_sign.encode(), digest).digest()).decode()
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise signature_mismatch(string_to_sign, v3=False)
        self._check_token(key, params.get("SecurityToken", ""))
        _check_timestamp(params.get("Timestamp", ""), "Timestamp")
        return key, nonce

    def _verify_v3(self, request: SignedRequest, authorization: str) -> tuple[AccessKey, str]:
        algorithm, _, fields_text = authorization.strip().partition(" ")
        if algorithm != V3_ALGORITHM:
            raise incomplete_signature(f"Unsupported signature algorithm {algorithm[:32]}.")
        fields = dict(part.strip().partition("=")[::2] for part in fields_text.split(","))
        key_id = fields.get("Credential", "")
        signed_headers = fields.get("SignedHeaders", "")
        signature = fields.get("Signature", "")
        if not key_id or not signed_headers or not signature:
            raise incomplete_signature("Authorization needs Credential, SignedHeaders and Signature.")
        headers = request.headers
        nonce = headers.get("x-acs-signature-nonce", "")
        if not nonce:
            raise incomplete_signature("x-acs-signature-nonce is required.")
        key = self._key(key_id)
        string_to_sign = self._v3_string_to_sign(request, signed_headers)
        expected = hmac.new(key.v3_secret, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise signature_mismatch(string_to_sign, v3=True)
        self._check_token(key, headers.get("x-acs-security-token", ""))
        _check_timestamp(headers.get("x-acs-date", ""), "x-acs-date")
        return key, nonce

    @staticmethod
    def _v3_string_to_sign(request: SignedRequest, signed_headers: str) -> str:
        query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(request.query))
        # Repeated headers are signed as their sorted values joined by commas, as the SDK does.
        header_lines = "".join(
            f"{name}:{','.join(sorted(value.strip() for value in request.headers.getall(name, ())))}\n"
            for name in signed_headers.split(";")
        )
        body_hash = hashlib.sha256(request.body).hexdigest() if request.body else EMPTY_BODY_SHA256
        canonical = f"{request.method}\n{request.path}\n{query}\n{header_lines}\n{signed_headers}\n{body_hash}"
        return f"{V3_ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
