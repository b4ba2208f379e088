"""Custom images (CreateImage, DescribeImages) and a small catalogue of public system images."""

from __future__ import annotations

import re
from typing import Any

from ecs_emulator.errors import ApiError
from ecs_emulator.world.model import Image
from ecs_emulator.world.paging import PagingRules, paginate
from ecs_emulator.world.params import Params, stop_if_dry_run
from ecs_emulator.world.regions import RegionState
from ecs_emulator.world.registry import operation
from ecs_emulator.world.snapshots import new_snapshot
from ecs_emulator.world.views import image_status, render_image
from ecs_emulator.world.world import World

_IMAGE_NAME = re.compile(r"^[^\W\d_][\w.:\-]{1,127}$")
_STATUSES = ("Creating", "Waiting", "Available", "UnAvailable", "CreateFailed", "Deprecated")
# Public images every region offers; instances in fleets boot from the first one by default.
SYSTEM_IMAGES = (
    ("aliyun_3_x64_20G_alibase_20240528.vhd", "Alibaba Cloud Linux 3.2104 LTS 64 bit"),
    ("ubuntu_22_04_x64_20G_alibase_20240530.vhd", "Ubuntu 22.04 64 bit"),
    ("centos_7_9_x64_20G_alibase_20240628.vhd", "CentOS 7.9 64 bit"),
)


def _system_images(region: RegionState) -> list[Image]:
    return [Image(id=image_id, region=region.info.region_id, name=image_id.removesuffix(".vhd"), creation_time=0.0,
                  done_time=0.0, owner="system", size=20, os_name=os_name) for image_id, os_name in SYSTEM_IMAGES]


@operation("CreateImage", write=True, client_token=True)
def create_image(world: World, params: Params) -> dict[str, Any]:
    region = world.region(params)
    name = params.str("ImageName")
    if name and (not _IMAGE_NAME.match(name) or name.startswith(("http://", "https://", "aliyun", "acs:"))):
        raise ApiError(400, "InvalidImageName.Malformed", "The specified parameter \"ImageName\" is not valid.")
    if name and any(image.name == name for image in region.images.rows.values()):
        raise ApiError(400, "InvalidImageName.Duplicated", "The specified image name is already in use.")
    sources = _image_sources(world, region, params)
    stop_if_dry_run(params)
    image_id = world.new_id("images", region)
    mappings = []
    for device, disk, snapshot in sources:
        if snapshot is None:
            snapshot = new_snapshot(world, region, disk, usage="image", description=f"Created for image {image_id}")
        mappings.append([device, snapshot.id, snapshot.disk_size])
    now = world.now()
    image = Image(id=image_id, region=region.info.region_id, name=name or image_id, creation_time=now,
                  done_time=now + world.settings.image_seconds, description=params.str("Description"),
                  source_instance_id=params.str("InstanceId"), mappings=mappings, size=mappings[0][2],
                  tags={k: v or "" for k, v in params.tags()})
    region.images.add(image)
    world.touch("images", region.info.region_id, image.id)
    return {"ImageId": image.id}


def _image_sources(world: World, region: RegionState, params: Params) -> list[tuple[str, Any, Any]]:
    """(device, disk or None, existing snapshot or None) for each disk the image captures."""
    if params.has("InstanceId"):
        instance = world.find_instance(region, params.str("InstanceId"))
        if instance.status not in ("Running", "Stopped"):
            raise ApiError(403, "IncorrectInstanceStatus", "The current status of the instance does not support this operation.")
        disks = [region.disks.rows[d] for d in region.disks.select(equal={"instance_id": [instance.id]})]
        disks = sorted((d for d in disks if not d.is_local), key=lambda d: (d.type != "system", d.device))
        return [(d.device, d, None) for d in disks]
    if params.has("SnapshotId"):
        snapshot_id = params.str("SnapshotId")
        snapshot = region.snapshots.get(snapshot_id)
        if snapshot is None:
            raise ApiError(404, "InvalidSnapshotId.NotFound", f"The specified snapshot \"{snapshot_id}\" does not exist.")
        if snapshot.fails or world.now() < snapshot.done_time:
            raise ApiError(403, "IncorrectSnapshotStatus", "The snapshot is not accomplished.")
        return [("/dev/xvda", None, snapshot)]
    raise ApiError(400, "MissingParameter", "One of InstanceId, SnapshotId or DiskDeviceMapping must be specified.")


@operation("DescribeImages", write=False)
def describe_images(world: World, params: Params) -> dict[str, Any]:
    region = world.region(params)
    # The API shows only Available images unless asked: a new image is invisible while Creating.
    statuses = set(params.list("Status", comma=True, limit=10)) or {"Available"}
    if any(s not in _STATUSES and s.upper() != "ALL" for s in statuses):
        raise ApiError(400, "InvalidParameter", "The specified parameter \"Status\" is not valid.")
    all_statuses = any(s.upper() == "ALL" for s in statuses)
    owner = params.choice("ImageOwnerAlias", ("system", "self", "others", "marketplace"))
    ids = set(params.list("ImageId", comma=True, limit=100))
    name = params.str("ImageName")
    now = world.now()
    candidates = list(region.images.rows.values()) + _system_images(region)
    images = [image for image in candidates
              if (not owner or image.owner == owner) and (not ids or image.id in ids)
              and (not name or image.name == name) and (all_statuses or image_status(image, now) in statuses)]
    page = paginate(params, [image.id for image in images], PagingRules(tokens=False))
    by_id = {image.id: image for image in images}
    return {
        **page.envelope("TotalCount", "PageNumber", "PageSize"),
        "RegionId": region.info.region_id,
        "Images": {"Image": [render_image(by_id[i], now) for i in page.ids]},
    }
