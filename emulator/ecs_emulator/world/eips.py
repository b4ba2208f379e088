"""Elastic IPs as the ECS API carries them: convert a static public IP, describe, release."""

from __future__ import annotations

from typing import Any

from ecs_emulator.errors import ApiError
from ecs_emulator.world.model import Eip
from ecs_emulator.world.paging import PagingRules, paginate
from ecs_emulator.world.params import Params, stop_if_dry_run
from ecs_emulator.world.regions import RegionState
from ecs_emulator.world.registry import operation
from ecs_emulator.world.views import render_eip
from ecs_emulator.world.world import World

EIP_STATUSES = ("Associating", "Unassociating", "InUse", "Available")


def unbind_eip(world: World, region: RegionState, allocation_id: str) -> None:
    """The EIP outlives its instance: it stays allocated (and billed), unbound."""
    eip = region.eips.get(allocation_id)
    if eip is not None:
        region.eips.set(eip, "instance_id", "")
        region.eips.set(eip, "status", "Available")
        world.touch("eips", region.info.region_id, eip.id)


@operation("ConvertNatPublicIpToEip", write=True)
def convert_nat_public_ip_to_eip(world: World, params: Params) -> dict[str, Any]:
    region = world.region(params)
    instance = world.find_instance(region, params.str("InstanceId", required=True))
    if instance.status not in ("Running", "Stopped"):
        raise ApiError(403, "IncorrectInstanceStatus", "The current status of the instance does not support this operation.")
    if instance.eip_id or not instance.public_ip:
        raise ApiError(403, "OperationDenied", "The instance has no static public IP address or already has an EIP.")
    if instance.internet_charge_type != "PayByTraffic":
        raise ApiError(403, "OperationDenied", "Only pay-by-traffic public IP addresses can be converted to EIPs.")
    stop_if_dry_run(params)
    eip = Eip(id=world.new_id("eips", region), region=region.info.region_id, ip=instance.public_ip, status="InUse",
              allocation_time=world.now(), instance_id=instance.id, bandwidth=instance.bandwidth_out)
    region.eips.add(eip)
    instance.eip_id, instance.public_ip = eip.id, ""
    world.touch("eips", region.info.region_id, eip.id)
    world.touch("instances", region.info.region_id, instance.id)
    return {}


@operation("DescribeEipAddresses", write=False)
def describe_eip_addresses(world: World, params: Params) -> dict[str, Any]:
    region = world.region(params)
    ids = params.list("AllocationId", comma=True, limit=50) or None
    equal: dict[str, list[str]] = {}
    if params.has("Status"):
        equal["status"] = [params.choice("Status", EIP_STATUSES)]
    if params.has("AssociatedInstanceId"):
        equal["instance_id"] = [params.str("AssociatedInstanceId")]
    if params.has("EipAddress"):
        equal["ip"] = [params.str("EipAddress")]
    params.choice("AssociatedInstanceType", ("EcsInstance", "SlbInstance", "Nat", "HaVip", "NetworkInterface"))
    matches = region.eips.select(ids=ids, equal=equal)
    page = paginate(params, matches, PagingRules(tokens=False))
    rows = region.eips.rows
    return {
        **page.envelope("TotalCount", "PageNumber", "PageSize"),
        "EipAddresses": {"EipAddress": [render_eip(rows[i]) for i in page.ids]},
    }


@operation("ReleaseEipAddress", write=True)
def release_eip_address(world: World, params: Params) -> dict[str, Any]:
    region = world.region(params)
    allocation_id = params.str("AllocationId", required=True)
    eip = region.eips.get(allocation_id)
    if eip is None:
        raise ApiError(404, "InvalidAllocationId.NotFound", f"The specified AllocationId \"{allocation_id}\" does not exist.")
    if eip.status != "Available":
        raise ApiError(403, "IncorrectEipStatus", "The current status of the EIP does not support this operation.")
    stop_if_dry_run(params)
    region.eips.remove(allocation_id)
    world.touch("eips", region.info.region_id, allocation_id)
    world.log_release("eip", region.info.region_id, allocation_id, "manual", ip=eip.ip)
    return {}
