# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Waiting for many resources at once, with a timeout that says what is still pending."""

from __future__ import annotations

import time
import typing as t

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import WaitTimeout

# Poll quickly at first (most changes are fast on the emulator and often on ECS),
# then back off so a long wait over thousands of resources stays cheap.
_FIRST_DELAY = 1.0
_MAX_DELAY = 15.0


class Waiter:
    """Polls ``pending_of(ids) -> ids still pending`` until none are left or time is up."""

    def __init__(self, what: str, timeout: float,
                 sleep: t.Callable[[float], None] = time.sleep,
                 monotonic: t.Callable[[], float] = time.monotonic) -> None:
        self.what = what
        self.timeout = timeout
        self.polls = 0
        self._sleep = sleep
        self._monotonic = monotonic

    def wait(self, ids: t.Iterable[str],
             pending_of: t.Callable[[t.List[str]], t.Iterable[str]]) -> None:
        pending = sorted(set(ids))
        total = len(pending)
        deadline = self._monotonic() + self.timeout
        delay = _FIRST_DELAY
        while pending:
            self.polls += 1
            pending = sorted(set(pending_of(pending)))
            if not pending:
                return
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                raise WaitTimeout(self.what, self.timeout, pending, total)
            self._sleep(min(delay, remaining))
            delay = min(delay * 1.5, _MAX_DELAY)
