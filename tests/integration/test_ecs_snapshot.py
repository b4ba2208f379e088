"""ecs_snapshot through ``ansible`` against the emulator: check mode, the real run, reruns, failures, scale."""

from __future__ import annotations

import json
import threading
import time

import pytest

REGION = "cn-hangzhou"
RUN_TAG = "alicloud_ecs.lifecycle:run"
# Stopped, pay-as-you-go, not protected; batch-old-3 also has a local disk, which no snapshot can cover.
RETIRED = ["i-bpbatchold100000001", "i-bpbatchold200000002", "i-bpbatchold300000003"]


def region_state(ecs):
    return ecs.emu.state(REGION)["regions"][REGION]


def cloud_disks(ecs, instance_ids, kind="all"):
    """The disks a backup of these instances must cover: {disk_id: record}, local disks left out."""
    return {d["id"]: d for d in region_state(ecs)["disks"].values()
            if d["instance_id"] in instance_ids and not d["category"].startswith("ephemeral")
            and kind in ("all", d["type"])}


def run_snapshots(ecs, run_id):
    return {s["id"]: s for s in region_state(ecs)["snapshots"].values() if s["tags"].get(RUN_TAG) == run_id}


def created(ecs, action="CreateSnapshot"):
    return [c for c in ecs.calls(action) if c["status"] == 200]


@pytest.fixture
def demo(ecs):
    ecs.load("demo")
    ecs.emu.configure(snapshot_seconds=2, image_seconds=2)
    return ecs


def test_check_mode_predicts_and_writes_nothing(demo):
    run = demo.module("ecs_snapshot", check=True, diff=True, instance_ids=RETIRED, run_id="CHG-1")
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result
    disks = cloud_disks(demo, RETIRED)
    assert result["changed"] is True
    assert len(result["actions"]) == len(disks) == 6
    planned = [s for i in result["instances"] for s in i["snapshots"]]
    assert sorted(s["disk_id"] for s in planned) == sorted(disks)
    assert {s["status"] for s in planned} == {"planned"} and all(s["id"] is None for s in planned)
    assert result["safe_to_release"] == [] and result["not_safe_to_release"] == RETIRED
    assert result["created_snapshot_ids"] == []
    assert set(result["diff"]["after"]) == set(RETIRED)
    assert all(v == "new snapshot" for i in result["diff"]["after"].values() for v in i.values())
    assert demo.write_calls() == []
    assert run_snapshots(demo, "CHG-1") == {}


def test_real_run_snapshots_every_disk_then_a_rerun_changes_nothing(demo):
    run = demo.module("ecs_snapshot", instance_ids=RETIRED, run_id="CHG-1", retention_days=30,
                      snapshot_tags={"ticket": "CHG-1"})
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result
    disks = cloud_disks(demo, RETIRED)
    snapshots = run_snapshots(demo, "CHG-1")
    # One snapshot per cloud disk, each tagged, accomplished, named and kept as asked.
    assert sorted(s["disk_id"] for s in snapshots.values()) == sorted(disks)
    assert all(s["status"] == "accomplished" and s["tags"]["ticket"] == "CHG-1" for s in snapshots.values())
    assert all(s["retention_days"] == 30 and s["name"] == f"CHG-1-{s['disk_id']}" for s in snapshots.values())
    assert result["changed"] is True
    assert sorted(result["created_snapshot_ids"]) == sorted(snapshots)
    assert result["safe_to_release"] == RETIRED and result["not_safe_to_release"] == []
    for instance in result["instances"]:
        assert instance["safe_to_release"] is True
        assert {s["status"] for s in instance["snapshots"]} == {"accomplished"}
        assert all(s["progress"] == "100%" and s["created"] for s in instance["snapshots"])
    local = [d for d in region_state(demo)["disks"].values()
             if d["instance_id"] == RETIRED[2] and d["category"] == "ephemeral_ssd"]
    assert [d["id"] for d in result["instances"][2]["uncovered_disks"]] == [local[0]["id"]]
    assert any("cannot be snapshotted" in w for w in result["warnings"])
    calls = created(demo)
    assert len(calls) == len(disks)
    assert len({c["params"]["ClientToken"] for c in calls}) == len(disks)
    assert all(len(c["params"]["ClientToken"]) <= 64 for c in calls)

    demo.emu.clear_calls()
    again = demo.module("ecs_snapshot", instance_ids=RETIRED, run_id="CHG-1", retention_days=30,
                        snapshot_tags={"ticket": "CHG-1"})
    assert again.rc == 0, again.stdout
    assert again.result["changed"] is False
    assert again.result["created_snapshot_ids"] == [] and again.result["actions"] == []
    assert again.result["safe_to_release"] == RETIRED
    assert demo.write_calls() == []
    assert run_snapshots(demo, "CHG-1") == snapshots
    # Found by the run tag: one listing, and no status poll since all were accomplished.
    listings = demo.calls("DescribeSnapshots")
    assert len(listings) == 1 and listings[0]["params"]["Tag.1.Value"] == "CHG-1"

    checked = demo.module("ecs_snapshot", check=True, instance_ids=RETIRED, run_id="CHG-1")
    assert checked.result["changed"] is False and checked.result["safe_to_release"] == RETIRED


