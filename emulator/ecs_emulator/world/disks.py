"""Disks: DescribeDisks, ModifyDiskAttribute, and what happens to disks when their instance is released."""

from __future__ import annotations

from typing import Any

from ecs_emulator.errors import ApiError, missing_parameter
from ecs_emulator.world.model import PAY_AS_YOU_GO, Disk, Instance
from ecs_emulator.world.paging import PagingRules, paginate
from ecs_emulator.world.params import Params, stop_if_dry_run
from ecs_emulator.world.regions import RegionState
from ecs_emulator.world.registry import operation
from ecs_emulator.world.views import render_disk
from ecs_emulator.world.world import World

DISK_STATUSES = ("In_use", "Available", "Attaching", "Detaching", "Creating", "ReIniting")
_DISK_PAGING = PagingRules(max_page_size=100, max_results=500)


def disk_not_found(disk_id: str) -> ApiError:
    return ApiError(404, "InvalidDiskId.NotFound", f"The specified disk \"{disk_id}\" does not exist.")


@operation("DescribeDisks", write=False)
def describe_disks(world: World, params: Params) -> dict[str, Any]:
    region = world.region(params)
    ids = None
    if params.has("DiskIds"):
        ids = params.list("DiskIds", json_name="DiskIds", limit=100, code="InvalidParameter.DiskIds")
    equal: dict[str, list[Any]] = {}
    if params.has("InstanceId"):
        equal["instance_id"] = [params.str("InstanceId")]
    disk_type = params.choice("DiskType", ("all", "system", "data"), default="all", code="InvalidDiskType.ValueNotSupported")
    if disk_type != "all":
        equal["type"] = [disk_type]
    status = params.str("Status")
    if status and status != "All":
        if status not in DISK_STATUSES:
            raise ApiError(400, "InvalidStatus.ValueNotSupported", f"The specified Status \"{status}\" is not supported.")
        equal["status"] = [status]
    for param, attribute in (("Portable", "portable"), ("DeleteWithInstance", "delete_with_instance"),
                             ("DeleteAutoSnapshot", "delete_auto_snapshot"), ("EnableAutoSnapshot", "enable_auto_snapshot")):
        flag = params.optional_bool(param)
        if flag is not None:
            equal[attribute] = [flag]
    for param, attribute in (("ZoneId", "zone"), ("Category", "category"), ("DiskName", "name"),
                             ("DiskChargeType", "charge_type")):
        if params.has(param):
            equal[attribute] = [params.str(param)]
    matches = region.disks.select(ids=ids, equal=equal, tags=params.tags())
    page = paginate(params, matches, _DISK_PAGING)
    rows = region.disks.rows
    return {
        **page.envelope("TotalCount", "PageNumber", "PageSize", "NextToken"),
        "Disks": {"Disk": [render_disk(rows[i]) for i in page.ids]},
    }


@operation("ModifyDiskAttribute", write=True)
def modify_disk_attribute(world: World, params: Params) -> dict[str, Any]:
    region = world.region(params)
    ids = params.list("DiskIds", limit=100)
    if params.has("DiskId"):
        if ids:
            raise ApiError(400, "InvalidParameter", "DiskId and DiskIds.N cannot be specified together.")
        ids = [params.str("DiskId")]
    if not ids:
        raise missing_parameter("DiskId")
    delete_with_instance = params.optional_bool("DeleteWithInstance")
    delete_auto_snapshot = params.optional_bool("DeleteAutoSnapshot")
    enable_auto_snapshot = params.optional_bool("EnableAutoSnapshot")
    name, description = params.str("DiskName"), params.str("Description")
    if (delete_with_instance is None and delete_auto_snapshot is None and enable_auto_snapshot is None
            and not name and not params.has("Description")):
        raise ApiError(400, "NoAttributeToModify", "No attribute to be modified in this request.")
    disks = []
    for disk_id in ids:
        disk = region.disks.get(disk_id)
        if disk is None:
            raise disk_not_found(disk_id)
        if delete_with_instance is False and (disk.is_local or not disk.portable):
            # Only portable (cloud data) disks can outlive their instance.
            raise ApiError(403, "DiskNotPortable", "The specified disk is not a portable disk.")
        if delete_with_instance is not None and not disk.instance_id:
            raise ApiError(403, "IncorrectDiskStatus", "The current disk status does not support this operation.")
        disks.append(disk)
    stop_if_dry_run(params)
    for disk in disks:
        for attribute, value in (("delete_with_instance", delete_with_instance), ("delete_auto_snapshot", delete_auto_snapshot),
                                 ("enable_auto_snapshot", enable_auto_snapshot), ("name", name or None)):
            if value is not None:
                region.disks.set(disk, attribute, value)
        if params.has("Description"):
            disk.description = description
        world.touch("disks", region.info.region_id, disk.id)
    return {}


def disk_goes_with_instance(disk: Disk) -> bool:
    return disk.type == "system" or disk.is_local or disk.delete_with_instance


def release_instance_disks(world: World, region: RegionState, instance: Instance, how: str) -> None:
    """System, local and DeleteWithInstance disks go (with their automatic snapshots when DeleteAutoSnapshot);
    other data disks stay as detached, portable, pay-as-you-go disks. Manual snapshots always stay."""
    from ecs_emulator.world.snapshots import delete_snapshot_record

    region_id = region.info.region_id
    now = world.now()
    for disk_id in region.disks.select(equal={"instance_id": [instance.id]}):
        disk = region.disks.rows[disk_id]
        if not disk_goes_with_instance(disk):
            region.disks.set(disk, "instance_id", "")
            region.disks.set(disk, "status", "Available")
            disk.device, disk.portable, disk.charge_type, disk.detached_time = "", True, PAY_AS_YOU_GO, now
            disk.delete_with_instance = False
            world.touch("disks", region_id, disk_id)
            continue
        if disk.delete_auto_snapshot:
            for snapshot_id in region.snapshots.select(equal={"disk_id": [disk_id]}):
                if region.snapshots.rows[snapshot_id].snapshot_type == "auto":
                    delete_snapshot_record(world, region, snapshot_id, "with_disk", disk_id=disk_id)
        region.disks.remove(disk_id)
        world.touch("disks", region_id, disk_id)
        world.log_release("disk", region_id, disk_id, "with_instance", instance_id=instance.id, name=disk.name)
