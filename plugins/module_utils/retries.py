# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""When to retry an ECS call, and how long to wait before the next attempt."""

from __future__ import annotations

import random
import typing as t

# Codes that mean "the same request may succeed later": flow control, a busy or failing
# service, and an instance that is still being created.
_RETRYABLE_CODES = frozenset((
    "ServiceUnavailable",
    "InternalError",
    "IncorrectInstanceStatus.Initializing",
))

# The pseudo-code the transport uses for a request that never got an HTTP answer.
CONNECTION_ERROR = "ConnectionError"


def is_retryable(code: str) -> bool:
    return code.startswith("Throttling") or code in _RETRYABLE_CODES or code == CONNECTION_ERROR


class RetryPolicy:
    """Full-jitter exponential backoff, bounded by a number of retries and a total time.

    Full jitter (a uniform draw between zero and the exponential ceiling) spreads the retries
    of many forks that were throttled together, so they do not come back in step.
    """

    def __init__(
        self,
        retries: int = 10,
        base_delay: float = 0.3,
        max_delay: float = 10.0,
        max_elapsed: float = 180.0,
        rng: t.Optional[random.Random] = None,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must not be negative")
        self.retries = retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_elapsed = max_elapsed
        self._rng = rng or random.Random()

    def delay(self, retry_number: int, retry_after: t.Optional[float] = None) -> float:
        """Seconds to sleep before retry ``retry_number`` (1 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry_number - 1)))
        drawn = self._rng.uniform(0, ceiling)
        # The service may say when to come back; never come back sooner than that.
        if retry_after:
            return max(drawn, min(float(retry_after), self.max_delay))
        return drawn

    def next_delay(self, code: str, retry_number: int, elapsed: float,
                   retry_after: t.Optional[float] = None) -> t.Optional[float]:
        """The delay before retry ``retry_number``, or None when the call must give up."""
        if not is_retryable(code) or retry_number > self.retries:
            return None
        delay = self.delay(retry_number, retry_after)
        if elapsed + delay > self.max_elapsed:
            return None
        return delay
