"""The snapshot_then_release role through the decommission playbook, against the emulator's demo fleet.

Every test asserts on the playbook's result, the emulator's recorded calls and its final state: what was
released, that each released instance's snapshots were accomplished before the first DeleteInstances call that
named it, and that everything not selected (production, protected, unexpired subscriptions) is untouched.
The helpers at the top are shared with test_decommission_interruption.py.
"""

from __future__ import annotations

import calendar
import json
import tempfile
import time
import typing as t
from pathlib import Path

import pytest

from collection_link import REPO

PLAYBOOK = "alicloud_ecs.lifecycle.decommission"
INVENTORY = str(REPO / "inventory" / "demo.yml")
RUN_TAG = "alicloud_ecs.lifecycle:run"
REGIONS = ("cn-hangzhou", "cn-shanghai")
SNAPSHOT_SECONDS = 3
RETIRE_HZ = ["i-bpbatchold100000001", "i-bpbatchold200000002", "i-bpbatchold300000003",
             "i-bpbatchold400000004", "i-bpreportleg00000001"]
RETIRE_SH = ["i-ufbatcholdsh1000001", "i-ufbatcholdsh2000002"]
# What the demo retirement needs: batch-old-4 is running, batch-old-3 has a local disk.
RETIRE_VARS = {"snapshot_then_release_tags": {"team": "retire"},
               "snapshot_then_release_running_instances": "stop",
               "snapshot_then_release_accept_local_disk_loss": True}


def decommission_vars(report_dir: Path, run_id: str = "CHG-1", **more: t.Any) -> t.Dict[str, t.Any]:
    return dict(RETIRE_VARS, snapshot_then_release_run_id=run_id,
                snapshot_then_release_report_dir=str(report_dir), **more)


def delete_ids(call: t.Mapping[str, t.Any]) -> t.List[str]:
    return sorted(v for k, v in call["params"].items() if k.startswith("InstanceId."))


def epoch(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))


def region_state(ecs: t.Any, region: str) -> t.Dict[str, t.Any]:
    return ecs.emu.state(region)["regions"][region]


def cloud_disks_by_instance(ecs: t.Any, region: str) -> t.Dict[str, t.List[str]]:
    """Before a run: the disks a snapshot backup of each instance must cover (local disks cannot be)."""
    found: t.Dict[str, t.List[str]] = {}
    for disk in region_state(ecs, region)["disks"].values():
        if disk["instance_id"] and not disk["category"].startswith("ephemeral"):
            found.setdefault(disk["instance_id"], []).append(disk["id"])
    return found


def released_instances(ecs: t.Any, region: str) -> t.List[str]:
    return sorted(e["id"] for e in region_state(ecs, region)["released"] if e["kind"] == "instance")


def assert_backed_up_before_release(ecs: t.Any, region: str, run_id: str, disks: t.Mapping[str, t.List[str]],
                                    snapshot_seconds: float = SNAPSHOT_SECONDS) -> None:
    """For every released instance: one accomplished snapshot of the run per cloud disk, created once, and
    accomplished (creation call time + snapshot_seconds, and the state's done_time) before the first
    DeleteInstances call that named the instance."""
    snapshots = [s for s in region_state(ecs, region)["snapshots"].values() if s["tags"].get(RUN_TAG) == run_id]
    by_disk: t.Dict[str, t.List[t.Dict[str, t.Any]]] = {}
    for snapshot in snapshots:
        by_disk.setdefault(snapshot["disk_id"], []).append(snapshot)
    creates = [c for c in ecs.calls("CreateSnapshot") if c["status"] == 200]
    deletes = [c for c in ecs.calls("DeleteInstances") if c["status"] == 200]
    released = released_instances(ecs, region)
    assert released, "nothing was released"
    for instance_id in released:
        first_delete = min((c for c in deletes if instance_id in delete_ids(c)), key=lambda c: c["seq"])
        assert disks.get(instance_id), f"{instance_id} had no cloud disk to back up"
        for disk_id in disks[instance_id]:
            assert len(by_disk.get(disk_id, [])) == 1, f"{disk_id}: {by_disk.get(disk_id)} (no or duplicate snapshot)"
            snapshot = by_disk[disk_id][0]
            assert snapshot["status"] == "accomplished", snapshot
            made = [c for c in creates if c["params"]["DiskId"] == disk_id]
            # Retries of one create carry one ClientToken; a second token would be a second snapshot.
            assert len({c["params"]["ClientToken"] for c in made}) == 1, made
            assert made[0]["seq"] < first_delete["seq"]
            assert made[0]["time"] + snapshot_seconds <= first_delete["time"], (disk_id, made[0], first_delete)
            assert epoch(snapshot["done_time"]) <= first_delete["time"]


