"""The region catalogue and the per-region resource tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ecs_emulator.errors import ApiError
from ecs_emulator.world.model import Disk, Eip, Image, Instance, Snapshot, SnapshotGroup
from ecs_emulator.world.registry import operation
from ecs_emulator.world.table import Table

if TYPE_CHECKING:
    from ecs_emulator.world.params import Params
    from ecs_emulator.world.world import World


@dataclass(frozen=True)
class RegionInfo:
    region_id: str
    local_name: str
    # Real instance ids start with a region-specific prefix (i-bp... in Hangzhou); the emulator keeps that.
    id_prefix: str
    zones: tuple[str, ...]

    @property
    def endpoint(self) -> str:
        return "ecs-cn-hangzhou.aliyuncs.com" if self.region_id == "cn-hangzhou" else f"ecs.{self.region_id}.aliyuncs.com"


STANDARD_REGIONS: tuple[RegionInfo, ...] = (
    RegionInfo("cn-hangzhou", "华东1（杭州）", "bp", ("cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j")),
    RegionInfo("cn-shanghai", "华东2（上海）", "uf", ("cn-shanghai-e", "cn-shanghai-f", "cn-shanghai-g")),
    RegionInfo("cn-beijing", "华北2（北京）", "2z", ("cn-beijing-h", "cn-beijing-i", "cn-beijing-k")),
    RegionInfo("cn-shenzhen", "华南1（深圳）", "wz", ("cn-shenzhen-d", "cn-shenzhen-e")),
    RegionInfo("ap-southeast-1", "新加坡", "t4", ("ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c")),
    RegionInfo("us-west-1", "美国（硅谷）", "rj", ("us-west-1a", "us-west-1b")),
    RegionInfo("eu-central-1", "德国（法兰克福）", "gw", ("eu-central-1a", "eu-central-1b")),
)


@dataclass
class RegionState:
    info: RegionInfo
    instances: Table[Instance] = field(
        default_factory=lambda: Table(("status", "charge_type", "zone", "vpc_id")))
    disks: Table[Disk] = field(default_factory=lambda: Table(("instance_id", "status", "type")))
    snapshots: Table[Snapshot] = field(default_factory=lambda: Table(("disk_id", "instance_id")))
    snapshot_groups: Table[SnapshotGroup] = field(default_factory=lambda: Table(("instance_id",)))
    images: Table[Image] = field(default_factory=Table)
    eips: Table[Eip] = field(default_factory=lambda: Table(("instance_id", "status")))

    def table(self, kind: str) -> Table:
        return getattr(self, kind)


def unknown_region(region_id: str) -> ApiError:
    return ApiError(404, "InvalidRegionId.NotFound", f"The specified RegionId \"{region_id}\" does not exist.")


def custom_region(region_id: str, zones: list[str] | None = None) -> RegionInfo:
    """A fleet may name a region outside the standard list; it gets a neutral id prefix."""
    return RegionInfo(region_id, region_id, "xx", tuple(zones or [f"{region_id}-a"]))


@operation("DescribeRegions", write=False)
def describe_regions(world: World, params: Params) -> dict[str, Any]:
    return {"Regions": {"Region": [
        {"RegionId": r.info.region_id, "LocalName": r.info.local_name, "RegionEndpoint": r.info.endpoint,
         "Status": "available"}
        for r in world.regions.values()]}}
