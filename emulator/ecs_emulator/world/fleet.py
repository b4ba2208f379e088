"""Fleet files: a YAML (or dict) description of the world to start from. Format in emulator/README.md.

An instance entry with ``count: N`` stands for N instances; its strings may hold ``{n}`` fields, where
``n`` runs from ``start`` (default 1). A field is ``n``, optionally followed by integer operations applied
left to right (``n % 10``, ``n // 256 % 256``, ``n + 100``) and a format spec (``{n:05d}``). Nothing else
is evaluated. ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import yaml

from ecs_emulator.world.instances import schedule_instance_events
from ecs_emulator.world.model import (
    LOCAL_CATEGORIES,
    PAY_AS_YOU_GO,
    SUBSCRIPTION,
    Disk,
    Eip,
    Instance,
    Snapshot,
)
from ecs_emulator.world.regions import RegionState
from ecs_emulator.world.world import World


class FleetError(ValueError):
    """A fleet file that cannot be built; the message names the offending entry."""


# ----------------------------------------------------------------- patterns

_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_EXPRESSION = re.compile(r"^\s*n((?:\s*(?://|[%+*-])\s*\d+)*)\s*$")
_OPERATION = re.compile(r"(//|[%+*-])\s*(\d+)")
_APPLY: dict[str, Callable[[int, int], int]] = {
    "%": lambda a, b: a % b, "//": lambda a, b: a // b, "+": lambda a, b: a + b, "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
}


def _compile_pattern(text: str) -> Callable[[int], str] | str:
    """A function of n for a string with fields, or the string itself when it has none."""
    if "{" not in text and "}" not in text:
        return text
    # Compiled to one str.format template: "batch-{n:05d}" -> "batch-{0:05d}", fed the computed values.
    template: list[str] = []
    fields: list[list[tuple[str, int]]] = []
    position = 0
    for match in _FIELD.finditer(text):
        template.append(_escape(text[position:match.start()]))
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            template.append(token)
            continue
        expression, _, spec = match.group(1).partition(":")
        parsed = _EXPRESSION.match(expression)
        if parsed is None:
            raise FleetError(f"pattern {text!r}: {{{match.group(1)}}} is not n, n % 10, n // 256, ... with a format")
        operations = [(op, int(number)) for op, number in _OPERATION.findall(parsed.group(1))]
        if any(op in ("%", "//") and number == 0 for op, number in operations):
            raise FleetError(f"pattern {text!r}: division by zero")
        try:
            format(0, spec)
        except ValueError:
            raise FleetError(f"pattern {text!r}: bad format spec {spec!r}") from None
        template.append(f"{{{len(fields)}:{spec}}}")
        fields.append(operations)
    tail = text[position:]
    if "{" in tail or "}" in tail:
        raise FleetError(f"pattern {text!r}: unbalanced braces")
    template.append(tail)
    compiled = "".join(template)

    def value(n: int, operations: list[tuple[str, int]]) -> int:
        for op, number in operations:
            n = _APPLY[op](n, number)
        return n

    return lambda n: compiled.format(*[value(n, operations) for operations in fields])


def _escape(literal: str) -> str:
    if "{" in literal or "}" in literal:
        raise FleetError(f"pattern fragment {literal!r}: unbalanced braces")
    return literal


def _compile(template: Any) -> Callable[[int], Any]:
    """Pre-compile every string of an entry so rendering 100,000 copies is cheap."""
    dynamic, value = _compile_node(template)
    return value if dynamic else (lambda n: value)


def _compile_node(template: Any) -> tuple[bool, Any]:
    """(True, function of n) for a subtree with fields, (False, the subtree) for a constant one.

    Constant subtrees are shared between the rendered copies: the builder only reads them.
    """
    if isinstance(template, str):
        pattern = _compile_pattern(template)
        return callable(pattern), pattern
    if isinstance(template, dict):
        items = [(_compile_node(k), _compile_node(v)) for k, v in template.items()]
        if not any(kd or vd for (kd, _), (vd, _) in items):
            return False, template
        constant = {k: v for (kd, k), (vd, v) in items if not kd and not vd}
        varying = [(k if kd else (lambda n, k=k: k), v if vd else (lambda n, v=v: v))
                   for (kd, k), (vd, v) in items if kd or vd]
        return True, lambda n: {**constant, **{k(n): v(n) for k, v in varying}}
    if isinstance(template, list):
        elements = [_compile_node(v) for v in template]
        if not any(d for d, _ in elements):
            return False, template
        renders = [e if d else (lambda n, e=e: e) for d, e in elements]
        return True, lambda n: [r(n) for r in renders]
    return False, template


# ----------------------------------------------------------------- values

_RELATIVE = re.compile(r"^([+-])\s*(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def fleet_time(value: Any, now: float, where: str) -> float | None:
    """``now``, relative (``+2h``, ``-30d``, ``+90m``) or absolute ISO-8601 UTC times; None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=value.tzinfo or UTC).timestamp()
    text = str(value).strip()
    if text == "now":
        return now
    relative = _RELATIVE.match(text)
    if relative:
        sign = 1 if relative.group(1) == "+" else -1
        return now + sign * float(relative.group(2)) * _UNITS[relative.group(3)]
    for layout in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise FleetError(f"{where}: {value!r} is not a time (use now, +2h, -30d or 2030-01-01T00:00:00Z)")


