# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What keeps billing in a region after instances are gone: unattached disks, unbound EIPs, orphan manual snapshots."""

from __future__ import annotations

import typing as t
from datetime import datetime, timedelta, timezone

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.auto_release import parse_duration
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import InvalidOptionError
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_report import parse_api_time

_MAX_TAGS = 20

LEFTOVERS_ARGUMENT_SPEC: t.Dict[str, t.Any] = {
    "tags": {"type": "dict"},
    "min_age": {"type": "str"},
}

Record = t.Mapping[str, t.Any]


def resource_tags(record: Record) -> t.Dict[str, str]:
    """Tags of a disk or snapshot record (responses use TagKey/TagValue)."""
    tags = (record.get("Tags") or {}).get("Tag") or []
    return {str(tag.get("TagKey", "")): str(tag.get("TagValue", "")) for tag in tags}


class LeftoverFilter:
    """The ``tags`` and ``min_age`` options: a leftover is reported when it carries every tag and is old enough."""

    def __init__(self, tags: t.Optional[t.Mapping[str, t.Any]], min_age: t.Optional[str], now: datetime) -> None:
        self.tags = {str(k): "" if v is None else str(v) for k, v in (tags or {}).items()}
        if len(self.tags) > _MAX_TAGS or any(not k for k in self.tags):
            raise InvalidOptionError("tags", f"at most {_MAX_TAGS} tags with non-empty keys")
        self.min_age = parse_duration("min_age", min_age) if min_age else None
        self.now = now

    def matches(self, record: Record, since: t.Optional[datetime]) -> bool:
        tags = resource_tags(record)
        if any(tags.get(k) != v for k, v in self.tags.items()):
            return False
        if self.min_age is None:
            return True
        # A leftover whose age cannot be read is reported: hiding something that bills would be worse.
        return since is None or self.now - since >= self.min_age

    def age_days(self, since: t.Optional[datetime]) -> t.Optional[float]:
        return round((self.now - since) / timedelta(days=1), 2) if since else None


def _since_disk(disk: Record) -> t.Optional[datetime]:
    # Left over since it was detached, or since it was created if it never was attached.
    return parse_api_time(disk.get("DetachedTime") or "") or parse_api_time(disk.get("CreationTime") or "")


def _report_disk(disk: Record, found: LeftoverFilter) -> t.Dict[str, t.Any]:
    return {
        "id": disk.get("DiskId", ""),
        "name": disk.get("DiskName", ""),
        "category": disk.get("Category", ""),
        "size": int(disk.get("Size") or 0),
        "charge_type": disk.get("DiskChargeType", ""),
        "zone": disk.get("ZoneId", ""),
        "creation_time": disk.get("CreationTime", ""),
        "detached_time": disk.get("DetachedTime", ""),
        "age_days": found.age_days(_since_disk(disk)),
        "tags": resource_tags(disk),
    }


def _report_eip(eip: Record, found: LeftoverFilter) -> t.Dict[str, t.Any]:
    return {
        "id": eip.get("AllocationId", ""),
        "ip_address": eip.get("IpAddress", ""),
        "bandwidth": int(eip.get("Bandwidth") or 0),
        "charge_type": eip.get("ChargeType", ""),
        "internet_charge_type": eip.get("InternetChargeType", ""),
        "allocation_time": eip.get("AllocationTime", ""),
        "age_days": found.age_days(parse_api_time(eip.get("AllocationTime") or "")),
    }


def _report_snapshot(snapshot: Record, found: LeftoverFilter) -> t.Dict[str, t.Any]:
    return {
        "id": snapshot.get("SnapshotId", ""),
        "name": snapshot.get("SnapshotName", ""),
        "source_disk_id": snapshot.get("SourceDiskId", ""),
        "source_disk_type": str(snapshot.get("SourceDiskType", "")).lower(),
        "size": int(snapshot.get("SourceDiskSize") or 0),
        "status": snapshot.get("Status", ""),
        "usage": snapshot.get("Usage", ""),
        "retention_days": int(snapshot.get("RetentionDays") or 0),
        "creation_time": snapshot.get("CreationTime", ""),
        "age_days": found.age_days(parse_api_time(snapshot.get("CreationTime") or "")),
        "tags": resource_tags(snapshot),
    }


def _count_by(items: t.Sequence[t.Mapping[str, t.Any]], key: str) -> t.Dict[str, int]:
    counts: t.Dict[str, int] = {}
    for item in items:
        counts[str(item.get(key) or "unknown")] = counts.get(str(item.get(key) or "unknown"), 0) + 1
    return counts


def find_leftovers(client: EcsClient, params: t.Mapping[str, t.Any],
                   now: t.Optional[datetime] = None) -> t.Dict[str, t.Any]:
    """Three listings: the region's disks (500 a page), its manual snapshots, its unbound EIPs.

    Every disk is listed once, because "the source disk is gone" needs them all; the unattached ones
    are picked from the same listing. EIPs carry no tags in the ECS API, so with ``tags`` they are not listed.
    """
    found = LeftoverFilter(params.get("tags"), params.get("min_age"), now or datetime.now(timezone.utc))
    disks = list(client.paginate("DescribeDisks", {}))
    disk_ids = {d.get("DiskId") for d in disks}
    unattached = [_report_disk(d, found) for d in disks
                  if d.get("Status") == "Available" and found.matches(d, _since_disk(d))]
    snapshot_filter: t.Dict[str, t.Any] = {"SnapshotType": "user"}
    if found.tags:
        snapshot_filter["Tag"] = [{"Key": k, "Value": v} for k, v in found.tags.items()]
    orphans = [_report_snapshot(s, found) for s in client.paginate("DescribeSnapshots", snapshot_filter)
               if s.get("SourceDiskId") not in disk_ids
               and found.matches(s, parse_api_time(s.get("CreationTime") or ""))]
    eips: t.List[t.Dict[str, t.Any]] = []
    if not found.tags:
        eips = [_report_eip(e, found) for e in client.paginate("DescribeEipAddresses", {"Status": "Available"})
                if found.matches(e, parse_api_time(e.get("AllocationTime") or ""))]
    return {
        "changed": False,
        "unattached_disks": unattached,
        "unbound_eips": eips,
        "orphan_snapshots": orphans,
        "eips_listed": not found.tags,
        "totals": {
            "unattached_disks": {"count": len(unattached), "size_gib": sum(d["size"] for d in unattached),
                                 "by_charge_type": _count_by(unattached, "charge_type")},
            "unbound_eips": {"count": len(eips), "bandwidth_mbps": sum(e["bandwidth"] for e in eips),
                             "by_charge_type": _count_by(eips, "charge_type")},
            "orphan_snapshots": {"count": len(orphans), "size_gib": sum(s["size"] for s in orphans)},
        },
    }
