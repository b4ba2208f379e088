"""ecs_leftovers_info through ``ansible`` against the emulator, after releasing instances with the official SDK."""

from __future__ import annotations

from alibabacloud_ecs20140526 import models
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi.utils_models import Config

REGION = "cn-hangzhou"


def release(ecs, instance_id):
    """DeleteInstance through the SDK, as a console user would, outside the module under test."""
    emu = ecs.emu
    client = Client(Config(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret,
                           endpoint=emu.endpoint, protocol="http", region_id=REGION))
    client.delete_instance(models.DeleteInstanceRequest(instance_id=instance_id, force=True))


def region_state(ecs):
    return ecs.emu.state(REGION)["regions"][REGION]


def test_demo_leftovers_before_and_after_a_release(ecs):
    ecs.load("demo")
    run = ecs.module("ecs_leftovers_info", region=REGION)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result
    assert [d["id"] for d in result["unattached_disks"]] == ["d-bporphanlogs0000001"]
    assert result["unattached_disks"][0]["size"] == 500
    assert result["unattached_disks"][0]["charge_type"] == "PostPaid"
    assert [e["id"] for e in result["unbound_eips"]] == ["eip-bpspare0000000001"]
    assert result["orphan_snapshots"] == []
    assert result["totals"]["unattached_disks"] == {"count": 1, "size_gib": 500, "by_charge_type": {"PostPaid": 1}}
    assert result["totals"]["unbound_eips"]["count"] == 1
    assert result["changed"] is False
    assert sorted(c["action"] for c in ecs.calls()) == ["DescribeDisks", "DescribeEipAddresses", "DescribeSnapshots"]
    assert ecs.calls("DescribeSnapshots")[0]["params"]["SnapshotType"] == "user"
    assert ecs.calls("DescribeEipAddresses")[0]["params"]["Status"] == "Available"

    # batch-old-2 leaves its kept data disk; batch-old-3 leaves its EIP and a manual snapshot of a disk that went.
    release(ecs, "i-bpbatchold200000002")
    release(ecs, "i-bpbatchold300000003")
    ecs.emu.clear_calls()
    after = ecs.module("ecs_leftovers_info", check=True, region=REGION).result
    state = region_state(ecs)
    kept = [d for d in state["disks"].values() if d["status"] == "Available"]
    assert sorted(d["id"] for d in after["unattached_disks"]) == sorted(d["id"] for d in kept)
    assert len(kept) == 2
    assert after["totals"]["unattached_disks"]["size_gib"] == 500 + 300
    assert sorted(e["id"] for e in after["unbound_eips"]) == ["eip-bpbatchold3000003", "eip-bpspare0000000001"]
    orphan = [s for s in state["snapshots"].values() if s["disk_id"] not in state["disks"]]
    assert [s["name"] for s in orphan] == ["batch-old-3-keep"]
    assert [s["id"] for s in after["orphan_snapshots"]] == [orphan[0]["id"]]
    assert after["orphan_snapshots"][0]["size"] == 100
    assert after["totals"]["orphan_snapshots"] == {"count": 1, "size_gib": 100}
    assert ecs.write_calls() == []


TAGGED = {"regions": {REGION: {
    "instances": [{
        "name": "gone-soon", "id": "i-bpgonesoon000000001", "status": "Stopped",
        "disks": {"data": [{"name": "work", "size": 80, "delete_with_instance": True, "snapshots": [
            {"name": "old-keep", "type": "user", "creation_time": "-10d", "tags": {"project": "shop"}},
            {"name": "new-keep", "type": "user", "creation_time": "-1d", "tags": {"project": "shop"}},
            {"name": "other-keep", "type": "user", "creation_time": "-10d", "tags": {"project": "blog"}},
        ]}]},
    }],
    "disks": [
        {"name": "old-shop", "id": "d-bpoldshop0000000001", "size": 100, "creation_time": "-10d",
         "tags": {"project": "shop"}},
        {"name": "new-shop", "id": "d-bpnewshop0000000001", "size": 50, "creation_time": "-1d",
         "tags": {"project": "shop"}},
        {"name": "old-blog", "id": "d-bpoldblog0000000001", "size": 20, "creation_time": "-10d",
         "tags": {"project": "blog"}},
    ],
    "eips": [{"ip": "47.96.30.40", "id": "eip-bpfilter000000001"}],
}}}


def test_tags_and_min_age_filter(ecs):
    ecs.load(TAGGED)
    release(ecs, "i-bpgonesoon000000001")
    ecs.emu.clear_calls()

    everything = ecs.module("ecs_leftovers_info", region=REGION).result
    assert len(everything["unattached_disks"]) == 3 and len(everything["orphan_snapshots"]) == 3
    assert everything["eips_listed"] is True and len(everything["unbound_eips"]) == 1

    shop = ecs.module("ecs_leftovers_info", tags={"project": "shop"}).result
    assert sorted(d["name"] for d in shop["unattached_disks"]) == ["new-shop", "old-shop"]
    assert sorted(s["name"] for s in shop["orphan_snapshots"]) == ["new-keep", "old-keep"]
    assert shop["eips_listed"] is False and shop["unbound_eips"] == []

    old_shop = ecs.module("ecs_leftovers_info", tags={"project": "shop"}, min_age="7d").result
    assert [d["name"] for d in old_shop["unattached_disks"]] == ["old-shop"]
    assert [s["name"] for s in old_shop["orphan_snapshots"]] == ["old-keep"]
    assert old_shop["unattached_disks"][0]["age_days"] >= 9.9
    assert old_shop["totals"]["unattached_disks"]["size_gib"] == 100
    assert old_shop["totals"]["orphan_snapshots"] == {"count": 1, "size_gib": 80}

    recent = ecs.module("ecs_leftovers_info", min_age="36h").result
    assert sorted(d["name"] for d in recent["unattached_disks"]) == ["old-blog", "old-shop"]
    assert ecs.write_calls() == []


def test_bad_min_age_names_the_option(ecs):
    ecs.load("demo")
    run = ecs.module("ecs_leftovers_info", min_age="a week")
    assert run.rc != 0
    assert run.result["msg"].startswith("min_age: ")
    assert ecs.calls() == []
