"""The emulated resources: plain records, indexed by ``Table`` and serialised to SQLite as JSON.

Times are epoch floats on the virtual clock; rendering to the API's string formats happens in the
operation modules. ``slots`` keeps 100,000 instances and their disks small in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, TypeVar

PAY_AS_YOU_GO = "PostPaid"
SUBSCRIPTION = "PrePaid"
# DescribeInstances shows this ExpiredTime for every pay-as-you-go instance.
NEVER_EXPIRES = "2099-12-31T15:59Z"
LOCAL_CATEGORIES = frozenset({"ephemeral", "ephemeral_ssd", "local_ssd_pro", "local_hdd_pro"})


@dataclass(slots=True)
class Instance:
    id: str
    region: str
    zone: str
    name: str
    status: str
    charge_type: str
    creation_time: float
    description: str = ""
    host_name: str = ""
    # Statuses still to come, each ``status_seconds`` after the previous one (Starting -> Running ...).
    status_path: list[str] = field(default_factory=list)
    status_due: float | None = None
    expired_time: float | None = None
    auto_release_time: float | None = None
    deletion_protection: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    instance_type: str = "ecs.g7.large"
    cpu: int = 2
    memory: int = 8192
    image_id: str = "aliyun_3_x64_20G_alibase_20240528.vhd"
    os_name: str = "Alibaba Cloud Linux 3.2104 LTS 64 bit"
    public_ip: str = ""
    eip_id: str = ""
    private_ip: str = ""
    vpc_id: str = ""
    vswitch_id: str = ""
    security_group_id: str = ""
    internet_charge_type: str = "PayByTraffic"
    bandwidth_out: int = 5
    locks: list[str] = field(default_factory=list)
    stopped_mode: str = ""
    start_time: float | None = None
    # A ModifyInstanceChargeType switch that becomes visible at ``charge_switch_due``.
    charge_switch: str = ""
    charge_switch_due: float | None = None
    # Set when released with a configured release lag: still listed, no longer operable.
    released_at: float | None = None


@dataclass(slots=True)
class Disk:
    id: str
    region: str
    zone: str
    type: str  # system | data
    category: str
    size: int
    status: str  # In_use | Available
    creation_time: float
    name: str = ""
    description: str = ""
    instance_id: str = ""
    device: str = ""
    portable: bool = True
    delete_with_instance: bool = True
    delete_auto_snapshot: bool = False
    enable_auto_snapshot: bool = True
    charge_type: str = PAY_AS_YOU_GO
    attached_time: float | None = None
    detached_time: float | None = None
    image_id: str = ""
    source_snapshot_id: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        return self.category in LOCAL_CATEGORIES


@dataclass(slots=True)
class Snapshot:
    id: str
    region: str
    disk_id: str
    disk_type: str  # system | data
    disk_size: int
    creation_time: float
    done_time: float
    name: str = ""
    description: str = ""
    snapshot_type: str = "user"  # user | auto
    fails: bool = False
    retention_days: int | None = None
    usage: str = "none"
    instance_id: str = ""
    group_id: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class SnapshotGroup:
    id: str
    region: str
    instance_id: str
    creation_time: float
    snapshot_ids: list[str]
    name: str = ""
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Image:
    id: str
    region: str
    name: str
    creation_time: float
    done_time: float
    description: str = ""
    owner: str = "self"  # self | system
    source_instance_id: str = ""
    # (device, snapshot id, size) per disk the image was made from.
    mappings: list[list[Any]] = field(default_factory=list)
    size: int = 40
    os_name: str = "Alibaba Cloud Linux 3.2104 LTS 64 bit"
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Eip:
    id: str
    region: str
    ip: str
    status: str  # Available | InUse
    allocation_time: float
    instance_id: str = ""
    bandwidth: int = 5
    internet_charge_type: str = "PayByTraffic"
    charge_type: str = PAY_AS_YOU_GO
    name: str = ""
    tags: dict[str, str] = field(default_factory=dict)


Resource = Instance | Disk | Snapshot | SnapshotGroup | Image | Eip
R = TypeVar("R", Instance, Disk, Snapshot, SnapshotGroup, Image, Eip)

# Kind names used by the store, ``state()`` and the ``released`` log.
KINDS: dict[str, type] = {
    "instances": Instance,
    "disks": Disk,
    "snapshots": Snapshot,
    "snapshot_groups": SnapshotGroup,
    "images": Image,
    "eips": Eip,
}
FIELD_NAMES: dict[type, tuple[str, ...]] = {cls: tuple(f.name for f in fields(cls)) for cls in KINDS.values()}
_FIELDS = FIELD_NAMES
_GETTERS = {cls: attrgetter(*names) for cls, names in FIELD_NAMES.items()}


def values_of(resource: Any) -> tuple[Any, ...]:
    """Every field in declaration order: the compact form the store persists."""
    return _GETTERS[type(resource)](resource)


def from_values(cls: type[R], names: list[str] | tuple[str, ...], values: list[Any] | tuple[Any, ...]) -> R:
    """Rebuild a resource; ``names`` are the fields as saved, so a state file from an older layout still loads."""
    if tuple(names) == FIELD_NAMES[cls]:
        return cls(*values)
    return from_record(cls, dict(zip(names, values)))


def to_record(resource: Any) -> dict[str, Any]:
    """A JSON-ready dict of every field (lists and dicts copied so the record is a snapshot)."""
    record = {}
    for name in _FIELDS[type(resource)]:
        value = getattr(resource, name)
        if isinstance(value, (list, dict)):
            value = value.copy()
        record[name] = value
    return record


def from_record(cls: type[R], record: dict[str, Any]) -> R:
    known = _FIELDS[cls]
    return cls(**{k: v for k, v in record.items() if k in known})


def minute_time(ts: float | None) -> str:
    """``yyyy-MM-ddTHH:mmZ`` as DescribeInstances shows CreationTime, ExpiredTime, AutoReleaseTime."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%MZ")


def second_time(ts: float | None) -> str:
    """``yyyy-MM-ddTHH:mm:ssZ`` as disks, snapshots and images show their times."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
