"""Snapshots and snapshot groups. Progress and status are read off the clock (``done_time``), so a snapshot
costs nothing while it runs; whether it will fail is drawn once, at creation, from the world's rng."""

from __future__ import annotations

import re
from typing import Any

from ecs_emulator.errors import ApiError
from ecs_emulator.world.disks import disk_not_found
from ecs_emulator.world.model import Disk, Snapshot, SnapshotGroup
from ecs_emulator.world.paging import PagingRules, paginate
from ecs_emulator.world.params import Params, stop_if_dry_run
from ecs_emulator.world.regions import RegionState
from ecs_emulator.world.registry import operation
from ecs_emulator.world.views import (
    render_snapshot,
    render_snapshot_group,
    snapshot_group_status,
    snapshot_status,
)
from ecs_emulator.world.world import World

_SNAPSHOT_NAME = re.compile(r"^[^\W\d_][\w.:\-]{1,127}$")
_GROUP_PAGING = PagingRules(max_results=100)


def _validate_name(name: str, code: str, param: str) -> None:
    # 2..128 characters, starts with a letter, not a URL, and "auto" is reserved for automatic snapshots.
    if name and (not _SNAPSHOT_NAME.match(name) or name.startswith(("http://", "https://", "auto"))):
        raise ApiError(400, code, f"The specified parameter \"{param}\" is not valid.")


def _tags(params: Params) -> dict[str, str]:
    return {key: value or "" for key, value in params.tags()}


def progressing_snapshot(world: World, region: RegionState, disk_id: str) -> bool:
    now = world.now()
    return any(snapshot_status(region.snapshots.rows[s], now) == "progressing"
               for s in region.snapshots.select(equal={"disk_id": [disk_id]}))


def _check_snapshottable(world: World, region: RegionState, disk: Disk) -> None:
    if disk.is_local:
        raise ApiError(403, "InvalidDiskCategory.NotSupported", "Snapshots are not supported for local disks.")
    if disk.instance_id:
        instance = region.instances.get(disk.instance_id)
        if instance is not None and instance.status not in ("Running", "Stopped"):
            raise ApiError(400, "IncorrectInstanceStatus", "The current status of the instance does not support this operation.")
    if progressing_snapshot(world, region, disk.id):
        raise ApiError(403, "IncorrectDiskStatus.CreatingSnapshot", "A snapshot of this disk is being created; try again later.")


def new_snapshot(world: World, region: RegionState, disk: Disk, *, name: str = "", description: str = "",
                 tags: dict[str, str] | None = None, retention_days: int | None = None, usage: str = "none",
                 group_id: str = "") -> Snapshot:
    now = world.now()
    settings = world.settings
    fails = disk.id in settings.fail_snapshot_disk_ids or (
        settings.snapshot_fail_rate > 0 and world.rng.random() < settings.snapshot_fail_rate)
    snapshot = Snapshot(
        id=world.new_id("snapshots", region), region=region.info.region_id, disk_id=disk.id, disk_type=disk.type,
        disk_size=disk.size, creation_time=now, done_time=now + settings.snapshot_seconds, name=name,
        description=description, fails=fails, retention_days=retention_days, usage=usage,
        instance_id=disk.instance_id, group_id=group_id, tags=dict(tags or {}))
    region.snapshots.add(snapshot)
    world.touch("snapshots", region.info.region_id, snapshot.id)
    return snapshot


@operation("CreateSnapshot", write=True, client_token=True)
def create_snapshot(world: World, params: Params) -> dict[str, Any]:
    disk_id = params.str("DiskId", required=True)
    region = world.region(params) if params.has("RegionId") else _region_of_disk(world, disk_id)
    name = params.str("SnapshotName")
    _validate_name(name, "InvalidSnapshotName.Malformed", "SnapshotName")
    retention = params.int("RetentionDays", 0, high=65536) or None
    tags = _tags(params)
    disk = region.disks.get(disk_id)
    if disk is None:
        raise disk_not_found(disk_id)
    _check_snapshottable(world, region, disk)
    stop_if_dry_run(params)
    snapshot = new_snapshot(world, region, disk, name=name, description=params.str("Description"), tags=tags,
                            retention_days=retention)
    return {"SnapshotId": snapshot.id}


def _region_of_disk(world: World, disk_id: str) -> RegionState:
    for region in world.regions.values():
        if disk_id in region.disks:
            return region
    raise disk_not_found(disk_id)


