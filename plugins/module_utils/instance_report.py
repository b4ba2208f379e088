# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How the collection reports an instance and its disks: snake_case, one shape for every module."""

from __future__ import annotations

import typing as t
from datetime import datetime, timezone

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_selector import instance_tags

# Up to this many instances, disks are listed per instance (one DescribeDisks each); beyond it,
# the region's disks are listed once, 500 a page, which is cheaper for large selections.
PER_INSTANCE_DISK_LOOKUPS = 10


def parse_api_time(value: str) -> t.Optional[datetime]:
    """ECS times: ``2026-01-01T00:00Z`` or ``2026-01-01T00:00:00Z``; ``""`` is no time."""
    if not value:
        return None
    for layout in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ"):
        try:
            return datetime.strptime(value, layout).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def is_expired(instance: t.Mapping[str, t.Any], now: t.Optional[datetime] = None) -> bool:
    """A subscription past its ExpiredTime, or already locked for it."""
    if instance.get("InstanceChargeType") != "PrePaid":
        return False
    locks = (instance.get("OperationLocks") or {}).get("LockReason") or []
    if any(lock.get("LockReason") == "financial" for lock in locks):
        return True
    expires = parse_api_time(instance.get("ExpiredTime") or "")
    return expires is not None and expires <= (now or datetime.now(timezone.utc))


def report_disk(disk: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    return {
        "id": disk.get("DiskId", ""),
        "name": disk.get("DiskName", ""),
        "type": disk.get("Type", ""),
        "category": disk.get("Category", ""),
        "size": disk.get("Size", 0),
        "status": disk.get("Status", ""),
        "device": disk.get("Device", ""),
        "charge_type": disk.get("DiskChargeType", ""),
        "portable": bool(disk.get("Portable")),
        "delete_with_instance": bool(disk.get("DeleteWithInstance")),
        "delete_auto_snapshot": bool(disk.get("DeleteAutoSnapshot")),
    }


def report_instance(instance: t.Mapping[str, t.Any],
                    disks: t.Optional[t.Sequence[t.Mapping[str, t.Any]]] = None) -> t.Dict[str, t.Any]:
    eip = instance.get("EipAddress") or {}
    report = {
        "id": instance.get("InstanceId", ""),
        "name": instance.get("InstanceName", ""),
        "status": instance.get("Status", ""),
        "charge_type": instance.get("InstanceChargeType", ""),
        "expired": is_expired(instance),
        "expired_time": instance.get("ExpiredTime", ""),
        "deletion_protection": bool(instance.get("DeletionProtection")),
        "auto_release_time": instance.get("AutoReleaseTime") or "",
        "tags": instance_tags(instance),
        "public_ips": list((instance.get("PublicIpAddress") or {}).get("IpAddress") or []),
        "eip": {
            "allocation_id": eip.get("AllocationId", ""),
            "ip_address": eip.get("IpAddress", ""),
        } if eip.get("AllocationId") else None,
        "zone": instance.get("ZoneId", ""),
        "region": instance.get("RegionId", ""),
    }
    if disks is not None:
        report["disks"] = [report_disk(d) for d in disks]
    return report


def disks_by_instance(client: EcsClient, instance_ids: t.Sequence[str]) -> t.Dict[str, t.List[t.Dict[str, t.Any]]]:
    """The attached disks of each instance, system disk first.

    Calls: one DescribeDisks per instance up to PER_INSTANCE_DISK_LOOKUPS instances, else
    ceil(disks in the region / 500): never one call per instance for a large selection.
    """
    wanted = set(instance_ids)
    found: t.Dict[str, t.List[t.Dict[str, t.Any]]] = {i: [] for i in instance_ids}
    if len(wanted) <= PER_INSTANCE_DISK_LOOKUPS:
        listings = (client.paginate("DescribeDisks", {"InstanceId": i}) for i in instance_ids)
        disks: t.Iterable[t.Dict[str, t.Any]] = (d for listing in listings for d in listing)
    else:
        disks = client.paginate("DescribeDisks", {})
    for disk in disks:
        owner = disk.get("InstanceId") or ""
        if owner in wanted:
            found[owner].append(disk)
    for listed in found.values():
        listed.sort(key=lambda d: (d.get("Type") != "system", d.get("Device") or "", d.get("DiskId") or ""))
    return found