def untouched(before: t.Mapping[str, t.Any], after: t.Mapping[str, t.Any], ids: t.Iterable[str]) -> None:
    for instance_id in ids:
        assert after["instances"][instance_id] == before["instances"][instance_id], instance_id
        assert instance_id not in [e["id"] for e in after["released"]]


def run_decommission(ecs: t.Any, extra_vars: t.Mapping[str, t.Any], hosts: t.Optional[str] = None) -> t.Any:
    extra = dict(extra_vars)
    if hosts:
        extra["decommission_hosts"] = hosts
    return ecs.playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=extra)


def failure(run: t.Any) -> str:
    return " ".join(str(e["result"].get("msg", "")) for e in run.tasks if e["status"] == "failed")


@pytest.fixture
def demo(ecs):
    ecs.load("demo")
    ecs.emu.configure(snapshot_seconds=SNAPSHOT_SECONDS, status_seconds=1, image_seconds=2)
    return ecs


def test_decommission_backs_up_then_releases_and_a_rerun_does_nothing(demo, tmp_path):
    before = {r: region_state(demo, r) for r in REGIONS}
    disks = {r: cloud_disks_by_instance(demo, r) for r in REGIONS}
    reports = tmp_path / "reports"
    run = run_decommission(demo, decommission_vars(reports))
    assert run.rc == 0, run.stdout[-4000:] + run.stderr[-2000:]

    # Exactly the retirement candidates went, in both regions (forks fan out across them).
    assert released_instances(demo, "cn-hangzhou") == sorted(RETIRE_HZ)
    assert released_instances(demo, "cn-shanghai") == sorted(RETIRE_SH)
    for region, retired in (("cn-hangzhou", RETIRE_HZ), ("cn-shanghai", RETIRE_SH)):
        after = region_state(demo, region)
        untouched(before[region], after, set(before[region]["instances"]) - set(retired))
        assert_backed_up_before_release(demo, region, "CHG-1", disks[region])
    # Snapshots were requested together: every CreateSnapshot of a region came before its first status poll.
    for region in REGIONS:
        region_disks = {d for ids in disks[region].values() for d in ids}
        creates = [c["seq"] for c in demo.calls("CreateSnapshot") if c["params"]["DiskId"] in region_disks]
        polls = [c["seq"] for c in demo.calls("DescribeSnapshots")
                 if c["region"] == region and "SnapshotIds" in c["params"]]
        assert creates and polls and max(creates) < min(polls)

    # The report: task output, JSON and Markdown, saying what was backed up, released and what still bills.
    report = json.loads((reports / "CHG-1-cn-hangzhou.json").read_text())
    assert sorted(report["released"]) == sorted(RETIRE_HZ) == sorted(report["released_by_this_run"])
    assert report["not_released"] == []
    run_snapshots = {s["id"] for s in region_state(demo, "cn-hangzhou")["snapshots"].values()
                     if s["tags"].get(RUN_TAG) == "CHG-1"}
    assert {s["id"] for i in report["instances"] for s in i["snapshots"]} == run_snapshots
    kept = [d["id"] for d in region_state(demo, "cn-hangzhou")["disks"].values()
            if d["status"] == "Available" and d["name"] == "batch-old-2-results"]
    assert [d["id"] for d in report["still_billing"]["disks"]] == kept
    assert {e["ip_address"] for e in report["still_billing"]["eips"]} == {"47.96.20.23"}
    assert {s["name"] for s in report["still_billing"]["snapshots"]} == {"batch-results-final", "batch-old-3-keep"}
    assert report["totals"]["disks"]["size_gib"] == 300
    assert report["totals"]["backup_snapshots"]["count"] == len(run_snapshots)
    markdown = (reports / "CHG-1-cn-hangzhou.md").read_text()
    assert "5 of 5 instance(s) released" in markdown and "batch-old-2-results" not in markdown
    assert all(s in markdown for s in run_snapshots) and kept[0] in markdown
    summary = run.task("Report - show the summary", host="cn-hangzhou")["msg"]
    assert any("5 of 5 selected instance(s) released" in line for line in summary)

    # A rerun with the same variables: no write at all, and the report still covers the whole run.
    demo.emu.clear_calls()
    again = run_decommission(demo, decommission_vars(reports))
    assert again.rc == 0, again.stdout[-4000:]
    assert demo.write_calls() == []
    report = json.loads((reports / "CHG-1-cn-hangzhou.json").read_text())
    assert sorted(report["released"]) == sorted(RETIRE_HZ) and report["released_by_this_run"] == []
    assert {s["id"] for i in report["instances"] for s in i["snapshots"]} == run_snapshots