@pytest.mark.parametrize("kind", ["system", "data"])
def test_disk_scope(demo, kind):
    run = demo.module("ecs_snapshot", instance_ids=RETIRED[:2], run_id=f"CHG-{kind}", disks=kind)
    assert run.rc == 0, run.stdout
    snapshots = run_snapshots(demo, f"CHG-{kind}")
    wanted = cloud_disks(demo, RETIRED[:2], kind)
    assert len(wanted) == 2
    assert sorted(s["disk_id"] for s in snapshots.values()) == sorted(wanted)
    assert {s["disk_type"] for s in snapshots.values()} == {kind}
    assert all(s["disk_type"] == kind for i in run.result["instances"] for s in i["snapshots"])
    assert len(created(demo)) == 2


def test_consistent_takes_one_group_per_instance(demo):
    check = demo.module("ecs_snapshot", check=True, instance_ids=RETIRED, run_id="CHG-G", consistent=True)
    assert check.result["changed"] is True and len(check.result["actions"]) == 3
    assert demo.write_calls() == []

    run = demo.module("ecs_snapshot", instance_ids=RETIRED, run_id="CHG-G", consistent=True)
    assert run.rc == 0, run.stdout
    groups = {g["id"]: g for g in region_state(demo)["snapshot_groups"].values() if g["tags"].get(RUN_TAG) == "CHG-G"}
    assert len(groups) == 3 and {g["instance_id"] for g in groups.values()} == set(RETIRED)
    assert all(g["status"] == "accomplished" for g in groups.values())
    assert sorted(run.result["created_snapshot_group_ids"]) == sorted(groups)
    assert created(demo) == [] and len(created(demo, "CreateSnapshotGroup")) == 3
    disks = cloud_disks(demo, RETIRED)
    members = {s["disk_id"] for g in groups.values() for s in run_snapshots(demo, "CHG-G").values()
               if s["id"] in g["snapshot_ids"]}
    assert members == set(disks)
    for instance in run.result["instances"]:
        assert instance["snapshot_group_id"] in groups and instance["safe_to_release"]
    assert run.result["safe_to_release"] == RETIRED

    demo.emu.clear_calls()
    again = demo.module("ecs_snapshot", instance_ids=RETIRED, run_id="CHG-G", consistent=True)
    assert again.rc == 0 and again.result["changed"] is False
    assert demo.write_calls() == []
    assert [i["snapshot_group_id"] for i in again.result["instances"]] == \
           [i["snapshot_group_id"] for i in run.result["instances"]]


