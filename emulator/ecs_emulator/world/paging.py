"""The one pager every Describe* uses: PageNumber/PageSize, or NextToken/MaxResults.

A request that sends ``NextToken`` or ``MaxResults`` is served in token mode, otherwise in page mode.
Tokens are opaque to clients; here they carry the offset of the next item, so a list that changes between
calls shifts like the real one does with offset paging (assumption: the real cursor is not snapshot-stable).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from ecs_emulator.errors import ApiError
from ecs_emulator.world.params import Params

_TOKEN_PREFIX = "ecs-emu:"


@dataclass(frozen=True)
class PagingRules:
    max_page_size: int = 100
    default_page_size: int = 10
    max_results: int = 100
    default_max_results: int = 10
    tokens: bool = True  # whether the operation knows NextToken/MaxResults at all


@dataclass(frozen=True)
class Page:
    ids: list[str]
    total: int
    page_number: int
    page_size: int
    next_token: str

    def envelope(self, *names: str) -> dict[str, Any]:
        """The paging fields this operation's response carries, by their API names."""
        values = {"TotalCount": self.total, "PageNumber": self.page_number, "PageSize": self.page_size,
                  "NextToken": self.next_token}
        return {name: values[name] for name in names}


def paginate(params: Params, ids: list[str], rules: PagingRules = PagingRules()) -> Page:
    if rules.tokens and (params.has("NextToken") or params.has("MaxResults")):
        size = params.int("MaxResults", rules.default_max_results, high=rules.max_results)
        offset = _decode_token(params.str("NextToken")) if params.has("NextToken") else 0
        chunk = ids[offset:offset + size]
        more = offset + size < len(ids)
        return Page(chunk, len(ids), offset // size + 1, size, _encode_token(offset + size) if more else "")
    number = params.int("PageNumber", 1)
    size = params.int("PageSize", rules.default_page_size, high=rules.max_page_size)
    offset = (number - 1) * size
    return Page(ids[offset:offset + size], len(ids), number, size, "")


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_TOKEN_PREFIX}{offset}".encode()).decode().rstrip("=")


def _decode_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if text.startswith(_TOKEN_PREFIX):
            offset = int(text[len(_TOKEN_PREFIX):])
            if offset >= 0:
                return offset
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError(400, "InvalidParameter", "The specified parameter \"NextToken\" is not valid.")