@operation("CreateSnapshotGroup", write=True, client_token=True)
def create_snapshot_group(world: World, params: Params) -> dict[str, Any]:
    region = world.region(params)
    instance = world.find_instance(region, params.str("InstanceId", required=True))
    name = params.str("Name")
    _validate_name(name, "InvalidName.Malformed", "Name")
    if instance.status not in ("Running", "Stopped"):
        raise ApiError(403, "IncorrectInstanceStatus", "The current status of the instance does not support this operation.")
    wanted = params.list("DiskId", limit=16)
    excluded = set(params.list("ExcludeDiskId", limit=16))
    attached = [region.disks.rows[d] for d in region.disks.select(equal={"instance_id": [instance.id]})]
    for disk_id in wanted:
        if disk_id not in {d.id for d in attached}:
            raise disk_not_found(disk_id)
    disks = [d for d in attached if not d.is_local and d.id not in excluded and (not wanted or d.id in wanted)]
    if not disks:
        raise ApiError(400, "InvalidParameter.DiskId", "No disk of the instance can be included in the snapshot group.")
    for disk in disks:
        _check_snapshottable(world, region, disk)
    stop_if_dry_run(params)
    group_id = world.new_id("snapshot_groups", region)
    tags = _tags(params)
    snapshots = [new_snapshot(world, region, disk, tags=tags, group_id=group_id) for disk in disks]
    group = SnapshotGroup(id=group_id, region=region.info.region_id, instance_id=instance.id, creation_time=world.now(),
                          snapshot_ids=[s.id for s in snapshots], name=name, description=params.str("Description"),
                          tags=tags)
    region.snapshot_groups.add(group)
    world.touch("snapshot_groups", region.info.region_id, group.id)
    return {"SnapshotGroupId": group.id}


@operation("DescribeSnapshots", write=False)
def describe_snapshots(world: World, params: Params) -> dict[str, Any]:
    region = world.region(params)
    ids = params.list("SnapshotIds", json_name="SnapshotIds", limit=100, code="InvalidParameter.SnapshotIds") \
        if params.has("SnapshotIds") else None
    equal: dict[str, list[Any]] = {}
    for param, attribute in (("InstanceId", "instance_id"), ("DiskId", "disk_id"), ("SnapshotName", "name")):
        if params.has(param):
            equal[attribute] = [params.str(param)]
    kind = params.choice("SnapshotType", ("auto", "user", "all"), default="all")
    if kind != "all":
        equal["snapshot_type"] = [kind]
    status = params.choice("Status", ("progressing", "accomplished", "failed", "all"), default="all")
    now = world.now()
    where = (lambda s: snapshot_status(s, now) == status) if status != "all" else None
    matches = region.snapshots.select(ids=ids, equal=equal, tags=params.tags(), where=where)
    page = paginate(params, matches)
    rows = region.snapshots.rows
    return {
        **page.envelope("TotalCount", "PageNumber", "PageSize", "NextToken"),
        "Snapshots": {"Snapshot": [render_snapshot(rows[i], now) for i in page.ids]},
    }


@operation("DescribeSnapshotGroups", write=False)
def describe_snapshot_groups(world: World, params: Params) -> dict[str, Any]:
    region = world.region(params)
    ids = params.list("SnapshotGroupId", limit=10) or None
    statuses = set(params.list("Status", limit=3))
    if statuses - {"progressing", "accomplished", "failed"}:
        raise ApiError(400, "InvalidParameter", "The specified parameter \"Status\" is not valid.")
    equal = {"instance_id": [params.str("InstanceId")]} if params.has("InstanceId") else {}
    if params.has("Name"):
        equal["name"] = [params.str("Name")]
    now = world.now()
    where = (lambda g: snapshot_group_status(region, g, now) in statuses) if statuses else None
    matches = region.snapshot_groups.select(ids=ids, equal=equal, tags=params.tags(), where=where)
    page = paginate(params, matches, _GROUP_PAGING)
    rows = region.snapshot_groups.rows
    return {
        "NextToken": page.next_token,
        "SnapshotGroups": {"SnapshotGroup": [render_snapshot_group(region, rows[i], now) for i in page.ids]},
    }


def delete_snapshot_record(world: World, region: RegionState, snapshot_id: str, how: str, **details: Any) -> None:
    snapshot = region.snapshots.remove(snapshot_id)
    if snapshot is not None:
        world.touch("snapshots", region.info.region_id, snapshot_id)
        world.log_release("snapshot", region.info.region_id, snapshot_id, how, name=snapshot.name, **details)


@operation("DeleteSnapshot", write=True)
def delete_snapshot(world: World, params: Params) -> dict[str, Any]:
    snapshot_id = params.str("SnapshotId", required=True)
    params.bool("Force")
    region = next((r for r in world.regions.values() if snapshot_id in r.snapshots), None)
    if region is None:
        raise ApiError(404, "InvalidSnapshotId.NotFound", f"The specified snapshot \"{snapshot_id}\" does not exist.")
    if any(snapshot_id in (m[1] for m in image.mappings) for image in region.images.rows.values()):
        raise ApiError(403, "SnapshotCreatedImage", "The snapshot has been used to create a custom image and cannot be deleted.")
    stop_if_dry_run(params)
    delete_snapshot_record(world, region, snapshot_id, "manual")
    return {}