def test_a_failed_snapshot_fails_the_task_and_names_the_unsafe_instance(demo):
    bad_disk = next(d for d in cloud_disks(demo, [RETIRED[1]], "data"))
    demo.emu.set_faults(fail_snapshot_disk_ids=[bad_disk])
    run = demo.module("ecs_snapshot", instance_ids=RETIRED, run_id="CHG-F")
    assert run.rc != 0
    result = run.result
    assert run.tasks[-1]["status"] == "failed"
    assert RETIRED[1] in result["msg"] and bad_disk in result["msg"]
    assert result["not_safe_to_release"] == [RETIRED[1]]
    assert result["safe_to_release"] == [RETIRED[0], RETIRED[2]]
    failed = [s for i in result["instances"] for s in i["snapshots"] if s["status"] == "failed"]
    assert [s["disk_id"] for s in failed] == [bad_disk]
    assert result["changed"] is True
    assert {s["status"] for s in run_snapshots(demo, "CHG-F").values() if s["disk_id"] == bad_disk} == {"failed"}

    # The disk is fixed; a rerun replaces only the failed snapshot, with a new ClientToken.
    demo.emu.set_faults(fail_snapshot_disk_ids=[])
    first_token = next(c["params"]["ClientToken"] for c in created(demo) if c["params"]["DiskId"] == bad_disk)
    demo.emu.clear_calls()
    again = demo.module("ecs_snapshot", instance_ids=RETIRED, run_id="CHG-F")
    assert again.rc == 0, again.stdout
    assert again.result["changed"] is True
    assert [c["params"]["DiskId"] for c in created(demo)] == [bad_disk]
    assert created(demo)[0]["params"]["ClientToken"] != first_token
    assert again.result["safe_to_release"] == RETIRED
    assert "again, after a failed one" in again.result["actions"][0]


def test_wait_timeout_fails_then_a_rerun_waits_without_new_snapshots(demo):
    demo.emu.configure(snapshot_seconds=120)
    run = demo.module("ecs_snapshot", instance_ids=RETIRED[:2], run_id="CHG-T", wait_timeout=2)
    assert run.rc != 0
    assert run.result["msg"].startswith("Timed out after 2s waiting for snapshots of run CHG-T")
    assert run.result["not_safe_to_release"] == RETIRED[:2] and run.result["safe_to_release"] == []
    statuses = {s["status"] for i in run.result["instances"] for s in i["snapshots"]}
    assert statuses == {"progressing"}
    assert len(created(demo)) == 4

    demo.emu.advance(120)
    demo.emu.clear_calls()
    again = demo.module("ecs_snapshot", instance_ids=RETIRED[:2], run_id="CHG-T")
    assert again.rc == 0, again.stdout
    assert again.result["changed"] is False
    assert created(demo) == [] and demo.write_calls() == []
    assert again.result["safe_to_release"] == RETIRED[:2]


def advance_once_polled(ecs, seconds):
    """From another thread: once the module polls snapshot status, move the clock on so they finish."""
    def watch():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any("SnapshotIds" in c["params"] for c in ecs.calls("DescribeSnapshots")):
                ecs.emu.advance(seconds)
                return
            time.sleep(0.2)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_rerun_while_progressing_reuses_and_waits(demo):
    demo.emu.configure(snapshot_seconds=600)
    first = demo.module("ecs_snapshot", instance_ids=RETIRED[:2], run_id="CHG-I", wait=False)
    assert first.rc == 0, first.stdout
    assert first.result["changed"] is True
    assert first.result["not_safe_to_release"] == RETIRED[:2]
    assert {s["status"] for i in first.result["instances"] for s in i["snapshots"]} == {"progressing"}
    ids = sorted(first.result["created_snapshot_ids"])

    # As if the first run had been killed mid-wait: the rerun finds the progressing snapshots and waits for them.
    demo.emu.clear_calls()
    watcher = advance_once_polled(demo, 600)
    again = demo.module("ecs_snapshot", instance_ids=RETIRED[:2], run_id="CHG-I")
    watcher.join(timeout=5)
    assert again.rc == 0, again.stdout
    assert again.result["changed"] is False
    assert created(demo) == []
    assert again.result["safe_to_release"] == RETIRED[:2]
    assert sorted(s["id"] for i in again.result["instances"] for s in i["snapshots"]) == ids
    assert sorted(run_snapshots(demo, "CHG-I")) == ids
    listing = demo.calls("DescribeSnapshots")[0]
    assert listing["params"]["Tag.1.Value"] == "CHG-I"
    polls = [json.loads(c["params"]["SnapshotIds"]) for c in demo.calls("DescribeSnapshots")
             if "SnapshotIds" in c["params"]]
    assert polls and sorted(polls[-1]) == ids


