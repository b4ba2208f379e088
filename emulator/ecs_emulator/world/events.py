"""Timed events on the virtual clock: a heap of (due, seq, kind, region, resource id).

Events are derived from resource fields (status_due, auto_release_time, expired_time ...), never stored on
their own: a loaded world rebuilds the heap from its resources. A handler re-checks the field when the event
fires, so an event made stale by a later change (auto-release cancelled, instance released) does nothing.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator


class EventQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str, str, str]] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, due: float, kind: str, region: str, resource_id: str) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, kind, region, resource_id))

    def pop_due(self, now: float) -> Iterator[tuple[float, str, str, str]]:
        """Events due at ``now`` in time order, including ones scheduled by handlers while iterating."""
        while self._heap and self._heap[0][0] <= now:
            due, _, kind, region, resource_id = heapq.heappop(self._heap)
            yield due, kind, region, resource_id

    def clear(self) -> None:
        self._heap.clear()
