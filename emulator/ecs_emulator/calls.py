"""The record of every API request the emulator answered, for tests and benchmarks to assert on."""

from __future__ import annotations

from typing import Any

# Protocol and auth parameters say how a request was sent, not what it asked for.
PROTOCOL_PARAMS = frozenset(
    {
        "Signature",
        "AccessKeyId",
        "SecurityToken",
        "SignatureNonce",
        "Timestamp",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureType",
        "Format",
        "Version",
        "Action",
    }
)

CallRecord = dict[str, Any]


def request_params(params: dict[str, str]) -> dict[str, str]:
    """The parameters the world sees: everything but the protocol's own."""
    return {name: value for name, value in params.items() if name not in PROTOCOL_PARAMS}


class CallLog:
    """Calls in arrival order since the last clear; ``seq`` starts again at 1 after a clear.

    ``seq`` equals the position plus one, so ``calls(since=n)`` is a slice and a test can write
    ``before = len(emu.calls())`` and later ask for ``emu.calls(since=before)``.
    """

    def __init__(self) -> None:
        self._records: list[CallRecord] = []

    def add(self, record: CallRecord) -> CallRecord:
        record["seq"] = len(self._records) + 1
        self._records.append(record)
        return record

    def since(self, seq: int = 0, action: str | None = None) -> list[CallRecord]:
        records = self._records[max(seq, 0) :]
        if action:
            records = [record for record in records if record["action"] == action]
        return records

    @property
    def last_seq(self) -> int:
        return len(self._records)

    def clear(self) -> None:
        self._records = []
