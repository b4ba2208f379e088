from __future__ import annotations

import json

import pytest

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import (
    InvalidOptionError,
    WaitTimeout,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_report import (
    disks_by_instance,
    is_expired,
    report_instance,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_selector import (
    InstanceSelection,
    select_instances,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.retries import RetryPolicy
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.waiters import Waiter


def api_instance(instance_id, name="web-1", tags=None, **fields):
    record = {
        "InstanceId": instance_id, "InstanceName": name, "Status": "Running", "InstanceChargeType": "PostPaid",
        "ExpiredTime": "2099-12-31T15:59Z", "Tags": {"Tag": [{"TagKey": k, "TagValue": v} for k, v in (tags or {}).items()]},
    }
    record.update(fields)
    return record


class FakeEcs:
    """A tiny DescribeInstances over a list of records, honouring InstanceIds, Tag and InstanceName like ECS."""

    def __init__(self, instances, disks=()):
        self.instances = instances
        self.disks = list(disks)
        self.sent = []

    def __call__(self, action, params):
        self.sent.append((action, dict(params)))
        if action == "DescribeDisks":
            disks = [d for d in self.disks if params.get("InstanceId") in (None, d["InstanceId"])]
            return {"Disks": {"Disk": disks}, "NextToken": ""}
        chosen = self.instances
        if "InstanceIds" in params:
            ids = json.loads(params["InstanceIds"])
            chosen = [i for i in chosen if i["InstanceId"] in ids]
        return {"Instances": {"Instance": chosen}, "NextToken": ""}


def client_for(transport):
    return EcsClient(transport, "cn-hangzhou", RetryPolicy(retries=0))


@pytest.mark.parametrize("kwargs, option", [
    ({"instance_ids": ["web-1"]}, "instance_ids"),
    ({"tags": {f"k{n}": "v" for n in range(21)}}, "tags"),
    ({"tags": {"": "v"}}, "tags"),
    ({"name": "**"}, "name"),
])
def test_selection_validation_names_the_option(kwargs, option):
    with pytest.raises(InvalidOptionError) as raised:
        InstanceSelection(**kwargs)
    assert raised.value.option == option


def test_empty_selection_is_refused_where_required():
    with pytest.raises(InvalidOptionError) as raised:
        InstanceSelection().require_some()
    assert raised.value.option == "instance_ids"


def test_duplicate_ids_are_asked_once():
    assert InstanceSelection(instance_ids=["i-aa", "i-bb", "i-aa"]).instance_ids == ["i-aa", "i-bb"]


@pytest.mark.parametrize("pattern, name, hit", [
    ("batch-*", "batch-001", True), ("batch-*", "web-1", False), ("*-old", "db-old", True),
    ("web.1", "web-1", False), ("web[1]", "web[1]", True), ("exact", "exact", True), ("exact", "exactly", False),
])
def test_name_wildcard_only_star(pattern, name, hit):
    assert InstanceSelection(name=pattern).matches(api_instance("i-x1", name=name)) is hit


def test_ids_and_filters_are_anded_and_reported():
    fake = FakeEcs([
        api_instance("i-a1", "web-1", {"env": "prod"}),
        api_instance("i-a2", "web-2", {"env": "test"}),
    ])
    selection = InstanceSelection(instance_ids=["i-a1", "i-a2", "i-gone"], tags={"env": "prod"})
    selected = select_instances(client_for(fake), selection)
    assert [i["InstanceId"] for i in selected.instances] == ["i-a1"]
    assert selected.missing_ids == ["i-gone"]
    assert selected.unmatched_ids == ["i-a2"]


def test_ids_are_looked_up_100_per_call():
    ids = [f"i-n{n:04d}" for n in range(250)]
    fake = FakeEcs([api_instance(i) for i in ids])
    selected = select_instances(client_for(fake), InstanceSelection(instance_ids=ids))
    assert len(selected.instances) == 250
    assert [len(json.loads(p["InstanceIds"])) for unused_action, p in fake.sent] == [100, 100, 50]


def test_filters_are_sent_to_the_api_and_checked_again_locally():
    # A server that ignored the filter must not widen the selection.
    fake = FakeEcs([api_instance("i-a1", "batch-1", {"team": "retire"}), api_instance("i-a2", "web-1")])
    selected = select_instances(client_for(fake), InstanceSelection(tags={"team": "retire"}, name="batch-*"))
    assert [i["InstanceId"] for i in selected.instances] == ["i-a1"]
    params = fake.sent[0][1]
    assert params["Tag"] == [{"Key": "team", "Value": "retire"}]
    assert params["InstanceName"] == "batch-*"


def disk(disk_id, instance_id, kind="data", device="/dev/xvdb"):
    return {"DiskId": disk_id, "InstanceId": instance_id, "Type": kind, "Device": device, "Size": 40,
            "Category": "cloud_essd", "Portable": kind == "data", "DeleteWithInstance": True,
            "DeleteAutoSnapshot": False, "DiskChargeType": "PostPaid", "Status": "In_use"}


def test_disks_per_instance_for_small_selections():
    fake = FakeEcs([], [disk("d-2", "i-a1"), disk("d-1", "i-a1", "system", "/dev/xvda"), disk("d-3", "i-zz")])
    found = disks_by_instance(client_for(fake), ["i-a1"])
    assert [d["DiskId"] for d in found["i-a1"]] == ["d-1", "d-2"]
    assert [p.get("InstanceId") for unused_action, p in fake.sent] == ["i-a1"]


def test_disks_by_region_listing_for_large_selections():
    ids = [f"i-n{n:03d}" for n in range(11)]
    fake = FakeEcs([], [disk(f"d-{i}", i) for i in ids] + [disk("d-other", "i-other")])
    found = disks_by_instance(client_for(fake), ids)
    assert len(fake.sent) == 1 and "InstanceId" not in fake.sent[0][1]
    assert all(len(found[i]) == 1 for i in ids)
    assert "i-other" not in found


def test_report_instance_shape():
    record = api_instance(
        "i-a1", "web-1", {"env": "prod"}, DeletionProtection=True, AutoReleaseTime="",
        PublicIpAddress={"IpAddress": ["47.1.1.1"]}, EipAddress={"AllocationId": "", "IpAddress": ""},
        ZoneId="cn-hangzhou-h", RegionId="cn-hangzhou")
    report = report_instance(record, [disk("d-1", "i-a1", "system")])
    assert report["deletion_protection"] is True and report["eip"] is None
    assert report["tags"] == {"env": "prod"} and report["public_ips"] == ["47.1.1.1"]
    assert report["disks"][0]["type"] == "system" and report["disks"][0]["delete_with_instance"] is True
    assert "disks" not in report_instance(record)


@pytest.mark.parametrize("fields, expired", [
    ({"InstanceChargeType": "PostPaid", "ExpiredTime": "2000-01-01T00:00Z"}, False),
    ({"InstanceChargeType": "PrePaid", "ExpiredTime": "2000-01-01T00:00Z"}, True),
    ({"InstanceChargeType": "PrePaid", "ExpiredTime": "2099-01-01T00:00Z"}, False),
    ({"InstanceChargeType": "PrePaid", "ExpiredTime": "2099-01-01T00:00Z",
      "OperationLocks": {"LockReason": [{"LockReason": "financial"}]}}, True),
])
def test_expired(fields, expired):
    assert is_expired(api_instance("i-a1", **fields)) is expired


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def sleep(self, seconds):
        self.now += seconds

    def monotonic(self):
        return self.now


def test_waiter_polls_only_what_is_pending():
    time = FakeTime()
    asked = []

    def pending_of(ids):
        asked.append(list(ids))
        return [i for i in ids if i == "i-b" and len(asked) < 3]

    waiter = Waiter("instances to stop", timeout=60, sleep=time.sleep, monotonic=time.monotonic)
    waiter.wait(["i-a", "i-b"], pending_of)
    assert asked == [["i-a", "i-b"], ["i-b"], ["i-b"]]
    assert waiter.polls == 3


def test_waiter_timeout_says_what_is_pending():
    time = FakeTime()
    waiter = Waiter("instances to be released", timeout=30, sleep=time.sleep, monotonic=time.monotonic)
    with pytest.raises(WaitTimeout) as raised:
        waiter.wait(["i-a", "i-b", "i-c"], lambda ids: [i for i in ids if i != "i-a"])
    message = str(raised.value)
    assert message.startswith("Timed out after 30s waiting for instances to be released")
    assert "2 of 3 still pending: i-b, i-c" in message
    assert raised.value.result == {"pending": ["i-b", "i-c"]}
    assert time.now <= 30


def test_run_concurrently_keeps_order_and_separates_failures():
    import threading

    from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.concurrency import run_concurrently
    from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import EcsError

    in_flight = []
    peak = []
    lock = threading.Lock()

    def work(n):
        with lock:
            in_flight.append(n)
            peak.append(len(in_flight))
        try:
            if n % 5 == 0:
                raise EcsError(f"refused {n}")
            return n * 2
        finally:
            with lock:
                in_flight.remove(n)

    outcome = run_concurrently(work, list(range(1, 21)), workers=3)
    assert [n for n, unused in outcome.done] == [n for n in range(1, 21) if n % 5]
    assert all(result == n * 2 for n, result in outcome.done)
    assert [(n, str(e)) for n, e in outcome.failed] == [(n, f"refused {n}") for n in (5, 10, 15, 20)]
    assert max(peak) <= 3
