from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import InvalidOptionError
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.leftovers import find_leftovers
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.retries import RetryPolicy

NOW = datetime(2026, 6, 15, tzinfo=timezone.utc)


def disk(disk_id, status, size, created="2026-06-01T00:00:00Z", detached="", tags=None):
    return {"DiskId": disk_id, "Status": status, "Size": size, "DiskChargeType": "PostPaid", "CreationTime": created,
            "DetachedTime": detached, "Tags": {"Tag": [{"TagKey": k, "TagValue": v} for k, v in (tags or {}).items()]}}


def snap(snapshot_id, disk_id, size, created="2026-06-01T00:00:00Z"):
    return {"SnapshotId": snapshot_id, "SourceDiskId": disk_id, "SourceDiskSize": str(size), "SourceDiskType": "Data",
            "CreationTime": created, "Status": "accomplished", "Tags": {"Tag": []}}


class FakeEcs:
    def __init__(self):
        self.sent = []
        self.disks = [disk("d-attached", "In_use", 40),
                      disk("d-loose", "Available", 100, detached="2026-06-14T12:00:00Z", tags={"p": "shop"}),
                      disk("d-old", "Available", 200, created="2026-01-01T00:00:00Z", tags={"p": "blog"})]
        self.snapshots = [snap("s-of-attached", "d-attached", 40), snap("s-orphan", "d-gone", 80)]
        self.eips = [{"AllocationId": "eip-1", "Status": "Available", "Bandwidth": "5", "ChargeType": "PostPaid",
                      "AllocationTime": "2026-06-01T00:00:00Z"}]

    def __call__(self, action, request):
        self.sent.append((action, dict(request)))
        if action == "DescribeDisks":
            return {"Disks": {"Disk": self.disks}, "NextToken": ""}
        if action == "DescribeSnapshots":
            return {"Snapshots": {"Snapshot": self.snapshots}, "NextToken": ""}
        if action == "DescribeEipAddresses":
            return {"EipAddresses": {"EipAddress": self.eips}, "TotalCount": len(self.eips)}
        raise AssertionError(action)


def leftovers(fake, **options):
    return find_leftovers(EcsClient(fake, "cn-hangzhou", RetryPolicy(retries=0)),
                          {"tags": options.get("tags"), "min_age": options.get("min_age")}, now=NOW)


def test_everything_left_over_with_totals():
    fake = FakeEcs()
    result = leftovers(fake)
    assert [d["id"] for d in result["unattached_disks"]] == ["d-loose", "d-old"]
    assert [s["id"] for s in result["orphan_snapshots"]] == ["s-orphan"]
    assert [e["id"] for e in result["unbound_eips"]] == ["eip-1"]
    assert result["totals"] == {
        "unattached_disks": {"count": 2, "size_gib": 300, "by_charge_type": {"PostPaid": 2}},
        "unbound_eips": {"count": 1, "bandwidth_mbps": 5, "by_charge_type": {"PostPaid": 1}},
        "orphan_snapshots": {"count": 1, "size_gib": 80},
    }
    assert [action for action, request in fake.sent] == ["DescribeDisks", "DescribeSnapshots", "DescribeEipAddresses"]
    assert fake.sent[1][1]["SnapshotType"] == "user" and fake.sent[2][1]["Status"] == "Available"


def test_a_disk_ages_from_its_detachment():
    result = leftovers(FakeEcs(), min_age="1d")
    # d-loose was created two weeks ago but detached only 12 hours ago.
    assert [d["id"] for d in result["unattached_disks"]] == ["d-old"]
    assert [s["id"] for s in result["orphan_snapshots"]] == ["s-orphan"]
    assert leftovers(FakeEcs(), min_age="90m")["unattached_disks"][0]["age_days"] == 0.5


def test_tags_filter_disks_and_snapshots_and_skip_eips():
    fake = FakeEcs()
    result = leftovers(fake, tags={"p": "shop"})
    assert [d["id"] for d in result["unattached_disks"]] == ["d-loose"]
    assert result["orphan_snapshots"] == [] and result["unbound_eips"] == [] and result["eips_listed"] is False
    assert "DescribeEipAddresses" not in [action for action, request in fake.sent]
    assert fake.sent[1][1]["Tag"] == [{"Key": "p", "Value": "shop"}]


@pytest.mark.parametrize("min_age", ["a week", "7", "-1d"])
def test_bad_min_age_names_the_option_before_any_call(min_age):
    fake = FakeEcs()
    with pytest.raises(InvalidOptionError) as raised:
        leftovers(fake, min_age=min_age)
    assert raised.value.option == "min_age" and fake.sent == []
