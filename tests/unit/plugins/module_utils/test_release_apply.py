"""Applying a release plan against a scripted ECS: order of writes, tokens, partial failure, gone ids."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

import pytest

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient, TransportError
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import EcsError
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_release import Release
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.release_plan import ReleaseOptions, release_plan
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.retries import RetryPolicy

NOW = datetime(2026, 11, 26, 4, 0, tzinfo=timezone.utc)


def instance(instance_id, status="Stopped", **fields):
    record = {"InstanceId": instance_id, "InstanceName": instance_id, "Status": status,
              "InstanceChargeType": "PostPaid", "ExpiredTime": "2099-12-31T15:59Z"}
    record.update(fields)
    return record


class ScriptedEcs:
    """Instances that DeleteInstances removes; ``refuse`` maps an instance id to the code that refuses its batch."""

    def __init__(self, ids, refuse=None, gone=()):
        self.listed = set(ids) - set(gone)
        self.known = set(ids) - set(gone)
        self.refuse = dict(refuse or {})
        self.sent = []
        self.lock = threading.Lock()

    def __call__(self, action, params):
        with self.lock:
            self.sent.append((action, dict(params)))
            if action == "DeleteInstances":
                ids = params["InstanceId"]
                unknown = [i for i in ids if i not in self.known]
                if unknown:
                    raise TransportError("InvalidInstanceId.NotFound", f"{unknown[0]} does not exist", 404)
                codes = [self.refuse[i] for i in ids if i in self.refuse]
                if codes:
                    raise TransportError(codes[0], "refused", 403, "req-1")
                self.known -= set(ids)
                self.listed -= set(ids)
                return {"RequestId": "req"}
            if action == "DescribeInstances":
                asked = json.loads(params["InstanceIds"])
                return {"Instances": {"Instance": [instance(i) for i in asked if i in self.listed]}, "NextToken": ""}
            if action == "ModifyDiskAttribute":
                return {}
            raise AssertionError(f"unexpected {action}")

    def calls(self, action):
        return [params for sent, params in self.sent if sent == action]


def release(ecs, instances, disks=None, **options):
    client = EcsClient(ecs, "cn-hangzhou", RetryPolicy(retries=0), sleep=lambda s: None)
    plan = release_plan(instances, disks or {}, {}, {}, ReleaseOptions(**options), NOW)
    assert plan.refusals == []
    return Release(client, plan, wait_timeout=5)


def test_batches_of_100_with_tokens_then_one_poll():
    ids = [f"i-{n:04d}" for n in range(250)]
    ecs = ScriptedEcs(ids)
    applied = release(ecs, [instance(i) for i in ids])
    applied.apply(wait=True)
    deletes = ecs.calls("DeleteInstances")
    assert sorted(len(c["InstanceId"]) for c in deletes) == [50, 100, 100]
    assert sorted(i for c in deletes for i in c["InstanceId"]) == ids
    assert len({c["ClientToken"] for c in deletes}) == 3
    assert all(c["Force"] is False and c["TerminateSubscription"] is False for c in deletes)
    assert applied.result()["released"] == ids
    assert applied.result()["changed"] is True
    assert applied.wait_polls == 1 and len(ecs.calls("DescribeInstances")) == 3  # 100 ids a call


def test_a_refused_batch_fails_the_task_saying_exactly_what_was_released():
    ids = [f"i-{n:04d}" for n in range(250)]
    ecs = ScriptedEcs(ids, refuse={"i-0120": "InvalidOperation.DeletionProtection"})
    applied = release(ecs, [instance(i) for i in ids])
    with pytest.raises(EcsError) as raised:
        applied.apply(wait=True)
    result = raised.value.result
    refused_batch = ids[100:200]
    assert result["not_released"] == refused_batch
    assert result["released"] == ids[:100] + ids[200:]
    assert sorted(result["released"]) == sorted(set(ids) - ecs.known)
    assert result["batch_errors"][0]["code"] == "InvalidOperation.DeletionProtection"
    assert result["batch_errors"][0]["instance_ids"] == refused_batch
    assert result["error"]["code"] == "InvalidOperation.DeletionProtection"
    assert result["changed"] is True
    assert raised.value.message.startswith("Released 150 of 250 instances; 1 DeleteInstances call(s) refused, "
                                           "100 instances not released: DeleteInstances failed: "
                                           "InvalidOperation.DeletionProtection")
    assert ecs.calls("DescribeInstances") == []  # no waiting after a failure


def test_an_id_gone_since_planning_is_already_absent_and_the_rest_released():
    ids = ["i-a", "i-b", "i-c"]
    ecs = ScriptedEcs(ids, gone=["i-b"])
    applied = release(ecs, [instance(i) for i in ids])
    applied.apply(wait=False)
    assert applied.result()["released"] == ["i-a", "i-c"]
    assert applied.result()["already_absent"] == ["i-b"]
    assert [c["InstanceId"] for c in ecs.calls("DeleteInstances")] == [ids, ["i-a"], ["i-b"], ["i-c"]]


def test_everything_gone_since_planning_is_no_change():
    ecs = ScriptedEcs(["i-a"], gone=["i-a"])
    applied = release(ecs, [instance("i-a")])
    applied.apply(wait=True)
    assert applied.result()["changed"] is False
    assert applied.result()["already_absent"] == ["i-a"]


def test_disk_flags_are_set_before_the_release_and_only_where_they_differ():
    disks = {"i-a": [{"DiskId": "d-sys", "Type": "system", "Category": "cloud_essd", "Portable": False,
                      "DeleteWithInstance": True, "DeleteAutoSnapshot": True},
                     {"DiskId": "d-data", "Type": "data", "Category": "cloud_essd", "Portable": True,
                      "DeleteWithInstance": True, "DeleteAutoSnapshot": True},
                     {"DiskId": "d-kept", "Type": "data", "Category": "cloud_essd", "Portable": True,
                      "DeleteWithInstance": False, "DeleteAutoSnapshot": False}]}
    ecs = ScriptedEcs(["i-a"])
    release(ecs, [instance("i-a")], disks, data_disks="retain").apply(wait=False)
    assert [action for action, _params in ecs.sent] == ["ModifyDiskAttribute", "DeleteInstances"]
    assert ecs.calls("ModifyDiskAttribute") == [
        {"RegionId": "cn-hangzhou", "DiskIds": ["d-data"], "DeleteWithInstance": False}]
