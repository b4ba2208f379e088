"""Release rules: protection, status, charge type, all-or-nothing batches, what goes and what stays."""

from __future__ import annotations

import pytest
from ecs_emulator.world import World
from world_support import (
    BATCH_OLD_1,
    BATCH_OLD_2,
    BATCH_OLD_3,
    BATCH_OLD_4,
    DB_PROD_1,
    DEV_SANDBOX,
    HZ,
    LOADTEST,
    REPORT_LEGACY,
    WEB_PROD_1,
    refused,
)


def hz(world: World) -> dict:
    return world.state("cn-hangzhou")["regions"]["cn-hangzhou"]


def released_ids(world: World, kind: str = "instance") -> list[str]:
    return [e["id"] for e in hz(world)["released"] if e["kind"] == kind]


@pytest.mark.parametrize(("instance_id", "extra", "code"), [
    (WEB_PROD_1, {"Force": "true"}, "InvalidOperation.DeletionProtection"),
    (DEV_SANDBOX, {}, "InvalidOperation.DeletionProtection"),
    (BATCH_OLD_4, {}, "IncorrectInstanceStatus"),
    (DB_PROD_1, {"Force": "true", "TerminateSubscription": "true"}, "ChargeTypeViolation"),
    (REPORT_LEGACY, {}, "ChargeTypeViolation"),
])
def test_release_refusals(world: World, instance_id: str, extra: dict[str, str], code: str) -> None:
    for action, params in (("DeleteInstance", {"InstanceId": instance_id}),
                           ("DeleteInstances", {**HZ, "InstanceId.1": instance_id})):
        error = refused(world, action, {**params, **extra})
        assert (error.status, error.code) == (403, code)
    assert released_ids(world) == []


def test_missing_instance_is_404(world: World) -> None:
    error = refused(world, "DeleteInstances", {**HZ, "InstanceId.1": BATCH_OLD_1, "InstanceId.2": "i-gone"})
    assert (error.status, error.code) == (404, "InvalidInstanceId.NotFound")
    assert refused(world, "DeleteInstance", {"InstanceId": "i-gone"}).code == "InvalidInstanceId.NotFound"
    assert refused(world, "DeleteInstances", HZ).code == "MissingParameter"


def test_delete_instances_is_all_or_nothing(world: World) -> None:
    error = refused(world, "DeleteInstances", {**HZ, "InstanceId.1": BATCH_OLD_1, "InstanceId.2": WEB_PROD_1})
    assert error.code == "InvalidOperation.DeletionProtection"
    assert BATCH_OLD_1 in hz(world)["instances"]


def test_force_releases_running_and_terminate_releases_expired(world: World) -> None:
    world.call("DeleteInstances", {**HZ, "InstanceId.1": BATCH_OLD_4, "InstanceId.2": BATCH_OLD_1, "Force": "True"})
    world.call("DeleteInstance", {"InstanceId": REPORT_LEGACY, "TerminateSubscription": "true"})
    assert released_ids(world) == [BATCH_OLD_4, BATCH_OLD_1, REPORT_LEGACY]
    assert all(e["how"] == "manual" for e in hz(world)["released"] if e["kind"] == "instance")
    assert world.call("DescribeInstances", {**HZ, "InstanceName": "batch-old-1"})["TotalCount"] == 0


def test_dry_run_validates_then_refuses_without_releasing(world: World) -> None:
    error = refused(world, "DeleteInstances", {**HZ, "InstanceId.1": BATCH_OLD_1, "DryRun": "true"})
    assert (error.status, error.code) == (400, "DryRunOperation")
    assert refused(world, "DeleteInstances", {**HZ, "InstanceId.1": WEB_PROD_1, "DryRun": "true"}).code == \
        "InvalidOperation.DeletionProtection"
    assert released_ids(world) == []


def test_what_goes_and_what_stays(world: World) -> None:
    before = hz(world)
    disks_of = {iid: [d for d in before["disks"].values() if d["instance_id"] == iid] for iid in (BATCH_OLD_2, BATCH_OLD_3)}
    snapshots = before["snapshots"]
    world.call("DeleteInstances", {**HZ, "InstanceId.1": BATCH_OLD_1, "InstanceId.2": BATCH_OLD_2, "InstanceId.3": BATCH_OLD_3})
    after = hz(world)
    # batch-old-2: system disk goes; the results disk stays detached, portable, pay-as-you-go; its manual snapshot stays.
    system2, results = disks_of[BATCH_OLD_2]
    assert system2["id"] not in after["disks"]
    kept = after["disks"][results["id"]]
    assert (kept["status"], kept["instance_id"], kept["portable"], kept["charge_type"]) == ("Available", "", True, "PostPaid")
    assert [s["name"] for s in after["snapshots"].values() if s["disk_id"] == results["id"]] == ["batch-results-final"]
    # batch-old-3: every disk goes (system, DeleteWithInstance data, local); automatic snapshots go, the manual one stays.
    assert all(d["id"] not in after["disks"] for d in disks_of[BATCH_OLD_3])
    remaining = {s["name"] for s in after["snapshots"].values()}
    assert "batch-old-3-keep" in remaining
    assert not any(s["snapshot_type"] == "auto" for s in after["snapshots"].values())
    assert len(snapshots) - len(after["snapshots"]) == 2
    # The EIP stays, unbound; the static public IP is gone with its instance.
    eip = after["eips"]["eip-bpbatchold3000003"]
    assert (eip["status"], eip["instance_id"]) == ("Available", "")
    lost = {e["id"]: e for e in after["released"] if e["kind"] == "instance"}
    assert lost[BATCH_OLD_1]["lost_public_ip"] == "47.96.20.21"
    assert {e["how"] for e in after["released"] if e["kind"] == "disk"} == {"with_instance"}


def test_client_token_makes_delete_idempotent(world: World) -> None:
    params = {**HZ, "InstanceId.1": BATCH_OLD_1, "ClientToken": "run-1"}
    assert world.call("DeleteInstances", params) == {}
    assert world.call("DeleteInstances", params) == {}
    assert released_ids(world) == [BATCH_OLD_1]
    error = refused(world, "DeleteInstances", {**params, "InstanceId.1": BATCH_OLD_2})
    assert (error.status, error.code) == (400, "IdempotentParameterMismatch")


def test_auto_release_fires_even_with_protection(world: World) -> None:
    world.call("ModifyInstanceAttribute", {**HZ, "InstanceId": LOADTEST, "DeletionProtection": "true"})
    world.advance(3600)
    assert LOADTEST in hz(world)["instances"]
    world.advance(3601)
    entry = next(e for e in hz(world)["released"] if e["id"] == LOADTEST)
    assert entry["how"] == "auto_release"
    assert LOADTEST not in hz(world)["instances"]


def test_release_lag_keeps_instance_listed_as_stopped(world: World) -> None:
    world.configure(release_lag_seconds=60)
    world.call("DeleteInstance", {"InstanceId": BATCH_OLD_1})
    shown = world.call("DescribeInstances", {**HZ, "InstanceName": "batch-old-1"})["Instances"]["Instance"]
    assert [i["Status"] for i in shown] == ["Stopped"]
    assert refused(world, "DeleteInstance", {"InstanceId": BATCH_OLD_1}).code == "InvalidInstanceId.NotFound"
    world.advance(61)
    assert world.call("DescribeInstances", {**HZ, "InstanceName": "batch-old-1"})["TotalCount"] == 0