@pytest.mark.parametrize("case, extra, reason", [
    ("running", {"snapshot_then_release_running_instances": "fail"}, "i-bpbatchold400000004"),
    ("local disk", {"snapshot_then_release_accept_local_disk_loss": False}, "cannot be snapshotted"),
    ("protected production", {"snapshot_then_release_tags": {"env": "production", "role": "web"}},
     "release protection"),
    ("subscription", {"snapshot_then_release_tags": {}, "snapshot_then_release_instance_ids": ["i-bpdbprod10000000001"]},
     "i-bpdbprod10000000001"),
    ("max_instances", {"snapshot_then_release_max_instances": 3}, "max_instances"),
])
def test_preflight_refuses_before_any_backup(demo, tmp_path, case, extra, reason):
    before = region_state(demo, "cn-hangzhou")
    run = run_decommission(demo, decommission_vars(tmp_path, **extra), hosts="cn-hangzhou")
    assert run.rc != 0, case
    assert reason in failure(run), failure(run)
    assert demo.write_calls() == [], "a write before the preflight refused"
    assert demo.count("CreateSnapshot") == 0 and demo.count("CreateImage") == 0
    assert not (tmp_path / "CHG-1-cn-hangzhou.state.json").exists()
    after = region_state(demo, "cn-hangzhou")
    untouched(before, after, before["instances"])


def test_a_failed_snapshot_means_no_release_then_a_rerun_finishes(demo, tmp_path):
    disks = cloud_disks_by_instance(demo, "cn-hangzhou")
    bad = sorted(disks["i-bpbatchold200000002"])[0]
    demo.emu.configure(fail_snapshot_disk_ids=[bad])
    run = run_decommission(demo, decommission_vars(tmp_path), hosts="cn-hangzhou")
    assert run.rc != 0
    assert "i-bpbatchold200000002" in failure(run) and bad in failure(run)
    assert demo.count("DeleteInstances") == 0 and released_instances(demo, "cn-hangzhou") == []
    first = {c["params"]["DiskId"] for c in demo.calls("CreateSnapshot") if c["status"] == 200}

    demo.emu.configure(fail_snapshot_disk_ids=[])
    demo.emu.clear_calls()
    again = run_decommission(demo, decommission_vars(tmp_path), hosts="cn-hangzhou")
    assert again.rc == 0, again.stdout[-4000:]
    # Only the failed disk gets a new snapshot; the failed one stays and never counts as the backup.
    assert [c["params"]["DiskId"] for c in demo.calls("CreateSnapshot") if c["status"] == 200] == [bad]
    assert bad in first
    assert released_instances(demo, "cn-hangzhou") == sorted(RETIRE_HZ)
    accomplished = [s for s in region_state(demo, "cn-hangzhou")["snapshots"].values()
                    if s["tags"].get(RUN_TAG) == "CHG-1" and s["disk_id"] == bad and s["status"] == "accomplished"]
    assert len(accomplished) == 1
    delete = demo.calls("DeleteInstances")[0]
    create = demo.calls("CreateSnapshot")[0]
    assert create["time"] + SNAPSHOT_SECONDS <= delete["time"]


