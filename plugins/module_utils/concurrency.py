# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bounded concurrency for API calls that have no batch form (one instance per call)."""

from __future__ import annotations

import typing as t
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import EcsError

Item = t.TypeVar("Item")
Result = t.TypeVar("Result")

# ECS throttles per account and API; eight calls in flight keeps a large run quick without
# turning it into a throttling storm (the client retries what is throttled anyway).
DEFAULT_WORKERS = 8


class Outcome(t.NamedTuple, t.Generic[Item, Result]):
    done: t.List[t.Tuple[Item, Result]]  # in the order the items were given
    failed: t.List[t.Tuple[Item, EcsError]]


def run_concurrently(work: t.Callable[[Item], Result], items: t.Sequence[Item],
                     workers: int = DEFAULT_WORKERS) -> "Outcome[Item, Result]":
    """Run ``work`` on every item, at most ``workers`` at a time.

    An ``EcsError`` for one item does not stop the others: the caller decides what a partial
    result means and reports both lists. Any other exception is a bug and propagates.
    """
    done: t.List[t.Tuple[Item, Result]] = []
    failed: t.List[t.Tuple[Item, EcsError]] = []
    if not items:
        return Outcome(done, failed)

    def attempt(item: Item) -> t.Tuple[Item, t.Optional[Result], t.Optional[EcsError]]:
        try:
            return item, work(item), None
        except EcsError as error:
            return item, None, error

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        for item, result, error in pool.map(attempt, items):
            if error is None:
                done.append((item, t.cast(Result, result)))
            else:
                failed.append((item, error))
    return Outcome(done, failed)
