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
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
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
        if method not in V1_DIGESTS:
            raise ApiError(400, "InvalidSignatureMethod", f"Specified signature method is not supported: {method[:32]}.")
        key = self._key(key_id)
        # Query and form parameters are both signed; the SDKs never send one name in both.
        string_to_sign = v1_string_to_sign(request.method, params)
        if not hmac.compare_digest(v1_signature(key, string_to_sign, method).encode(), signature.encode()):
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
        # Repeated headers are signed as their sorted values joined by commas, as the SDK does.
        values = {name: ",".join(sorted(value.strip() for value in headers.getall(name, ()))) for name in signed_headers.split(";")}
        body_hash = hashlib.sha256(request.body).hexdigest() if request.body else EMPTY_BODY_SHA256
        string_to_sign = v3_string_to_sign(request.method, request.path, request.query, signed_headers, values, body_hash)
        expected = hmac.new(key.v3_secret, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise signature_mismatch(string_to_sign, v3=True)
        self._check_token(key, headers.get("x-acs-security-token", ""))
        _check_timestamp(headers.get("x-acs-date", ""), "x-acs-date")
        return key, nonce


# ----- the canonical forms, shared by the verifier above and the raw signers below -----------------

V1_DIGESTS = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{percent_encode(name)}={percent_encode(value)}" for name, value in sorted(pairs))


def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method}&%2F&{percent_encode(canonical_query((k, v) for k, v in params.items() if k != 'Signature'))}"


def v1_signature(key: AccessKey, string_to_sign: str, method: str = "HMAC-SHA1") -> str:
    digest = hmac.new(key.v1_secret, string_to_sign.encode(), V1_DIGESTS[method]).digest()
    return base64.b64encode(digest).decode()


def v3_string_to_sign(
    method: str, path: str, query: Iterable[tuple[str, str]], signed_headers: str, values: Mapping[str, str], body_hash: str
) -> str:
    """``values`` maps each lower-case signed header name to its (joined) value."""
    header_lines = "".join(f"{name}:{values.get(name, '').strip()}\n" for name in signed_headers.split(";"))
    canonical = f"{method}\n{path}\n{canonical_query(query)}\n{header_lines}\n{signed_headers}\n{body_hash}"
    return f"{V3_ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"


def utc_timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_v3(key: AccessKey, action: str, query: Mapping[str, str], host: str, method: str = "POST") -> dict[str, str]:
    """Headers for a raw v3 request with ``query`` in the query string and an empty body.

    What the official SDK sends, minus the user agent: for tests that replay or mangle requests and
    for the benchmark's clients, which must stay lighter than the SDK to measure the server.
    """
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": "2014-05-26",
        "x-acs-date": utc_timestamp(),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": EMPTY_BODY_SHA256,
    }
    if key.security_token:
        headers["x-acs-security-token"] = key.security_token
    signed_headers = ";".join(sorted(headers))
    string_to_sign = v3_string_to_sign(method, "/", query.items(), signed_headers, headers, EMPTY_BODY_SHA256)
    signature = hmac.new(key.v3_secret, string_to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = f"{V3_ALGORITHM} Credential={key.id},SignedHeaders={signed_headers},Signature={signature}"
    return headers


def sign_v1(key: AccessKey, action: str, params: Mapping[str, str], method: str = "POST") -> dict[str, str]:
    """The full v1 parameter set (protocol fields and ``Signature`` included) for ``params``."""
    signed = {
        **params,
        "Action": action,
        "Version": "2014-05-26",
        "Format": "JSON",
        "AccessKeyId": key.id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": utc_timestamp(),
    }
    if key.security_token:
        signed["SecurityToken"] = key.security_token
    signed["Signature"] = v1_signature(key, v1_string_to_sign(method, signed))
    return signed
