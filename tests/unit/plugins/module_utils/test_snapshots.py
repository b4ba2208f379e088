from __future__ import annotations

import json

import pytest

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import EcsError, InvalidOptionError
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.retries import RetryPolicy
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.snapshots import (
    RUN_TAG,
    BackupOptions,
    DiskBackup,
    SnapshotRun,
    back_up_instances,
)

INSTANCE = {"InstanceId": "i-aa", "InstanceName": "web-1", "Status": "Stopped"}
DISKS = [
    {"DiskId": "d-sys", "InstanceId": "i-aa", "Type": "system", "Category": "cloud_essd", "Device": "/dev/xvda"},
    {"DiskId": "d-data", "InstanceId": "i-aa", "Type": "data", "Category": "cloud_essd", "Device": "/dev/xvdb"},
    {"DiskId": "d-local", "InstanceId": "i-aa", "Type": "data", "Category": "ephemeral_ssd", "Device": "/dev/vdc"},
]


def params(**overrides):
    base = {"run_id": "CHG-1", "disks": "all", "consistent": False, "name_prefix": None, "retention_days": None,
            "snapshot_tags": {}, "wait": True, "wait_timeout": 60, "instance_ids": ["i-aa"], "tags": None,
            "name": None}
    base.update(overrides)
    return base


def snapshot(snapshot_id, disk_id, status, created="2026-01-01T00:00:00Z"):
    return {"SnapshotId": snapshot_id, "SourceDiskId": disk_id, "Status": status, "Progress": "100%",
            "CreationTime": created, "Tags": {"Tag": [{"TagKey": RUN_TAG, "TagValue": "CHG-1"}]}}


class FakeEcs:
    """One instance with three disks; the run's snapshots; CreateSnapshot makes progressing ones that finish on the next read."""

    def __init__(self, snapshots=(), groups=(), fail_disks=()):
        self.snapshots = {s["SnapshotId"]: dict(s) for s in snapshots}
        self.groups = list(groups)
        self.fail_disks = set(fail_disks)
        self.sent = []

    def __call__(self, action, request):
        self.sent.append((action, dict(request)))
        if action == "DescribeInstances":
            return {"Instances": {"Instance": [INSTANCE]}, "NextToken": ""}
        if action == "DescribeDisks":
            return {"Disks": {"Disk": DISKS}, "NextToken": ""}
        if action == "DescribeSnapshots":
            if "SnapshotIds" in request:
                wanted = json.loads(request["SnapshotIds"])
                found = [self.snapshots[i] for i in wanted if i in self.snapshots]
                for record in found:
                    if record["Status"] == "progressing":
                        record["Status"] = "failed" if record["SourceDiskId"] in self.fail_disks else "accomplished"
                return {"Snapshots": {"Snapshot": found}, "NextToken": ""}
            return {"Snapshots": {"Snapshot": list(self.snapshots.values())}, "NextToken": ""}
        if action == "DescribeSnapshotGroups":
            return {"SnapshotGroups": {"SnapshotGroup": self.groups}, "NextToken": ""}
        if action == "CreateSnapshot":
            new_id = f"s-new{len(self.snapshots)}"
            self.snapshots[new_id] = snapshot(new_id, request["DiskId"], "progressing")
            return {"SnapshotId": new_id}
        raise AssertionError(f"unexpected {action}")

    def creates(self):
        return [r for a, r in self.sent if a == "CreateSnapshot"]


def client_for(fake):
    return EcsClient(fake, "cn-hangzhou", RetryPolicy(retries=0), sleep=lambda s: None)


