"""ecs_auto_release through ``ansible`` against the emulator: check mode, for real, then again.

The module checks the 30-minute and 3-year bounds against the real clock; the emulator's clock starts at
real time with each fresh world, so nothing here advances it before scheduling.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from check_then_apply import check_then_apply, refused_with_nothing_written, shown

MODULE = "ecs_auto_release"

LT1 = "i-bplt1000000000001"
LT2 = "i-bplt2000000000002"
PAY1 = "i-bppay100000000001"
SUB1 = "i-bpsub100000000001"
GUARD1 = "i-bpguard10000000001"
FREE1 = "i-bpfree1000000000001"

FLEET = {"regions": {"cn-hangzhou": {"instances": [
    {"name": "lt-1", "id": LT1, "tags": {"team": "perf"}},
    {"name": "lt-2", "id": LT2, "tags": {"team": "perf"}, "auto_release_time": "+2h"},
    {"name": "pay-1", "id": PAY1, "tags": {"team": "mixed"}, "auto_release_time": "+3h"},
    {"name": "sub-1", "id": SUB1, "tags": {"team": "mixed"}, "charge_type": "PrePaid", "expired_time": "+100d"},
    {"name": "guard-1", "id": GUARD1, "tags": {"team": "guarded"}, "deletion_protection": True},
    {"name": "free-1", "id": FREE1, "tags": {"team": "guarded"}},
]}}}


def utc_minute(moment):
    return moment.astimezone(timezone.utc).replace(second=0, microsecond=0)


def api_text(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def schedules(ecs):
    return {i: s["auto_release_time"] for i, s in ecs.instances().items()}


def test_release_in_schedules_and_a_rerun_keeps_the_first_schedule(ecs):
    ecs.load(FLEET)
    before = schedules(ecs)
    started = datetime.now(timezone.utc)
    run = check_then_apply(ecs, MODULE, tags={"team": "perf"}, release_in="36h")
    low, high = utc_minute(started + timedelta(hours=36)), utc_minute(datetime.now(timezone.utc) + timedelta(hours=36))

    # Each run counts the 36 hours from its own clock: a minute boundary may fall between check and real.
    for result in (run.check.result, run.real.result):
        wanted = result["instances"][0]["after"]["auto_release_time"]
        assert low <= shown(wanted) <= high and wanted.endswith(":00Z")
        assert result["changed"] is True
        assert sorted(result["changed_instances"]) == [LT1, LT2]
        assert result["diff"]["before"] == {LT1: {"auto_release_time": ""},
                                            LT2: {"auto_release_time": api_text(utc_minute(shown(before[LT2])))}}
        assert result["diff"]["after"] == {LT1: {"auto_release_time": wanted}, LT2: {"auto_release_time": wanted}}
    assert [c["action"] for c in run.writes] == ["ModifyInstanceAutoReleaseTime"] * 2
    assert {c["params"]["AutoReleaseTime"] for c in run.writes} == {wanted}  # the real run's
    after = schedules(ecs)
    assert shown(after[LT1]) == shown(after[LT2]) == shown(wanted)
    assert {i: after[i] for i in (PAY1, SUB1, GUARD1, FREE1)} == {i: before[i] for i in (PAY1, SUB1, GUARD1, FREE1)}
    # The rerun asked for a later "36h from now" and found the first schedule within tolerance.
    assert all("within" in i["reason"] for i in run.again.result["instances"])


def test_release_time_with_an_offset_is_converted_to_utc_and_rounded_down(ecs):
    ecs.load(FLEET)
    moment = (datetime.now(timezone.utc) + timedelta(days=2)).replace(second=37, microsecond=0)
    beijing = moment.astimezone(timezone(timedelta(hours=8))).isoformat()
    assert beijing.endswith(":37+08:00")
    run = check_then_apply(ecs, MODULE, instance_ids=[LT1], release_time=beijing)
    expected = api_text(utc_minute(moment))
    assert run.real.result["instances"][0]["after"] == {"auto_release_time": expected}
    assert [c["params"] for c in run.writes] == [{"InstanceId": LT1, "AutoReleaseTime": expected,
                                                  "RegionId": "cn-hangzhou"}]
    assert shown(schedules(ecs)[LT1]) == utc_minute(moment)


def test_tolerance_decides_whether_a_nearby_schedule_is_correct(ecs):
    ecs.load({"regions": {"cn-hangzhou": {"instances": [
        {"name": "near-1", "id": LT1, "auto_release_time": "+36h"}]}}})
    first = schedules(ecs)[LT1]
    ecs.emu.clear_calls()
    # 3 minutes off (4 at most, with rounding): inside the default 5m.
    run = ecs.module(MODULE, instance_ids=[LT1], release_in="36h3m")
    assert run.rc == 0 and run.result["changed"] is False, run.stdout
    assert ecs.write_calls() == [] and schedules(ecs)[LT1] == first
    # The same request with a 1-minute tolerance moves it.
    run = check_then_apply(ecs, MODULE, instance_ids=[LT1], release_in="36h3m", tolerance="1m")
    assert run.real.result["changed"] is True
    assert shown(schedules(ecs)[LT1]) - utc_minute(shown(first)) >= timedelta(minutes=3)


def test_cancel_leaves_subscriptions_alone(ecs):
    ecs.load(FLEET)
    run = check_then_apply(ecs, MODULE, tags={"team": "mixed"}, state="absent")
    assert run.real.result["changed_instances"] == [PAY1]
    assert run.real.result["skipped_instances"] == [{
        "id": SUB1, "name": "sub-1",
        "reason": "subscription instance: auto-release applies to pay-as-you-go instances only"}]
    assert run.check.result["diff"]["after"] == {PAY1: {"auto_release_time": ""}}
    assert [c["params"] for c in run.writes] == [{"InstanceId": PAY1, "RegionId": "cn-hangzhou"}]  # no time = cancel
    assert schedules(ecs)[PAY1] is None


def test_subscriptions_cannot_be_scheduled_and_nothing_is_written(ecs):
    ecs.load(FLEET)
    before = schedules(ecs)
    result = refused_with_nothing_written(ecs, MODULE, tags={"team": "mixed"}, release_in="2d")
    assert SUB1 in result["msg"] and PAY1 not in result["msg"]
    assert "Subscription" in result["msg"]
    assert result["refused_instance_ids"] == [SUB1]
    assert schedules(ecs) == before


def test_protected_instances_are_refused_unless_allowed_and_the_release_fires_anyway(ecs):
    ecs.load(FLEET)
    result = refused_with_nothing_written(ecs, MODULE, tags={"team": "guarded"}, release_in="90m")
    assert GUARD1 in result["msg"] and FREE1 not in result["msg"]
    assert "allow_protected" in result["msg"]
    assert result["refused_instance_ids"] == [GUARD1]
    assert schedules(ecs)[FREE1] is None and schedules(ecs)[GUARD1] is None

    run = check_then_apply(ecs, MODULE, tags={"team": "guarded"}, release_in="90m", allow_protected=True)
    assert sorted(run.real.result["changed_instances"]) == [FREE1, GUARD1]
    assert any("release protection" in w and GUARD1 in w for w in run.real.result["warnings"])
    assert ecs.instances()[GUARD1]["deletion_protection"] is True
    assert ecs.instances()[GUARD1]["auto_release_time"]

    ecs.emu.advance(88 * 60)  # not yet due
    assert GUARD1 in ecs.instances() and FREE1 in ecs.instances()
    ecs.emu.advance(12 * 60)  # 100 minutes on: past the 90, before lt-2's own schedule at +2h
    state = ecs.emu.state("cn-hangzhou")["regions"]["cn-hangzhou"]
    assert GUARD1 not in state["instances"] and FREE1 not in state["instances"]
    released = {r["id"]: r["how"] for r in state["released"] if r["kind"] == "instance"}
    assert released == {GUARD1: "auto_release", FREE1: "auto_release"}
    assert LT2 in state["instances"]


def test_missing_ids_fail_before_any_write(ecs):
    ecs.load(FLEET)
    result = refused_with_nothing_written(ecs, MODULE, instance_ids=[LT1, "i-bpgone00000000001"], release_in="2h")
    assert result["msg"].startswith("instance_ids: ") and "i-bpgone00000000001" in result["msg"]
    assert result["missing_instance_ids"] == ["i-bpgone00000000001"]
    assert schedules(ecs)[LT1] is None


def test_filter_that_matches_nothing_changes_nothing_and_warns(ecs):
    ecs.load(FLEET)
    run = check_then_apply(ecs, MODULE, name="nothing-*", release_in="2h")
    assert run.real.result["instances"] == []
    assert any("No instance" in w for w in run.real.result["warnings"])


def _in(delta):
    return api_text(datetime.now(timezone.utc) + delta)


@pytest.mark.parametrize("args, option, said", [
    ({"release_time": "2030-01-01T10:00:00"}, "release_time", "no UTC offset"),
    ({"release_time": "2030-01-01"}, "release_time", "no UTC offset"),
    ({"release_time": "tomorrow"}, "release_time", "not an ISO 8601 time"),
    ({"release_time": "2030-13-01T10:00:00Z"}, "release_time", "not an ISO 8601 time"),
    ({"release_time": "2020-01-01T00:00:00+08:00"}, "release_time",
     "'2020-01-01T00:00:00+08:00' is 2019-12-31T16:00:00Z UTC, which is in the past"),
    ({"release_time": _in(timedelta(minutes=10))}, "release_time", "less than 30 minutes ahead"),
    ({"release_time": _in(timedelta(days=3 * 365 + 2))}, "release_time", "more than 3 years ahead"),
    ({"release_in": "29m"}, "release_in", "less than 30 minutes ahead"),
    ({"release_in": "1100d"}, "release_in", "more than 3 years ahead"),
    ({"release_in": "90"}, "release_in", "not a duration"),
    ({"release_in": "1.5h"}, "release_in", "not a duration"),
    ({"release_in": "36 hours"}, "release_in", "not a duration"),
    ({"release_in": "-2h"}, "release_in", "not a duration"),
    ({"release_in": "2h", "tolerance": "soon"}, "tolerance", "not a duration"),
])
def test_bad_times_fail_naming_the_option_with_no_call(ecs, args, option, said):
    ecs.load(FLEET)
    for check in (True, False):
        run = ecs.module(MODULE, check=check, instance_ids=[LT1], **args)
        assert run.rc != 0
        assert run.result["msg"].startswith(f"{option}: "), run.result["msg"]
        assert said in run.result["msg"], run.result["msg"]
    if said.startswith(("less", "more")):
        assert "UTC" in run.result["msg"] and "Z" in run.result["msg"]
    assert ecs.calls() == []


@pytest.mark.parametrize("args, said", [
    ({"release_in": "2h", "release_time": "2030-01-01T00:00:00Z"}, "mutually exclusive"),
    ({}, "release_time, release_in"),
])
def test_option_combinations_are_checked_with_no_call(ecs, args, said):
    ecs.load(FLEET)
    run = ecs.module(MODULE, instance_ids=[LT1], **args)
    assert run.rc != 0
    assert said in run.result["msg"], run.result["msg"]
    assert ecs.calls() == []
