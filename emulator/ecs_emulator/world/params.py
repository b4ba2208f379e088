"""Request parameter parsing shared by every operation.

The server hands over the flat query as received: every value is a string, lists come either as a JSON
array string (``InstanceIds='["i-a"]'``) or flattened (``InstanceId.1=i-a``), booleans as ``True``/``false``.
Every malformed value becomes an ``ApiError``; nothing else may escape to the server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from ecs_emulator.errors import ApiError, invalid_parameter, missing_parameter

_DOTTED = re.compile(r"^(?P<name>[A-Za-z]+)\.(?P<n>\d+)$")
_TAG = re.compile(r"^Tag\.(?P<n>\d+)\.(?P<part>Key|Value)$")

MAX_TAGS = 20


class Params:
    """Typed accessors over the raw request parameters."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self.raw = dict(raw)

    def str(self, name: str, *, required: bool = False, default: str = "") -> str:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                raise missing_parameter(name)
            return default
        return value

    def has(self, name: str) -> bool:
        return self.raw.get(name, "") != ""

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name, "")
        if value == "":
            return default
        lowered = value.strip().lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        raise invalid_parameter(name, "The value must be true or false.")

    def optional_bool(self, name: str) -> bool | None:
        return self.bool(name) if self.has(name) else None

    def int(self, name: str, default: int, *, low: int = 1, high: int | None = None,
            code: str = "InvalidParameter") -> int:
        value = self.raw.get(name, "")
        if value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise ApiError(400, code, f"The specified parameter \"{name}\" is not valid.") from None
        if number < low or (high is not None and number > high):
            raise ApiError(400, code, f"The specified parameter \"{name}\" is out of range [{low}, {high}].")
        return number

    def list(self, name: str, *, json_name: str | None = None, comma: bool = False, limit: int = 100,
             code: str | None = None) -> list[str]:
        """One list parameter in any wire form: ``json_name`` as a JSON array, ``name.N``, or (``comma``)
        ``name`` itself as a comma-separated list (``ImageId``, ``Status`` of some Describe*).

        ``code`` is the specific error the API documents for a malformed or oversized list.
        """
        error_name = json_name or name
        error_code = code or "InvalidParameter"
        values: list[str] = []
        if json_name and self.has(json_name):
            values = _json_string_list(self.raw[json_name], json_name, error_code)
        if comma and self.has(name):
            values.extend(v.strip() for v in self.raw[name].split(",") if v.strip())
        numbered = []
        for key, value in self.raw.items():
            match = _DOTTED.match(key)
            if match and match["name"] == name and value != "":
                numbered.append((int(match["n"]), value))
        values.extend(value for _, value in sorted(numbered))
        if len(values) > limit:
            raise ApiError(400, error_code, f"The specified parameter \"{error_name}\" exceeds the limit of {limit} items.")
        return list(dict.fromkeys(values))

    def tags(self, *, require_key: bool = True) -> list[tuple[str, str | None]]:
        """``Tag.N.Key``/``Tag.N.Value`` pairs in N order; a key without a value matches any value."""
        pairs: dict[int, dict[str, str]] = {}
        for key, value in self.raw.items():
            match = _TAG.match(key)
            if match:
                pairs.setdefault(int(match["n"]), {})[match["part"]] = value
        if len(pairs) > MAX_TAGS or any(n < 1 or n > MAX_TAGS for n in pairs):
            raise ApiError(400, "InvalidTagCount", "The specified tags are beyond the permitted range.")
        result: list[tuple[str, str | None]] = []
        for n in sorted(pairs):
            key = pairs[n].get("Key", "")
            if not key:
                if require_key:
                    raise ApiError(400, "InvalidTagKey.Malformed", f"The specified Tag.{n}.Key is not valid.")
                continue
            result.append((key, pairs[n].get("Value")))
        return result

    def choice(self, name: str, allowed: tuple[str, ...], default: str = "", *, status: int = 400,
               code: str | None = None) -> str:
        value = self.str(name, default=default)
        if value and value not in allowed:
            raise ApiError(status, code or "InvalidParameter", f"The specified parameter \"{name}\" is not valid.")
        return value


def _json_string_list(text: str, name: str, code: str) -> list[str]:
    try:
        parsed = json.loads(text)
    except ValueError:
        raise ApiError(400, code, f"The specified parameter \"{name}\" is not a valid JSON array.") from None
    if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
        raise ApiError(400, code, f"The specified parameter \"{name}\" must be a JSON array of strings.")
    return [item for item in parsed if item]


def stop_if_dry_run(params: Params) -> None:
    """Call after validation and before acting: a passed DryRun is answered as an error, like the real API."""
    if params.bool("DryRun"):
        raise ApiError(400, "DryRunOperation", "Request validation has been passed with DryRun flag set.")