@pytest.mark.parametrize("overrides, option", [
    ({"run_id": ""}, "run_id"),
    ({"run_id": "has space"}, "run_id"),
    ({"run_id": "x" * 65}, "run_id"),
    ({"run_id": "2026-01"}, "run_id"),  # no name can start with a digit: the message says to set name_prefix
    ({"name_prefix": "1abc"}, "name_prefix"),
    ({"name_prefix": "auto-backup"}, "name_prefix"),
    ({"retention_days": 0}, "retention_days"),
    ({"snapshot_tags": {f"k{n}": "v" for n in range(20)}}, "snapshot_tags"),
    ({"snapshot_tags": {"acs:x": "v"}}, "snapshot_tags"),
    ({"wait_timeout": 0}, "wait_timeout"),
])
def test_options_are_validated_naming_the_option(overrides, option):
    with pytest.raises(InvalidOptionError) as raised:
        BackupOptions.from_params(params(**overrides))
    assert raised.value.option == option


def test_client_token_is_stable_per_attempt_and_fits_the_api():
    options = BackupOptions.from_params(params())
    first = options.client_token("CreateSnapshot", "d-sys", 0)
    assert first == BackupOptions.from_params(params()).client_token("CreateSnapshot", "d-sys", 0)
    assert first != options.client_token("CreateSnapshot", "d-sys", 1)
    assert first != options.client_token("CreateSnapshot", "d-data", 0)
    assert first != BackupOptions.from_params(params(run_id="CHG-2")).client_token("CreateSnapshot", "d-sys", 0)
    assert len(first) <= 64 and first.isascii()


def test_plan_reuses_accomplished_and_progressing_and_replaces_failed():
    fake = FakeEcs([snapshot("s-ok", "d-sys", "accomplished"),
                    snapshot("s-bad", "d-data", "failed"),
                    snapshot("s-old-bad", "d-data", "failed", "2025-01-01T00:00:00Z")])
    run = SnapshotRun(client_for(fake), BackupOptions.from_params(params()))
    run.plan([INSTANCE])
    backup = run.backups[0]
    assert [(d.disk_id, d.snapshot_id, d.attempt) for d in backup.disks] == [("d-sys", "s-ok", 0), ("d-data", "", 2)]
    assert [d["DiskId"] for d in backup.uncovered] == ["d-local"]
    assert run.actions == ["create a snapshot of d-data (data) of i-aa again, after a failed one"]
    assert run.diff() == {"before": {"i-aa": {"d-sys": "s-ok (accomplished)", "d-data": "no snapshot"}},
                          "after": {"i-aa": {"d-sys": "s-ok (accomplished)", "d-data": "new snapshot"}}}
    # The run's snapshots were found by the run tag in one listing.
    listing = [r for a, r in fake.sent if a == "DescribeSnapshots"]
    assert listing == [{"RegionId": "cn-hangzhou", "MaxResults": 100, "Tag": [{"Key": RUN_TAG, "Value": "CHG-1"}]}]


def test_a_progressing_snapshot_is_waited_for_not_duplicated():
    fake = FakeEcs([snapshot("s-sys", "d-sys", "progressing"), snapshot("s-data", "d-data", "progressing")])
    result = back_up_instances(client_for(fake), params(), check_mode=False)
    assert fake.creates() == []
    assert result["changed"] is False
    assert result["safe_to_release"] == ["i-aa"]


def test_check_mode_creates_nothing_and_is_not_safe():
    fake = FakeEcs()
    result = back_up_instances(client_for(fake), params(disks="data"), check_mode=True, diff=True)
    assert fake.creates() == []
    assert result["changed"] is True
    assert [s["status"] for s in result["instances"][0]["snapshots"]] == ["planned"]
    assert result["not_safe_to_release"] == ["i-aa"]
    assert result["diff"]["after"] == {"i-aa": {"d-data": "new snapshot"}}


def test_created_snapshots_carry_the_run_tag_name_and_token():
    fake = FakeEcs()
    warnings = []
    result = back_up_instances(client_for(fake), params(retention_days=7, snapshot_tags={"team": "ops"}),
                               check_mode=False, warn=warnings.append)
    creates = sorted(fake.creates(), key=lambda r: r["DiskId"])
    assert [r["DiskId"] for r in creates] == ["d-data", "d-sys"]
    for request in creates:
        assert request["Tag"] == [{"Key": RUN_TAG, "Value": "CHG-1"}, {"Key": "team", "Value": "ops"}]
        assert request["SnapshotName"] == f"CHG-1-{request['DiskId']}"
        assert request["RetentionDays"] == 7
        assert request["ClientToken"].startswith("lifecycle-")
    assert result["changed"] is True and result["safe_to_release"] == ["i-aa"]
    assert warnings and "d-local" in warnings[0]


