"""ecs_release through ``ansible`` against the emulator: check mode, then for real, then again.

Every case asserts on the module result, on the emulator's recorded calls and on its state after the
release. Every refusal is asserted to have made no write call at all.
"""

from __future__ import annotations

import pytest

from check_then_apply import refused_with_nothing_written

REGION = "cn-hangzhou"
BATCH_OLD_1 = "i-bpbatchold100000001"  # Stopped, static IP 47.96.20.21, data disk that goes
BATCH_OLD_2 = "i-bpbatchold200000002"  # Stopped, data disk that stays, with a manual snapshot
BATCH_OLD_4 = "i-bpbatchold400000004"  # Running
REPORT_LEGACY = "i-bpreportleg00000001"  # expired subscription
DB_PROD = "i-bpdbprod10000000001"  # unexpired subscription, Running, data disk that stays
WEB_PROD = ["i-bpwebprod1000000001", "i-bpwebprod2000000002"]  # release protection, Running


def region_state(ecs):
    return ecs.emu.state(REGION)["regions"][REGION]


def delete_calls(ecs):
    return [c for c in ecs.calls("DeleteInstances") if c["status"] == 200]


def deleted_ids(call):
    return sorted(v for k, v in call["params"].items() if k.startswith("InstanceId."))


def check_release_rerun(ecs, expected, **args):
    """Check mode predicts ``expected`` and writes nothing; the real run releases exactly it; a rerun does nothing."""
    ecs.emu.clear_calls()
    check = ecs.module("ecs_release", check=True, diff=True, **args)
    assert check.rc == 0, check.stdout + check.stderr
    assert ecs.write_calls() == [], "check mode wrote"
    assert sorted(check.result["released"]) == sorted(expected)
    assert check.result["changed"] is bool(expected)
    assert sorted(check.result["diff"]["before"]["instances"]) == sorted(expected)
    assert check.result["diff"]["after"] == {"instances": {}}
    assert all(i in ecs.instances() for i in expected)

    real = ecs.module("ecs_release", diff=True, **args)
    assert real.rc == 0, real.stdout + real.stderr
    assert sorted(real.result["released"]) == sorted(expected)
    assert real.result["not_released"] == []
    assert real.result["release_plan"] and real.result["diff"] == check.result["diff"]
    assert [p["instance_id"] for p in real.result["release_plan"]] == \
        [p["instance_id"] for p in check.result["release_plan"]]
    assert all(i not in ecs.instances() for i in expected)
    released_log = {r["id"] for r in region_state(ecs)["released"] if r["kind"] == "instance"}
    assert released_log == set(expected), "released something that was not selected"
    writes = ecs.write_calls()
    assert all(c["status"] == 200 for c in writes), writes
    assert sorted(i for c in delete_calls(ecs) for i in deleted_ids(c)) == sorted(expected)
    for call in delete_calls(ecs):
        assert len(call["params"]["ClientToken"]) == 64

    ecs.emu.clear_calls()
    again = ecs.module("ecs_release", **args)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result["changed"] is False
    assert again.result["released"] == []
    assert ecs.write_calls() == [], "the rerun wrote"
    return check, real, again


# ------------------------------------------------------------------ stopped and running instances

