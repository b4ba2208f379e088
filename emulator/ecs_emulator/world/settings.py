"""Tunable behaviour of the world (``World.configure`` and a fleet's ``settings:``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class Settings:
    status_seconds: float = 5.0  # each step Pending->Starting->Running, Running->Stopping->Stopped
    snapshot_seconds: float = 30.0  # a snapshot goes 0% -> 100% over this
    image_seconds: float = 60.0  # an image stays Creating this long
    charge_type_seconds: float = 0.0  # ModifyInstanceChargeType becomes visible after this
    release_lag_seconds: float = 0.0  # a released instance stays listed (Stopped) this long
    snapshot_fail_rate: float = 0.0  # probability that a new snapshot ends failed
    fail_snapshot_disk_ids: list[str] = field(default_factory=list)  # snapshots of these disks fail

    def update(self, **changes: Any) -> None:
        """Validate every change first, so a bad setting leaves the others untouched."""
        known = {f.name: f for f in fields(self)}
        validated: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown setting {name!r}; known: {', '.join(sorted(known))}")
            validated[name] = _validate(name, value)
        for name, value in validated.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _validate(name: str, value: Any) -> Any:
    if name == "fail_snapshot_disk_ids":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ValueError("fail_snapshot_disk_ids must be a list of disk ids")
        return list(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number")  # noqa: TRY004 - configure() promises ValueError
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    if name == "snapshot_fail_rate" and value > 1:
        raise ValueError("snapshot_fail_rate is a probability between 0 and 1")
    return float(value)