def test_throttling_storm_creates_one_snapshot_per_disk(demo):
    demo.emu.set_faults({"*": {"throttle": 0.4}}, seed=5)
    run = demo.module("ecs_snapshot", instance_ids=RETIRED, run_id="CHG-S")
    assert run.rc == 0, run.stdout
    assert any(c["code"] == "Throttling.User" for c in demo.calls("CreateSnapshot"))
    disks = cloud_disks(demo, RETIRED)
    snapshots = run_snapshots(demo, "CHG-S")
    assert sorted(s["disk_id"] for s in snapshots.values()) == sorted(disks)
    assert len(created(demo)) == len(disks)


def test_polls_carry_at_most_100_ids(ecs):
    ecs.load({"settings": {"snapshot_seconds": 3}, "regions": {REGION: {"instances": [{
        "count": 75, "name": "bulk-{n:03d}", "status": "Stopped", "tags": {"team": "bulk"},
        "disks": {"data": [{"size": 20}]}}]}}})
    run = ecs.module("ecs_snapshot", tags={"team": "bulk"}, run_id="CHG-BULK")
    assert run.rc == 0, run.stdout
    assert len(run.result["created_snapshot_ids"]) == 150
    assert len(run.result["safe_to_release"]) == 75
    polls = [json.loads(c["params"]["SnapshotIds"]) for c in ecs.calls("DescribeSnapshots")
             if "SnapshotIds" in c["params"]]
    assert polls and max(len(p) for p in polls) == 100
    assert all(len(p) <= 100 for p in polls)
    assert len(created(ecs)) == 150
    assert len(run_snapshots(ecs, "CHG-BULK")) == 150


def test_refused_create_is_not_safe(demo):
    # CreateSnapshot keeps failing past the retries: no snapshot, so the instance is not safe.
    demo.emu.set_faults({"CreateSnapshot": {"internal_error": 1.0}})
    run = demo.module("ecs_snapshot", instance_ids=RETIRED[:1], run_id="CHG-R", api_retries=1)
    assert run.rc != 0
    assert run.result["not_safe_to_release"] == RETIRED[:1]
    assert {s["status"] for s in run.result["instances"][0]["snapshots"]} == {"not_created"}
    assert "InternalError" in run.result["msg"]
    assert run.result["changed"] is False


@pytest.mark.parametrize("args, option", [
    ({"run_id": "bad id!"}, "run_id"),
    ({"run_id": "1234"}, "run_id"),  # a valid run id, but no snapshot name can start with a digit
    ({"run_id": "CHG-1", "name_prefix": "auto-x"}, "name_prefix"),
    ({"run_id": "CHG-1", "retention_days": 0}, "retention_days"),
    ({"run_id": "CHG-1", "snapshot_tags": {RUN_TAG: "x"}}, "snapshot_tags"),
    ({"run_id": "CHG-1", "wait_timeout": 0}, "wait_timeout"),
])
def test_bad_input_fails_naming_the_option_with_no_call(demo, args, option):
    run = demo.module("ecs_snapshot", instance_ids=RETIRED[:1], **args)
    assert run.rc != 0
    assert run.result["msg"].startswith(f"{option}: "), run.result["msg"]
    assert demo.calls() == []


def test_no_selection_is_refused(demo):
    run = demo.module("ecs_snapshot", run_id="CHG-1")
    assert run.rc != 0
    assert run.result["msg"].startswith("instance_ids: ")
    assert demo.calls() == []