def test_stopped_instances_by_id_report_what_goes_and_what_keeps_billing(ecs):
    ecs.load("demo")
    check, real, again = check_release_rerun(ecs, [BATCH_OLD_1, BATCH_OLD_2], instance_ids=[BATCH_OLD_1, BATCH_OLD_2])
    plan = {p["instance_id"]: p for p in check.result["release_plan"]}
    assert {i["kind"] for i in plan[BATCH_OLD_1]["goes"]} == {"system_disk", "data_disk", "static_ip"}
    assert {i["kind"] for i in plan[BATCH_OLD_2]["stays"]} == {"data_disk", "manual_snapshot"}
    assert check.result["still_billing"] == real.result["still_billing"]
    (kept_disk,) = real.result["still_billing"]["disks"]
    assert kept_disk["size"] == 300 and kept_disk["charge_type"] == "PostPaid" and kept_disk["instance_id"] == BATCH_OLD_2
    (kept_snapshot,) = real.result["still_billing"]["snapshots"]
    assert kept_snapshot["name"] == "batch-results-final" and kept_snapshot["source_disk_id"] == kept_disk["id"]
    assert real.result["still_billing"]["eips"] == []
    state = region_state(ecs)
    assert state["disks"][kept_disk["id"]]["status"] == "Available"
    assert kept_snapshot["id"] in state["snapshots"]
    assert not [d for d in state["disks"].values() if d["instance_id"] in (BATCH_OLD_1, BATCH_OLD_2)]
    lost = {r["id"]: r["lost_public_ip"] for r in state["released"] if r["kind"] == "instance"}
    assert lost[BATCH_OLD_1] == "47.96.20.21"
    assert again.result["already_absent"] == [BATCH_OLD_1, BATCH_OLD_2]


@pytest.mark.parametrize("choice", ["fail", "stop", "force"])
def test_running_instances(ecs, choice):
    ecs.load("demo")
    ecs.emu.configure(status_seconds=1)
    args = {"instance_ids": [BATCH_OLD_1, BATCH_OLD_4], "running_instances": choice}
    if choice == "fail":
        result = refused_with_nothing_written(ecs, "ecs_release", **args)
        assert result["refusals"] == [{"reason": result["refusals"][0]["reason"], "ids": [BATCH_OLD_4]}]
        assert "running_instances=fail" in result["msg"] and BATCH_OLD_4 in result["msg"]
        assert result["released"] == [] and sorted(result["not_released"]) == sorted([BATCH_OLD_1, BATCH_OLD_4])
        assert BATCH_OLD_4 in ecs.instances() and BATCH_OLD_1 in ecs.instances()
        return
    check, real, _again = check_release_rerun(ecs, [BATCH_OLD_1, BATCH_OLD_4], **args)
    plan = {p["instance_id"]: p for p in real.result["release_plan"]}
    # The rerun cleared the log; what the real run sent is in its actions and in the released log.
    if choice == "stop":
        assert plan[BATCH_OLD_4]["before_release"] == ["stop (StopInstances) and wait for Stopped"]
        assert plan[BATCH_OLD_4]["force"] is False
        assert real.result["actions"][0] == f"stopped: {BATCH_OLD_4}"
        assert real.result["actions"][-1] == "released 2 instances"
    else:
        assert plan[BATCH_OLD_4]["force"] is True and plan[BATCH_OLD_1]["force"] is False
        assert sorted(real.result["actions"]) == ["released 1 instances", "released 1 instances with Force"]


def test_stop_sends_stop_instances_then_a_plain_release(ecs):
    ecs.load("demo")
    ecs.emu.configure(status_seconds=1)
    run = ecs.module("ecs_release", instance_ids=[BATCH_OLD_1, BATCH_OLD_4], running_instances="stop")
    assert run.rc == 0, run.stdout
    writes = [(c["action"], c["params"]) for c in ecs.write_calls()]
    assert [action for action, _params in writes] == ["StopInstances", "DeleteInstances"]
    assert writes[0][1]["InstanceId.1"] == BATCH_OLD_4 and "InstanceId.2" not in writes[0][1]
    assert writes[1][1]["Force"].lower() == "false"
    assert deleted_ids(ecs.write_calls()[1]) == sorted([BATCH_OLD_1, BATCH_OLD_4])
    stop_seq = ecs.write_calls()[0]["seq"]
    polls = [c for c in ecs.calls("DescribeInstances") if c["seq"] > stop_seq]
    assert polls, "the module did not wait for Stopped"


