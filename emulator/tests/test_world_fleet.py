"""Fleet loading (count generator, validation), persistence across World instances, configure."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from ecs_emulator.clock import VirtualClock
from ecs_emulator.world import World
from ecs_emulator.world.fleet import FleetError
from world_support import BATCH_OLD_1, DEMO, HZ, LOADTEST, TAGS_1K, make_world, refused


def test_demo_fleet_tells_its_story() -> None:
    world = make_world()
    state = world.state()
    hz, sh = state["regions"]["cn-hangzhou"], state["regions"]["cn-shanghai"]
    assert 10 <= len(hz["instances"]) + len(sh["instances"]) <= 16
    protected = {i["name"] for i in hz["instances"].values() if i["deletion_protection"]}
    assert protected == {"web-prod-1", "web-prod-2", "dev-sandbox-1"}
    assert hz["instances"][LOADTEST]["auto_release_time"] is not None
    assert {e["status"] for e in hz["eips"].values()} == {"InUse", "Available"}
    assert state["regions"]["cn-beijing"]["instances"] == {}


def test_count_generator_patterns() -> None:
    world = make_world({"regions": {"cn-beijing": {"instances": [{
        "count": 25, "start": 0, "name": "batch-{n:05d}", "id": "i-2zbatch{n:04d}",
        "tags": {"shard": "s{n % 10}", "block": "{n // 10}", "literal": "{{n}}"},
        "public_ip": "47.{n // 256 % 256}.{n % 256}.{n + 1}",
        "disks": {"data": [{"size": 20, "id": "d-2zdata{n:04d}", "name": "data-{n}"}]},
    }]}}})
    instances = world.state("cn-beijing")["regions"]["cn-beijing"]["instances"]
    assert len(instances) == 25
    twelve = instances["i-2zbatch0012"]
    assert twelve["name"] == "batch-00012"
    assert twelve["tags"] == {"shard": "s2", "block": "1", "literal": "{n}"}
    assert twelve["public_ip"] == "47.0.12.13"
    body = world.call("DescribeInstances", {"RegionId": "cn-beijing", "Tag.1.Key": "shard", "Tag.1.Value": "s2"})
    assert body["TotalCount"] == 3
    disks = world.call("DescribeDisks", {"RegionId": "cn-beijing", "DiskIds": '["d-2zdata0012"]'})["Disks"]["Disk"]
    assert disks[0]["DiskName"] == "data-12" and disks[0]["InstanceId"] == "i-2zbatch0012"


@pytest.mark.parametrize("entry", [
    {"name": "{__import__('os')}"},
    {"name": "{n.__class__}"},
    {"name": "{n:zz}"},
    {"name": "x{"},
    {"name": "{n % 0}"},
    {"colour": "blue"},
    {"status": "Sleeping"},
    {"charge_type": "PostPaid", "expired": True},
    {"charge_type": "PrePaid", "auto_release_time": "+2h"},
    {"auto_release_time": "soon"},
])
def test_bad_fleet_entries_are_refused(entry: dict) -> None:
    with pytest.raises(FleetError):
        make_world({"regions": {"cn-hangzhou": {"instances": [entry]}}})


def test_fleet_settings_apply_and_unknown_settings_are_refused() -> None:
    world = make_world({"settings": {"status_seconds": 1, "snapshot_seconds": 2}, "regions": {}})
    assert world.settings.status_seconds == 1 and world.settings.snapshot_seconds == 2
    with pytest.raises(ValueError):
        make_world({"settings": {"warp": 9}, "regions": {}})


@pytest.mark.parametrize("settings", [{"warp": 1}, {"status_seconds": -1}, {"status_seconds": "5"},
                                      {"snapshot_fail_rate": 2}, {"fail_snapshot_disk_ids": "d-1"}])
def test_configure_validation(settings: dict) -> None:
    world = make_world(None)
    with pytest.raises(ValueError):
        world.configure(**settings)
    world.configure(status_seconds=0, release_lag_seconds=3, fail_snapshot_disk_ids=["d-1"])
    assert world.settings.release_lag_seconds == 3


def test_zero_status_seconds_makes_transitions_immediate() -> None:
    world = make_world()
    world.configure(status_seconds=0)
    world.call("StartInstance", {"InstanceId": BATCH_OLD_1})
    assert world.call("DescribeInstanceStatus", {**HZ, "InstanceId.1": BATCH_OLD_1})["InstanceStatuses"]["InstanceStatus"][0]["Status"] == "Running"


def test_state_survives_a_new_world(tmp_path: Path) -> None:
    path = str(tmp_path / "world.db")
    first = make_world(DEMO, state_path=path)
    first.configure(snapshot_seconds=50)
    first.call("DeleteInstances", {**HZ, "InstanceId.1": BATCH_OLD_1, "ClientToken": "tok"})
    first.call("ModifyInstanceAttribute", {**HZ, "InstanceId": "i-bpdevsandbox0000001", "DeletionProtection": "false"})
    first.advance(600)
    expected = first.state()
    # No close(): every acknowledged write is already on disk, as after a kill -9.
    second = World(VirtualClock(), random.Random(9), state_path=path)
    assert second.state()["regions"] == expected["regions"]
    assert second.settings.snapshot_seconds == 50
    assert second.clock.offset == pytest.approx(600)
    assert second.call("DeleteInstances", {**HZ, "InstanceId.1": BATCH_OLD_1, "ClientToken": "tok"}) == {}
    assert refused(second, "DeleteInstances", {**HZ, "InstanceId.1": BATCH_OLD_1}).code == "InvalidInstanceId.NotFound"
    # Timed events come back too: the load-test box still releases itself on time.
    second.advance(7200)
    assert LOADTEST not in second.state("cn-hangzhou")["regions"]["cn-hangzhou"]["instances"]
    third = World(VirtualClock(), random.Random(9), state_path=path)
    assert LOADTEST not in third.state("cn-hangzhou")["regions"]["cn-hangzhou"]["instances"]


def test_reset_and_reload_replace_persisted_state(tmp_path: Path) -> None:
    path = str(tmp_path / "world.db")
    world = make_world(TAGS_1K, state_path=path)
    world.reset()
    assert World(VirtualClock(), random.Random(1), state_path=path).state()["regions"]["cn-hangzhou"]["instances"] == {}
    world.load_fleet(DEMO)
    reloaded = World(VirtualClock(), random.Random(1), state_path=path)
    assert len(reloaded.state()["regions"]["cn-hangzhou"]["instances"]) == len(world.state()["regions"]["cn-hangzhou"]["instances"])


def test_world_lists_its_actions() -> None:
    world = make_world(None)
    assert {"DescribeInstances", "DeleteInstances", "ModifyInstanceChargeType"} <= World.ACTIONS
    assert world.is_write("DeleteInstances") and not world.is_write("DescribeInstances")
    assert refused(world, "FlyToTheMoon", {}).code == "InvalidAction.NotFound"


@pytest.mark.parametrize("action", sorted(World.ACTIONS))
def test_malformed_input_only_ever_raises_api_errors(action: str) -> None:
    from ecs_emulator.errors import ApiError

    world = make_world()
    rng = random.Random(action)
    names = ["RegionId", "InstanceId", "InstanceIds", "InstanceId.1", "DiskId", "DiskIds", "DiskIds.1", "SnapshotId",
             "SnapshotIds", "Status", "PageSize", "PageNumber", "MaxResults", "NextToken", "Tag.1.Key", "Tag.1.Value",
             "Force", "DryRun", "AutoReleaseTime", "InstanceChargeType", "DeletionProtection", "AllocationId",
             "ImageId", "SnapshotGroupId.1", "Status.1", "Period", "ClientToken", "InstanceName", "DiskType"]
    values = ["", "x", "-1", "0", "1e9", "[", "[1]", '["i-a"]', "{}", "true", "TRUE", "null", "\u00e9", "a" * 300,
              "cn-hangzhou", BATCH_OLD_1, "2030-02-30T00:00:00Z", "*"]
    for _ in range(150):
        params = {rng.choice(names): rng.choice(values) for _ in range(rng.randint(0, 6))}
        try:
            world.call(action, params)
        except ApiError:
            pass