def test_a_failed_snapshot_raises_with_the_full_result():
    fake = FakeEcs(fail_disks=["d-data"])
    with pytest.raises(EcsError) as raised:
        back_up_instances(client_for(fake), params(), check_mode=False)
    result = raised.value.result
    assert "i-aa" in raised.value.message and "d-data" in raised.value.message
    assert result["not_safe_to_release"] == ["i-aa"] and result["safe_to_release"] == []
    assert result["changed"] is True


def test_a_vanished_snapshot_is_not_a_backup():
    fake = FakeEcs()
    run = SnapshotRun(client_for(fake), BackupOptions.from_params(params(disks="system")))
    run.plan([INSTANCE])
    run.create()
    fake.snapshots.clear()  # deleted behind our back
    assert run.refresh([run.backups[0].disks[0].snapshot_id]) == []
    assert run.backups[0].disks[0].status == "failed"
    assert run.backups[0].complete is False


def test_status_polls_carry_at_most_100_ids():
    fake = FakeEcs()
    run = SnapshotRun(client_for(fake), BackupOptions.from_params(params()))
    run.plan([INSTANCE])
    ids = [f"s-{n}" for n in range(250)]
    run.backups[0].disks = [DiskBackup({"DiskId": f"d-{n}", "Type": "data"}, {"SnapshotId": i}, 0)
                            for n, i in enumerate(ids)]
    for n, snapshot_id in enumerate(ids):
        fake.snapshots[snapshot_id] = snapshot(snapshot_id, f"d-{n}", "progressing")
    assert run.refresh(ids) == []
    assert run.polled_ids == [100, 100, 50]
    polls = [json.loads(r["SnapshotIds"]) for a, r in fake.sent if a == "DescribeSnapshots" and "SnapshotIds" in r]
    assert sorted(i for poll in polls for i in poll) == sorted(ids)
    assert run.backups[0].complete


def test_consistent_reuses_a_covering_group_and_ignores_one_over_other_disks():
    covering = {"SnapshotGroupId": "ssg-ok", "InstanceId": "i-aa", "Status": "accomplished",
                "CreationTime": "2026-01-01T00:00:00Z",
                "Snapshots": {"Snapshot": [{"SnapshotId": "s-g1", "SourceDiskId": "d-sys"},
                                           {"SnapshotId": "s-g2", "SourceDiskId": "d-data"}]}}
    narrow = {"SnapshotGroupId": "ssg-narrow", "InstanceId": "i-aa", "Status": "accomplished",
              "CreationTime": "2026-02-01T00:00:00Z",
              "Snapshots": {"Snapshot": [{"SnapshotId": "s-n1", "SourceDiskId": "d-sys"}]}}
    fake = FakeEcs([snapshot("s-g1", "d-sys", "accomplished"), snapshot("s-g2", "d-data", "accomplished")],
                   groups=[narrow, covering])
    run = SnapshotRun(client_for(fake), BackupOptions.from_params(params(consistent=True)))
    run.plan([INSTANCE])
    assert run.backups[0].group_id == "ssg-ok"
    assert [d.snapshot_id for d in run.backups[0].disks] == ["s-g1", "s-g2"]
    assert run.changes is False

    only_narrow = FakeEcs(groups=[narrow])
    run = SnapshotRun(client_for(only_narrow), BackupOptions.from_params(params(consistent=True)))
    run.plan([INSTANCE])
    assert run.backups[0].group_id == "" and run.backups[0].group_attempt == 1
    assert run.actions == ["create a snapshot group of i-aa over d-sys, d-data (attempt 2)"]