def test_force_releases_running_instances_in_their_own_batch(ecs):
    ecs.load("demo")
    run = ecs.module("ecs_release", instance_ids=[BATCH_OLD_1, BATCH_OLD_4], running_instances="force")
    assert run.rc == 0, run.stdout
    by_force = {c["params"]["Force"].lower(): deleted_ids(c) for c in delete_calls(ecs)}
    assert by_force == {"true": [BATCH_OLD_4], "false": [BATCH_OLD_1]}
    assert [c["action"] for c in ecs.write_calls()] == ["DeleteInstances", "DeleteInstances"]


# ------------------------------------------------------------------ subscriptions

def test_expired_subscription_is_released_with_terminate_subscription(ecs):
    ecs.load("demo")
    check_release_rerun(ecs, [REPORT_LEGACY], instance_ids=[REPORT_LEGACY])
    ecs.load("demo")
    run = ecs.module("ecs_release", instance_ids=[REPORT_LEGACY, BATCH_OLD_1])
    assert run.rc == 0, run.stdout
    by_terminate = {c["params"]["TerminateSubscription"].lower(): deleted_ids(c) for c in delete_calls(ecs)}
    assert by_terminate == {"true": [REPORT_LEGACY], "false": [BATCH_OLD_1]}


def test_unexpired_subscription_is_refused_with_the_guides_explanation(ecs):
    ecs.load("demo")
    result = refused_with_nothing_written(ecs, "ecs_release", instance_ids=[DB_PROD, BATCH_OLD_1],
                                          running_instances="force")
    assert "Only expired subscription instances can be released" in result["msg"]
    assert "switch its billing method to pay-as-you-go" in result["msg"]
    assert "subscription_instances=convert_to_postpaid" in result["msg"]
    assert [r["ids"] for r in result["refusals"]] == [[DB_PROD]]
    assert ecs.instances()[DB_PROD]["charge_type"] == "PrePaid"


def test_convert_to_postpaid_switches_waits_then_releases(ecs):
    ecs.load("demo")
    ecs.emu.configure(charge_type_seconds=2)
    args = {"instance_ids": [DB_PROD], "running_instances": "force", "subscription_instances": "convert_to_postpaid"}
    check, real, _again = check_release_rerun(ecs, [DB_PROD], **args)
    assert check.result["release_plan"][0]["before_release"][0].startswith("switch to pay-as-you-go")
    assert real.result["actions"][0] == f"switched to pay-as-you-go: {DB_PROD}"
    (kept,) = real.result["still_billing"]["disks"]
    assert kept["size"] == 500 and region_state(ecs)["disks"][kept["id"]]["status"] == "Available"
    assert [s["name"] for s in real.result["still_billing"]["snapshots"]] == ["db-before-upgrade"]


def test_convert_to_postpaid_sends_postpaid_and_waits_for_the_switch(ecs):
    ecs.load("demo")
    ecs.emu.configure(charge_type_seconds=2)
    run = ecs.module("ecs_release", instance_ids=[DB_PROD], running_instances="force",
                     subscription_instances="convert_to_postpaid")
    assert run.rc == 0, run.stdout
    writes = ecs.write_calls()
    assert [c["action"] for c in writes] == ["ModifyInstanceChargeType", "DeleteInstances"]
    switch = writes[0]["params"]
    assert switch["InstanceChargeType"] == "PostPaid" and switch["InstanceIds"] == f'["{DB_PROD}"]'
    polls = [c for c in ecs.calls("DescribeInstances") if writes[0]["seq"] < c["seq"] < writes[1]["seq"]]
    assert len(polls) >= 2, "released before the switch showed"
    assert writes[1]["params"]["TerminateSubscription"].lower() == "false"


# ------------------------------------------------------------------ protection, cap, ids