def test_image_and_snapshots_by_ids_keep_the_ip_and_the_disks(demo, tmp_path):
    instance = "i-bpbatchold100000001"
    disks = cloud_disks_by_instance(demo, "cn-hangzhou")
    run = run_decommission(demo, decommission_vars(
        tmp_path, run_id="CHG-IMG", snapshot_then_release_tags={}, snapshot_then_release_instance_ids=[instance],
        snapshot_then_release_backup="both", snapshot_then_release_retain_public_ip=True,
        snapshot_then_release_data_disks="retain"), hosts="cn-hangzhou")
    assert run.rc == 0, run.stdout[-4000:]
    state = region_state(demo, "cn-hangzhou")
    assert released_instances(demo, "cn-hangzhou") == [instance]
    assert_backed_up_before_release(demo, "cn-hangzhou", "CHG-IMG", disks)
    images = [i for i in state["images"].values() if i["name"] == f"CHG-IMG-{instance}"]
    assert len(images) == 1 and images[0]["status"] == "Available"
    delete = demo.calls("DeleteInstances")[0]
    assert epoch(images[0]["done_time"]) <= delete["time"] and demo.calls("CreateImage")[0]["seq"] < delete["seq"]
    # The static IP became an EIP, the data disk stayed; both are in the report as still billing.
    eips = [e for e in state["eips"].values() if e["ip"] == "47.96.20.21"]
    assert eips and eips[0]["status"] == "Available"
    data = [d for d in state["disks"].values() if d["name"] == "batch-old-1-scratch"]
    assert data and data[0]["status"] == "Available"
    report = json.loads((tmp_path / "CHG-IMG-cn-hangzhou.json").read_text())
    assert report["instances"][0]["image"]["id"] == images[0]["id"]
    assert [d["id"] for d in report["still_billing"]["disks"]] == [data[0]["id"]]
    assert [e["allocation_id"] for e in report["still_billing"]["eips"]] == [eips[0]["id"]]


def test_a_run_id_reused_with_another_selection_is_refused(demo, tmp_path):
    first = run_decommission(demo, decommission_vars(
        tmp_path, snapshot_then_release_tags={}, snapshot_then_release_instance_ids=["i-bpbatchold100000001"]),
        hosts="cn-hangzhou")
    assert first.rc == 0, first.stdout[-3000:]
    demo.emu.clear_calls()
    second = run_decommission(demo, decommission_vars(tmp_path), hosts="cn-hangzhou")
    assert second.rc != 0
    assert "use a new snapshot_then_release_run_id" in failure(second)
    assert demo.write_calls() == []


def test_ansible_runner_runs_the_decommission_playbook(demo, tmp_path):
    ansible_runner = pytest.importorskip("ansible_runner")
    before = region_state(demo, "cn-shanghai")
    disks = cloud_disks_by_instance(demo, "cn-shanghai")
    with tempfile.TemporaryDirectory() as private:
        result = ansible_runner.run(
            private_data_dir=private, playbook=PLAYBOOK, inventory=INVENTORY, limit="cn-shanghai",
            envvars={k: v for k, v in demo.env.items() if k.startswith(("ALIBABA_", "ANSIBLE_COLLECTIONS"))},
            extravars=decommission_vars(tmp_path, run_id="AWX-7"), quiet=True)
        events = [e.get("event_data", {}).get("task") for e in result.events if e["event"] == "runner_on_ok"]
    assert result.rc == 0 and result.status == "successful", (result.rc, result.status)
    assert "Release the backed-up instances" in events
    assert released_instances(demo, "cn-shanghai") == sorted(RETIRE_SH)
    untouched(before, region_state(demo, "cn-shanghai"), set(before["instances"]) - set(RETIRE_SH))
    assert_backed_up_before_release(demo, "cn-shanghai", "AWX-7", disks)
    assert released_instances(demo, "cn-hangzhou") == []
    assert sorted(json.loads((tmp_path / "AWX-7-cn-shanghai.json").read_text())["released_by_this_run"]) == sorted(RETIRE_SH)
