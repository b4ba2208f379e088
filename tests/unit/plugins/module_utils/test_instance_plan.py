"""The shared plan-then-apply flow, and the two planners on it, with no network."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.auto_release import (
    auto_release_plan,
    parse_duration,
    parse_release_time,
    wanted_release_time,
    write_auto_release,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient, TransportError
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import EcsError, InvalidOptionError
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_plan import (
    PlanRefused,
    apply_instance_plan,
    name_ids,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.release_protection import (
    release_protection_plan,
    write_release_protection,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.retries import RetryPolicy

NOW = datetime(2026, 11, 26, 4, 0, 20, tzinfo=timezone.utc)


def instance(instance_id, charge="PostPaid", protected=False, release="", name=None, **fields):
    record = {"InstanceId": instance_id, "InstanceName": name or instance_id, "InstanceChargeType": charge,
              "DeletionProtection": protected, "AutoReleaseTime": release, "Status": "Running",
              "Tags": {"Tag": [{"TagKey": "env", "TagValue": "prod"}]}}
    record.update(fields)
    return record


# ------------------------------------------------------------------ release protection planner

def test_protection_plan_changes_only_what_differs_and_skips_subscriptions():
    plan = release_protection_plan([
        instance("i-off"), instance("i-on", protected=True), instance("i-sub", charge="PrePaid"),
    ], enabled=True)
    assert [e.instance_id for e in plan.changes] == ["i-off"]
    assert [e.instance_id for e in plan.skipped] == ["i-sub"]
    assert plan.diff() == {"before": {"i-off": {"deletion_protection": False}},
                           "after": {"i-off": {"deletion_protection": True}}}
    assert len(plan.warnings) == 1 and "i-sub" in plan.warnings[0] and "pay-as-you-go" in plan.warnings[0]
    assert plan.extra_result == {"auto_release_scheduled": []}


def test_protection_plan_lists_protected_instances_whose_schedule_still_fires():
    plan = release_protection_plan([
        instance("i-sched", release="2026-12-01T10:00Z"),
        instance("i-sched-on", protected=True, release="2026-12-02T10:00Z"),
        instance("i-plain"),
    ], enabled=True)
    assert plan.extra_result["auto_release_scheduled"] == [
        {"id": "i-sched", "name": "i-sched", "auto_release_time": "2026-12-01T10:00:00Z"},
        {"id": "i-sched-on", "name": "i-sched-on", "auto_release_time": "2026-12-02T10:00:00Z"},
    ]
    assert any("does not stop" in w and "i-sched, i-sched-on" in w for w in plan.warnings)


def test_disabling_protection_warns_about_no_schedule():
    plan = release_protection_plan([instance("i-on", protected=True, release="2026-12-01T10:00Z")], enabled=False)
    assert [e.after for e in plan.changes] == [{"deletion_protection": False}]
    assert plan.warnings == [] and plan.extra_result["auto_release_scheduled"] == []


# ------------------------------------------------------------------ times and durations

@pytest.mark.parametrize("text, expected", [
    ("90m", timedelta(minutes=90)), ("36h", timedelta(hours=36)), ("14d", timedelta(days=14)),
    ("1d12h", timedelta(days=1, hours=12)), ("2d3h4m", timedelta(days=2, hours=3, minutes=4)),
    ("0m", timedelta(0)), (" 36H ", timedelta(hours=36)),
])
def test_durations(text, expected):
    assert parse_duration("release_in", text) == expected


@pytest.mark.parametrize("text", ["", "90", "1.5h", "36 hours", "-2h", "h", "12h1d", "1w", "PT36H"])
def test_bad_durations_name_the_option(text):
    with pytest.raises(InvalidOptionError) as raised:
        parse_duration("release_in", text)
    assert raised.value.message.startswith("release_in: ") and "not a duration" in raised.value.message


@pytest.mark.parametrize("text, expected", [
    ("2026-12-01T18:00:37+08:00", datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)),
    ("2026-12-01T10:00:59.999Z", datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)),
    ("2026-12-01T10:00z", datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)),
    ("2026-12-01 05:30:00-04:30", datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)),
])
def test_release_time_to_utc_rounded_down(text, expected):
    assert parse_release_time(text) == expected


@pytest.mark.parametrize("text, said", [
    ("2026-12-01T10:00:00", "no UTC offset"), ("2026-12-01", "no UTC offset"),
    ("next tuesday", "not an ISO 8601 time"), ("2026-02-30T10:00:00Z", "not an ISO 8601 time"),
])
def test_bad_release_times(text, said):
    with pytest.raises(InvalidOptionError) as raised:
        parse_release_time(text)
    assert raised.value.message.startswith("release_time: ") and said in raised.value.message


def test_release_in_is_counted_from_now_and_rounded_down():
    assert wanted_release_time(None, "36h", NOW) == datetime(2026, 11, 27, 16, 0, tzinfo=timezone.utc)
    # 30 minutes from 04:00:20 rounds down to 04:30, which the API still takes (it checks the current minute).
    assert wanted_release_time(None, "30m", NOW) == datetime(2026, 11, 26, 4, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("release_time, release_in, option, said", [
    ("2026-11-26T04:00:00Z", None, "release_time", "'2026-11-26T04:00:00Z' is 2026-11-26T04:00:00Z UTC, which is in the past"),
    ("2026-11-26T12:29:00+08:00", None, "release_time",
     "is 2026-11-26T04:29:00Z UTC, less than 30 minutes ahead (the earliest is 2026-11-26T04:30:00Z)"),
    (None, "29m", "release_in", "is 2026-11-26T04:29:00Z UTC, less than 30 minutes ahead"),
    (None, "1096d", "release_in", "more than 3 years ahead (the latest is 2029-11-25T04:00:00Z)"),
    ("2029-11-25T04:01:00Z", None, "release_time", "more than 3 years ahead"),
    (None, None, "release_time", "needs release_time or release_in"),
])
def test_times_out_of_bounds_name_the_option_and_the_utc_time(release_time, release_in, option, said):
    with pytest.raises(InvalidOptionError) as raised:
        wanted_release_time(release_time, release_in, NOW)
    assert raised.value.message.startswith(f"{option}: ") and said in raised.value.message


def test_three_years_ahead_is_still_allowed():
    assert wanted_release_time("2029-11-25T04:00:00Z", None, NOW) == datetime(2029, 11, 25, 4, tzinfo=timezone.utc)


# ------------------------------------------------------------------ auto-release planner

WANTED = datetime(2026, 11, 28, 0, 0, tzinfo=timezone.utc)


def test_schedule_plan_sets_moves_and_keeps_within_tolerance():
    plan = auto_release_plan([
        instance("i-none"),
        instance("i-far", release="2026-11-27T00:00Z"),
        instance("i-near", release="2026-11-28T00:04Z"),
        instance("i-edge", release="2026-11-27T23:55Z"),
    ], WANTED, timedelta(minutes=5))
    assert [e.instance_id for e in plan.changes] == ["i-none", "i-far"]
    assert plan.diff()["after"] == {"i-none": {"auto_release_time": "2026-11-28T00:00:00Z"},
                                    "i-far": {"auto_release_time": "2026-11-28T00:00:00Z"}}
    assert plan.diff()["before"]["i-far"] == {"auto_release_time": "2026-11-27T00:00:00Z"}
    assert "(was 2026-11-27T00:00:00Z)" in plan.changes[1].reason
    assert plan.warnings == []


def test_zero_tolerance_wants_the_exact_minute():
    plan = auto_release_plan([instance("i-near", release="2026-11-28T00:01Z")], WANTED, timedelta(0))
    assert [e.instance_id for e in plan.changes] == ["i-near"]


def test_cancel_plan_skips_subscriptions_and_unscheduled():
    plan = auto_release_plan([
        instance("i-sched", release="2026-11-27T00:00Z"), instance("i-none"), instance("i-sub", charge="PrePaid"),
    ], None)
    assert [(e.instance_id, e.after) for e in plan.changes] == [("i-sched", {"auto_release_time": ""})]
    assert [e.instance_id for e in plan.skipped] == ["i-sub"]


def test_subscriptions_refuse_the_whole_schedule():
    with pytest.raises(PlanRefused) as raised:
        auto_release_plan([instance("i-pay"), instance("i-sub", charge="PrePaid")], WANTED)
    assert raised.value.result == {"changed": False, "refused_instance_ids": ["i-sub"]}
    assert "i-sub" in raised.value.message and "i-pay" not in raised.value.message


def test_protected_instances_refuse_unless_allowed():
    records = [instance("i-pay"), instance("i-guard", protected=True, release="2026-11-28T00:00Z")]
    with pytest.raises(PlanRefused) as raised:
        auto_release_plan(records, WANTED)
    assert raised.value.result["refused_instance_ids"] == ["i-guard"]
    assert "allow_protected=true" in raised.value.message
    plan = auto_release_plan(records, WANTED, allow_protected=True)
    assert [e.instance_id for e in plan.changes] == ["i-pay"]  # i-guard is already scheduled
    assert len(plan.warnings) == 1 and "i-guard" in plan.warnings[0]


def test_name_ids_shortens_long_lists():
    ids = [f"i-{n}" for n in range(25)]
    assert name_ids(ids).endswith("i-19 and 5 more")


# ------------------------------------------------------------------ the shared apply flow

class FakeModule:
    def __init__(self, check_mode=False, diff=False, **params):
        self.params = {"instance_ids": None, "tags": None, "name": None}
        self.params.update(params)
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)


class FakeEcs:
    """DescribeInstances over records, and the two writes; ``refuse`` maps an id to an error code."""

    def __init__(self, records, refuse=None):
        self.records = {r["InstanceId"]: r for r in records}
        self.refuse = dict(refuse or {})
        self.sent = []
        self.lock = threading.Lock()

    def __call__(self, action, params):
        with self.lock:
            self.sent.append((action, dict(params)))
        if action == "DescribeInstances":
            if "InstanceIds" in params:
                found = [self.records[i] for i in json.loads(params["InstanceIds"]) if i in self.records]
            else:
                found = list(self.records.values())
            return {"Instances": {"Instance": found}, "NextToken": ""}
        code = self.refuse.get(params["InstanceId"])
        if code:
            raise TransportError(code, "refused", 403, "req-1")
        return {"RequestId": "req"}

    def writes(self):
        return [(action, params) for action, params in self.sent if action != "DescribeInstances"]


def client_for(transport):
    return EcsClient(transport, "cn-hangzhou", RetryPolicy(retries=0))


def protect(module, ecs):
    return apply_instance_plan(module, client_for(ecs), lambda i: release_protection_plan(i, True),
                               write_release_protection)


def test_apply_writes_one_call_per_change():
    ecs = FakeEcs([instance("i-aa"), instance("i-bb", protected=True), instance("i-cc", charge="PrePaid")])
    module = FakeModule(diff=True, tags={"env": "prod"})
    result = protect(module, ecs)
    assert ecs.writes() == [("ModifyInstanceAttribute", {"InstanceId": "i-aa", "DeletionProtection": True,
                                                         "RegionId": "cn-hangzhou"})]
    assert result["changed"] is True and result["changed_instances"] == ["i-aa"]
    assert result["skipped_instances"] == [{
        "id": "i-cc", "name": "i-cc",
        "reason": "subscription instance: release protection applies to pay-as-you-go instances only"}]
    assert result["diff"]["after"] == {"i-aa": {"deletion_protection": True}}
    assert [i["changed"] for i in result["instances"]] == [True, False, False]
    assert len(module.warnings) == 1


def test_check_mode_predicts_and_writes_nothing():
    ecs = FakeEcs([instance("i-aa")])
    result = protect(FakeModule(check_mode=True, instance_ids=["i-aa"]), ecs)
    assert result["changed"] is True and result["changed_instances"] == ["i-aa"]
    assert "diff" not in result
    assert ecs.writes() == []


def test_missing_ids_fail_before_any_write():
    ecs = FakeEcs([instance("i-aa")])
    with pytest.raises(EcsError) as raised:
        protect(FakeModule(instance_ids=["i-aa", "i-gone"]), ecs)
    assert raised.value.message.startswith("instance_ids: not found in region cn-hangzhou: i-gone.")
    assert raised.value.result == {"changed": False, "missing_instance_ids": ["i-gone"]}
    assert ecs.writes() == []


def test_empty_selection_is_refused_and_an_empty_match_warns():
    ecs = FakeEcs([])
    with pytest.raises(InvalidOptionError):
        protect(FakeModule(), ecs)
    assert ecs.sent == []
    module = FakeModule(name="nothing-*")
    result = protect(module, ecs)
    assert result["changed"] is False and result["instances"] == []
    assert module.warnings and "nothing-*" in module.warnings[0]


def test_a_refused_write_reports_what_was_done_and_what_failed():
    ecs = FakeEcs([instance("i-aa"), instance("i-bb"), instance("i-cc")], refuse={"i-bb": "IncorrectInstanceStatus"})
    with pytest.raises(EcsError) as raised:
        protect(FakeModule(tags={"env": "prod"}), ecs)
    result = raised.value.result
    assert result["changed"] is True and result["changed_instances"] == ["i-aa", "i-cc"]
    assert result["failed_instances"] == [{"id": "i-bb", "name": "i-bb", "code": "IncorrectInstanceStatus",
                                           "msg": "ModifyInstanceAttribute failed: IncorrectInstanceStatus: refused "
                                                  "(request id req-1)"}]
    assert raised.value.message.startswith("1 of 3 planned changes failed (i-bb)")
    assert len(ecs.writes()) == 3


def test_auto_release_writer_sends_the_time_or_nothing_to_cancel():
    ecs = FakeEcs([instance("i-aa"), instance("i-bb", release="2026-11-27T00:00Z")])
    result = apply_instance_plan(FakeModule(instance_ids=["i-aa"]), client_for(ecs),
                                 lambda i: auto_release_plan(i, WANTED), write_auto_release)
    assert result["changed_instances"] == ["i-aa"]
    result = apply_instance_plan(FakeModule(instance_ids=["i-aa", "i-bb"]), client_for(ecs),
                                 lambda i: auto_release_plan(i, None), write_auto_release)
    assert result["changed_instances"] == ["i-bb"]
    assert [params for action, params in ecs.writes()] == [
        {"InstanceId": "i-aa", "AutoReleaseTime": "2026-11-28T00:00:00Z", "RegionId": "cn-hangzhou"},
        {"InstanceId": "i-bb", "RegionId": "cn-hangzhou"},
    ]