def test_protected_instances_are_all_listed_and_nothing_is_written(ecs):
    ecs.load("demo")
    result = refused_with_nothing_written(ecs, "ecs_release", tags={"role": "web"}, running_instances="force")
    protected = next(r for r in result["refusals"] if "release protection" in r["reason"])
    assert sorted(protected["ids"]) == sorted(WEB_PROD)
    assert "alicloud_ecs.lifecycle.ecs_release_protection" in result["msg"]
    assert all(i in result["msg"] for i in WEB_PROD)
    assert all(ecs.instances()[i]["deletion_protection"] for i in WEB_PROD)
    assert ecs.calls("ModifyInstanceAttribute") == []


def test_every_refusal_is_reported_at_once(ecs):
    ecs.load("demo")
    result = refused_with_nothing_written(ecs, "ecs_release", tags={"env": "production"})
    reasons = {r["reason"]: sorted(r["ids"]) for r in result["refusals"]}
    assert sorted(next(v for k, v in reasons.items() if "release protection" in k)) == sorted(WEB_PROD)
    assert next(v for k, v in reasons.items() if "not expired" in k) == [DB_PROD]
    assert next(v for k, v in reasons.items() if "running_instances=fail" in k) == sorted(WEB_PROD + [DB_PROD])


def test_max_instances_caps_a_filter_but_not_explicit_ids(ecs):
    ecs.load("demo")
    result = refused_with_nothing_written(ecs, "ecs_release", tags={"team": "retire"}, max_instances=3)
    assert result["msg"].startswith("max_instances: ")
    assert "selects 5 instances, more than max_instances=3" in result["msg"]
    assert [c["action"] for c in ecs.calls()] == ["DescribeInstances"] * 2  # check mode and real: no disk reads
    check = ecs.module("ecs_release", check=True, instance_ids=[BATCH_OLD_1, BATCH_OLD_2], max_instances=1)
    assert check.rc == 0, check.stdout
    assert sorted(check.result["released"]) == sorted([BATCH_OLD_1, BATCH_OLD_2])


def test_default_cap_is_ten(ecs):
    ecs.load("tags-1k")
    result = refused_with_nothing_written(ecs, "ecs_release", tags={"team": "retire"})
    assert "selects 1000 instances, more than max_instances=10" in result["msg"]
    assert result["selected_count"] == 1000


def test_missing_ids_count_as_already_released(ecs):
    ecs.load("demo")
    gone = "i-bpdoesnotexist00001"
    check, real, again = check_release_rerun(ecs, [BATCH_OLD_1], instance_ids=[BATCH_OLD_1, gone])
    assert check.result["already_absent"] == [gone] and real.result["already_absent"] == [gone]
    assert again.result["already_absent"] == [BATCH_OLD_1, gone]


def test_ids_that_do_not_match_the_filter_are_refused(ecs):
    ecs.load("demo")
    result = refused_with_nothing_written(ecs, "ecs_release", instance_ids=[BATCH_OLD_1, DB_PROD], tags={"team": "retire"})
    assert [r["ids"] for r in result["refusals"]] == [[DB_PROD]]
    assert "do not match the tags or name" in result["msg"]
    assert BATCH_OLD_1 in ecs.instances()


@pytest.mark.parametrize("args, option", [
    ({"tags": {"team": "retire"}, "max_instances": 0}, "max_instances"),
    ({"instance_ids": [BATCH_OLD_1], "wait_timeout": 0}, "wait_timeout"),
    ({"instance_ids": [BATCH_OLD_1], "retain_disk_ids": ["not-a-disk"]}, "retain_disk_ids"),
    ({"wait": True}, "instance_ids"),
])
def test_bad_options_fail_naming_the_option_with_no_call(ecs, args, option):
    ecs.load("demo")
    run = ecs.module("ecs_release", **args)
    assert run.rc != 0
    assert run.result["msg"].startswith(f"{option}: "), run.result["msg"]
    assert ecs.calls() == []


def test_bad_choice_is_refused_by_ansible(ecs):
    ecs.load("demo")
    run = ecs.module("ecs_release", instance_ids=[BATCH_OLD_1], running_instances="sometimes")
    assert run.rc != 0 and "running_instances" in run.result["msg"]
    assert ecs.calls() == []
