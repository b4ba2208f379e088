"""Injected failures: throttling, outages, internal errors, dropped connections and extra latency.

A fault plan maps an action name (or ``"*"`` for every action) to probabilities and a latency. An
action's own entry is laid over the ``"*"`` entry, so ``{"*": {"latency_ms": 20}, "DescribeInstances":
{"throttle": 0.3}}`` throttles 30 % of DescribeInstances calls and slows every call by 20 ms.
One uniform draw per request picks at most one outcome, in the order throttle, unavailable,
internal_error, drop, so the sum of the probabilities is the chance of any failure.

``allow: N`` lets the first N calls of an action through (those the draw does not fail) and throttles
every later one, so a test can stop a client at an exact point: after N snapshots, after one release.
The delay comes first and the outcome is decided when it ends, so a plan set while a request is being
delayed applies to that request.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from .errors import ApiError

OUTCOMES = ("throttle", "unavailable", "internal_error", "drop")
FAULT_KEYS = frozenset(OUTCOMES) | {"latency_ms", "allow"}

FAULT_ERRORS: dict[str, ApiError] = {
    "throttle": ApiError(400, "Throttling.User", "Request was denied due to user flow control."),
    "unavailable": ApiError(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."),
    "internal_error": ApiError(500, "InternalError", "The request processing has failed due to some unknown error."),
}


class DropConnection(Exception):
    """The request must be answered by closing the connection without a response."""


def validate_plan(actions: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Check a plan's shape and numbers; raise ValueError with the offending entry."""
    plan: dict[str, dict[str, float]] = {}
    for action, spec in actions.items():
        if not isinstance(spec, Mapping):
            raise ValueError(f"faults for {action!r} must be an object")
        unknown = set(spec) - FAULT_KEYS
        if unknown:
            raise ValueError(f"unknown fault keys for {action!r}: {sorted(unknown)}")
        entry = {name: float(value) for name, value in spec.items()}
        if any(not 0.0 <= entry.get(name, 0.0) <= 1.0 for name in OUTCOMES):
            raise ValueError(f"fault probabilities for {action!r} must be between 0 and 1")
        if entry.get("latency_ms", 0.0) < 0:
            raise ValueError(f"latency_ms for {action!r} must not be negative")
        if "allow" in entry:
            if entry["allow"] < 0 or entry["allow"] != int(entry["allow"]):
                raise ValueError(f"allow for {action!r} must be a whole number of calls, 0 or more")
            entry["allow"] = int(entry["allow"])
        plan[str(action)] = entry
    return plan


class FaultInjector:
    """Decides, per request, whether and how it fails. Deterministic for a given seed and call order.

    Setting a plan reseeds the generator and restarts the ``allow`` counts, so a test that sets faults
    gets the same sequence of outcomes whatever ran before it.
    """

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._rng = random.Random(seed)
        self._plan: dict[str, dict[str, float]] = {}
        self._resolved: dict[str, dict[str, float]] = {}
        self._allowed: dict[str, int] = {}  # calls let through so far, per action with an ``allow`` limit

    @property
    def plan(self) -> dict[str, dict[str, float]]:
        return {action: dict(entry) for action, entry in self._plan.items()}

    def set_plan(self, actions: Mapping[str, Any], seed: int | None = None) -> None:
        self._plan = validate_plan(actions)
        self._resolved = {}
        self._allowed = {}
        self._rng = random.Random(self._seed if seed is None else seed)

    def clear(self) -> None:
        self.set_plan({})

    def _entry(self, action: str) -> dict[str, float]:
        entry = self._resolved.get(action)
        if entry is None:
            entry = {**self._plan.get("*", {}), **self._plan.get(action, {})}
            self._resolved[action] = entry
        return entry

    def latency_ms(self, action: str) -> float:
        """The delay to add before this action's outcome is decided."""
        return self._entry(action).get("latency_ms", 0.0) if self._plan else 0.0

    def decide(self, action: str) -> str:
        """One of OUTCOMES for a request of this action, or "" to let it through."""
        if not self._plan:
            return ""
        entry = self._entry(action)
        if any(entry.get(name) for name in OUTCOMES):
            draw = self._rng.random()
            threshold = 0.0
            for name in OUTCOMES:
                threshold += entry.get(name, 0.0)
                if draw < threshold:
                    return name
        if "allow" in entry:
            allowed = self._allowed.get(action, 0)
            if allowed >= entry["allow"]:
                return "throttle"
            self._allowed[action] = allowed + 1
        return ""
