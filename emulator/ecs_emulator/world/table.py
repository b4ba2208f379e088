"""Resources of one kind in one region, with the indexes Describe* filters need.

Rows keep insertion (creation) order. Every indexed attribute and the tags must change through
``set``/``set_tags`` so the indexes stay true; a filter then costs the size of its smallest candidate
set, not the size of the region.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic

from ecs_emulator.world.model import R

OrderedIds = dict[str, None]


class Table(Generic[R]):
    def __init__(self, indexed: tuple[str, ...] = ()) -> None:
        self.rows: dict[str, R] = {}
        self._indexed = indexed
        self._index: dict[str, dict[Any, OrderedIds]] = {name: {} for name in indexed}
        self._tag_pairs: dict[tuple[str, str], OrderedIds] = {}
        self._tag_keys: dict[str, OrderedIds] = {}
        self._sequence: dict[str, int] = {}
        self._next_sequence = 0

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, row_id: str) -> bool:
        return row_id in self.rows

    def get(self, row_id: str) -> R | None:
        return self.rows.get(row_id)

    def add(self, row: R) -> None:
        self.rows[row.id] = row
        self._sequence[row.id] = self._next_sequence
        self._next_sequence += 1
        for name in self._indexed:
            self._index[name].setdefault(getattr(row, name), {})[row.id] = None
        self._index_tags(row.id, row.tags)

    def remove(self, row_id: str) -> R | None:
        row = self.rows.pop(row_id, None)
        if row is None:
            return None
        del self._sequence[row_id]
        for name in self._indexed:
            _discard(self._index[name], getattr(row, name), row_id)
        self._unindex_tags(row_id, row.tags)
        return row

    def set(self, row: R, name: str, value: Any) -> None:
        if name in self._index:
            _discard(self._index[name], getattr(row, name), row.id)
            self._index[name].setdefault(value, {})[row.id] = None
        setattr(row, name, value)

    def set_tags(self, row: R, tags: dict[str, str]) -> None:
        self._unindex_tags(row.id, row.tags)
        row.tags = dict(tags)
        self._index_tags(row.id, row.tags)

    def select(self, *, ids: list[str] | None = None, equal: dict[str, Iterable[Any]] | None = None,
               tags: list[tuple[str, str | None]] | None = None,
               where: Callable[[R], bool] | None = None) -> list[str]:
        """Ids of rows matching every given filter, in creation order (or in ``ids`` order).

        ``equal`` maps an attribute to its accepted values (indexed attributes use the index);
        ``tags`` pairs with value None match on the key alone; ``where`` is a last, scanning predicate.
        """
        # Ordered candidates iterate in creation order (rows, tag sets, ids as given); attribute-index
        # buckets reorder when a row's value changes, so they need a sort when they are walked.
        ordered: list[OrderedIds] = []
        unordered: list[OrderedIds] = []
        scans: list[Callable[[R], bool]] = []
        if ids is not None:
            ordered.append(dict.fromkeys(i for i in ids if i in self.rows))
        for name, values in (equal or {}).items():
            accepted = set(values)
            if name in self._index:
                unordered.append(_union(self._index[name].get(v, {}) for v in accepted))
            else:
                scans.append(lambda row, name=name, accepted=accepted: getattr(row, name) in accepted)
        for key, value in tags or []:
            ordered.append(self._tag_keys.get(key, {}) if value is None else self._tag_pairs.get((key, value), {}))
        if where is not None:
            scans.append(where)
        # A candidate set holding every row filters nothing (e.g. Status=Running on an all-running fleet).
        ordered = [c for c in ordered if len(c) < len(self.rows) or c is (ordered[0] if ids is not None else None)]
        unordered = [c for c in unordered if len(c) < len(self.rows)]
        base = ordered[0] if ids is not None else min(ordered, key=len, default=self.rows)
        smallest_unordered = min(unordered, key=len, default=None)
        needs_sort = smallest_unordered is not None and ids is None and len(smallest_unordered) * 8 < len(base)
        if needs_sort:
            base = smallest_unordered
        others = [c for c in ordered + unordered if c is not base]
        result = list(base) if not others else [i for i in base if all(i in other for other in others)]
        if scans:
            rows = self.rows
            result = [i for i in result if all(scan(rows[i]) for scan in scans)]
        if needs_sort:
            result.sort(key=self._sequence.__getitem__)
        return result

    def _index_tags(self, row_id: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self._tag_pairs.setdefault((key, value), {})[row_id] = None
            self._tag_keys.setdefault(key, {})[row_id] = None

    def _unindex_tags(self, row_id: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            _discard(self._tag_pairs, (key, value), row_id)
            _discard(self._tag_keys, key, row_id)


def _discard(index: dict[Any, OrderedIds], key: Any, row_id: str) -> None:
    bucket = index.get(key)
    if bucket is not None:
        bucket.pop(row_id, None)
        if not bucket:
            del index[key]


def _union(sets: Iterable[OrderedIds]) -> OrderedIds:
    merged: OrderedIds = {}
    for ids in sets:
        merged.update(ids)
    return merged