def _check_keys(entry: dict[str, Any], allowed: set[str], where: str) -> None:
    if not isinstance(entry, dict):
        raise FleetError(f"{where}: expected a mapping, got {entry!r}")
    unknown = set(entry) - allowed
    if unknown:
        raise FleetError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")


def _tags(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FleetError(f"{where}: tags must be a mapping")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


# ----------------------------------------------------------------- reading

def read_fleet(fleet: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(fleet, str):
        with open(fleet, encoding="utf-8") as handle:
            fleet = yaml.safe_load(handle) or {}
    _check_keys(fleet, {"settings", "regions", "description"}, "fleet")
    return fleet


_INSTANCE_KEYS = {"id", "name", "count", "start", "status", "charge_type", "expired_time", "expired",
                  "deletion_protection", "auto_release_time", "tags", "zone", "instance_type", "image_id", "description",
                  "host_name", "public_ip", "eip", "private_ip", "vpc_id", "vswitch_id", "security_group_id",
                  "internet_charge_type", "bandwidth", "locks", "creation_time", "disks", "stopped_mode"}
_DISK_KEYS = {"id", "name", "category", "size", "delete_with_instance", "delete_auto_snapshot", "portable", "tags",
              "snapshots", "description", "charge_type", "zone", "enable_auto_snapshot", "creation_time"}
_SNAPSHOT_KEYS = {"id", "name", "type", "status", "creation_time", "description", "tags", "retention_days"}
_EIP_KEYS = {"id", "ip", "bandwidth", "name", "internet_charge_type"}
_TRANSITIONS = {"Pending": ["Starting", "Running"], "Starting": ["Running"], "Stopping": ["Stopped"]}


def build_fleet(world: World, fleet: dict[str, Any]) -> None:
    world.settings.update(**(fleet.get("settings") or {}))
    regions = fleet.get("regions") or {}
    if not isinstance(regions, dict):
        raise FleetError("regions: expected a mapping of region id to its resources")
    for region_id, spec in regions.items():
        spec = spec or {}
        _check_keys(spec, {"zones", "instances", "disks", "eips"}, f"regions.{region_id}")
        region = world.add_region(str(region_id), spec.get("zones"))
        builder = _RegionBuilder(world, region)
        for number, entry in enumerate(spec.get("instances") or [], 1):
            builder.instances(entry, f"regions.{region_id}.instances[{number}]")
        for number, entry in enumerate(spec.get("disks") or [], 1):
            builder.standalone_disk(entry, f"regions.{region_id}.disks[{number}]")
        for number, entry in enumerate(spec.get("eips") or [], 1):
            builder.standalone_eip(entry, f"regions.{region_id}.eips[{number}]")


class _RegionBuilder:
    def __init__(self, world: World, region: RegionState) -> None:
        self.world = world
        self.region = region
        self.region_id = region.info.region_id
        self.now = world.now()
        self.hosts = len(region.instances)
        prefix = region.info.id_prefix
        self.vpc_id = f"vpc-{prefix}emulator{0:010d}"
        self.vswitch_id = f"vsw-{prefix}emulator{0:010d}"
        self.security_group_id = f"sg-{prefix}emulator{0:010d}"

    def instances(self, entry: dict[str, Any], where: str) -> None:
        _check_keys(entry, _INSTANCE_KEYS, where)
        count = entry.get("count", 1)
        start = entry.get("start", 1)
        if not isinstance(count, int) or count < 0 or not isinstance(start, int):
            raise FleetError(f"{where}: count and start must be integers")
        template = {k: v for k, v in entry.items() if k not in ("count", "start")}
        render = _compile(template)
        for n in range(start, start + count):
            self.instance(render(n), where)

    def instance(self, spec: dict[str, Any], where: str) -> None:
        world, now = self.world, self.now
        charge_type = spec.get("charge_type", PAY_AS_YOU_GO)
        if charge_type not in (PAY_AS_YOU_GO, SUBSCRIPTION):
            raise FleetError(f"{where}: charge_type must be PostPaid or PrePaid")
        status = spec.get("status", "Running")
        if status not in ("Pending", "Starting", "Running", "Stopping", "Stopped"):
            raise FleetError(f"{where}: unknown status {status!r}")
        expired_time = fleet_time(spec.get("expired_time"), now, where)
        if charge_type == SUBSCRIPTION and expired_time is None:
            expired_time = now - 86400 if spec.get("expired") else now + 30 * 86400
        if charge_type == PAY_AS_YOU_GO and (expired_time is not None or spec.get("expired")):
            raise FleetError(f"{where}: only PrePaid (subscription) instances expire")
        auto_release = fleet_time(spec.get("auto_release_time"), now, where)
        if auto_release is not None and charge_type != PAY_AS_YOU_GO:
            raise FleetError(f"{where}: auto_release_time applies to PostPaid instances only")
        self.hosts += 1
        zone = spec.get("zone") or self.region.info.zones[0]
        creation = fleet_time(spec.get("creation_time"), now, where) or now - 30 * 86400
        instance = Instance(
            id=spec.get("id") or world.new_id("instances", self.region), region=self.region_id, zone=zone,
            name=str(spec.get("name", "")), status=status, charge_type=charge_type, creation_time=creation,
            description=str(spec.get("description", "")), host_name=str(spec.get("host_name", "")),
            expired_time=expired_time if charge_type == SUBSCRIPTION else None, auto_release_time=auto_release,
            deletion_protection=bool(spec.get("deletion_protection", False)), tags=_tags(spec.get("tags"), where),
            instance_type=spec.get("instance_type", "ecs.g7.large"),
            image_id=spec.get("image_id", "aliyun_3_x64_20G_alibase_20240528.vhd"),
            public_ip=str(spec.get("public_ip", "")),
            private_ip=spec.get("private_ip") or f"172.16.{self.hosts // 250 % 250}.{self.hosts % 250 + 3}",
            vpc_id=spec.get("vpc_id", self.vpc_id), vswitch_id=spec.get("vswitch_id", self.vswitch_id),
            security_group_id=spec.get("security_group_id", self.security_group_id),
            internet_charge_type=spec.get("internet_charge_type", "PayByTraffic"),
            bandwidth_out=int(spec.get("bandwidth", 5)), locks=[str(lock) for lock in spec.get("locks") or []],
            stopped_mode=spec.get("stopped_mode", "KeepCharging" if status == "Stopped" else ""),
            start_time=creation if status == "Running" else None,
        )
        if instance.id in self.region.instances:
            raise FleetError(f"{where}: duplicate instance id {instance.id}")
        if status in _TRANSITIONS:
            instance.status_path = list(_TRANSITIONS[status])
            instance.status_due = now + world.settings.status_seconds
        if charge_type == SUBSCRIPTION and expired_time is not None and expired_time <= now:
            instance.status, instance.status_path, instance.status_due = "Stopped", [], None
            instance.stopped_mode = "KeepCharging"
            instance.locks.append("financial")
        eip = spec.get("eip")
        if eip:
            instance.eip_id = self.eip(eip if isinstance(eip, dict) else {"ip": eip}, where, bound_to=instance.id).id
        self.region.instances.add(instance)
        self.disks(instance, spec.get("disks") or {}, where)
        schedule_instance_events(world, instance)

    def disks(self, instance: Instance, spec: dict[str, Any], where: str) -> None:
        _check_keys(spec, {"system", "data", "local"}, f"{where}.disks")
        devices = (f"/dev/xvd{letter}" for letter in "abcdefghijklmnopqrstuvwxyz")
        system = {"category": "cloud_essd", "size": 40, **(spec.get("system") or {})}
        self.disk(system, f"{where}.disks.system", instance=instance, kind="system", device=next(devices))
        for number, data in enumerate(spec.get("data") or [], 1):
            self.disk({"category": "cloud_essd", "size": 100, **data}, f"{where}.disks.data[{number}]",
                      instance=instance, kind="data", device=next(devices))
        for number, local in enumerate(spec.get("local") or [], 1):
            self.disk({"category": "ephemeral_ssd", "size": 447, **local}, f"{where}.disks.local[{number}]",
                      instance=instance, kind="data", device=next(devices))

    def standalone_disk(self, spec: dict[str, Any], where: str) -> None:
        self.disk({"category": "cloud_essd", "size": 100, **spec}, where, instance=None, kind="data", device="")

    def disk(self, spec: dict[str, Any], where: str, *, instance: Instance | None, kind: str, device: str) -> Disk:
        _check_keys(spec, _DISK_KEYS, where)
        category = str(spec["category"])
        local = category in LOCAL_CATEGORIES
        portable = bool(spec.get("portable", kind == "data" and not local))
        disk = Disk(
            id=spec.get("id") or self.world.new_id("disks", self.region), region=self.region_id,
            zone=spec.get("zone") or (instance.zone if instance else self.region.info.zones[0]), type=kind,
            category=category, size=int(spec["size"]), status="In_use" if instance else "Available",
            creation_time=fleet_time(spec.get("creation_time"), self.now, where) or (
                instance.creation_time if instance else self.now - 7 * 86400),
            name=str(spec.get("name", "")), description=str(spec.get("description", "")),
            instance_id=instance.id if instance else "", device=device, portable=portable,
            delete_with_instance=bool(spec.get("delete_with_instance", instance is not None)),
            delete_auto_snapshot=bool(spec.get("delete_auto_snapshot", False)),
            enable_auto_snapshot=bool(spec.get("enable_auto_snapshot", True)),
            charge_type=spec.get("charge_type", instance.charge_type if instance else PAY_AS_YOU_GO),
            image_id=instance.image_id if instance and kind == "system" else "",
            tags=_tags(spec.get("tags"), where),
        )
        if instance is not None:
            disk.attached_time = instance.creation_time
        self.region.disks.add(disk)
        for number, snapshot in enumerate(spec.get("snapshots") or [], 1):
            self.snapshot(disk, snapshot, f"{where}.snapshots[{number}]")
        return disk

    def snapshot(self, disk: Disk, spec: dict[str, Any], where: str) -> None:
        _check_keys(spec, _SNAPSHOT_KEYS, where)
        kind = spec.get("type", "user")
        status = spec.get("status", "accomplished")
        if kind not in ("user", "auto") or status not in ("accomplished", "progressing", "failed"):
            raise FleetError(f"{where}: type is user|auto, status accomplished|progressing|failed")
        created = fleet_time(spec.get("creation_time"), self.now, where) or self.now - 86400
        if status == "progressing":
            created = self.now
        name = spec.get("name") or (f"auto_{self.world.rng.randrange(10**8):08d}" if kind == "auto" else "")
        self.region.snapshots.add(Snapshot(
            id=spec.get("id") or self.world.new_id("snapshots", self.region), region=self.region_id, disk_id=disk.id,
            disk_type=disk.type, disk_size=disk.size, creation_time=created,
            done_time=created + self.world.settings.snapshot_seconds, name=str(name),
            description=str(spec.get("description", "")), snapshot_type=kind, fails=status == "failed",
            retention_days=spec.get("retention_days"), instance_id=disk.instance_id, tags=_tags(spec.get("tags"), where)))

    def standalone_eip(self, spec: dict[str, Any], where: str) -> None:
        self.eip(spec, where, bound_to="")

    def eip(self, spec: dict[str, Any], where: str, *, bound_to: str) -> Eip:
        _check_keys(spec, _EIP_KEYS, where)
        if not spec.get("ip"):
            raise FleetError(f"{where}: an EIP needs an ip")
        eip = Eip(id=spec.get("id") or self.world.new_id("eips", self.region), region=self.region_id, ip=str(spec["ip"]),
                  status="InUse" if bound_to else "Available", allocation_time=self.now - 30 * 86400,
                  instance_id=bound_to, bandwidth=int(spec.get("bandwidth", 5)), name=str(spec.get("name", "")),
                  internet_charge_type=spec.get("internet_charge_type", "PayByTraffic"))
        self.region.eips.add(eip)
        return eip
