"""ecs_release_protection through ``ansible`` against the emulator: check mode, for real, then again."""

from __future__ import annotations

from check_then_apply import check_then_apply, refused_with_nothing_written

MODULE = "ecs_release_protection"

APP1 = "i-bpapp100000000001"
APP2 = "i-bpapp200000000002"
APP3 = "i-bpapp300000000003"
DB1 = "i-bpdb1000000000001"
OLD1 = "i-bpold100000000001"

SHOP = {"regions": {"cn-hangzhou": {"instances": [
    {"name": "app-1", "id": APP1, "tags": {"env": "prod"}},
    {"name": "app-2", "id": APP2, "tags": {"env": "prod"}, "deletion_protection": True},
    {"name": "app-3", "id": APP3, "tags": {"env": "prod"}, "auto_release_time": "+2h"},
    {"name": "db-1", "id": DB1, "tags": {"env": "prod"}, "charge_type": "PrePaid", "expired_time": "+200d"},
    {"name": "old-1", "id": OLD1, "tags": {"env": "staging"}, "deletion_protection": True},
]}}}


def protection(ecs):
    return {i: s["deletion_protection"] for i, s in ecs.instances().items()}


def test_enable_skips_subscriptions_and_warns_that_protection_does_not_stop_a_schedule(ecs):
    ecs.load(SHOP)
    run = check_then_apply(ecs, MODULE, tags={"env": "prod"})

    # Check mode predicted exactly the real change.
    for result in (run.check.result, run.real.result):
        assert result["changed"] is True
        assert sorted(result["changed_instances"]) == [APP1, APP3]
        assert result["skipped_instances"] == [{
            "id": DB1, "name": "db-1",
            "reason": "subscription instance: release protection applies to pay-as-you-go instances only"}]
        assert [i["id"] for i in result["auto_release_scheduled"]] == [APP3]
        assert result["auto_release_scheduled"][0]["auto_release_time"].endswith(":00Z")
        assert result["diff"] == {
            "before": {APP1: {"deletion_protection": False}, APP3: {"deletion_protection": False}},
            "after": {APP1: {"deletion_protection": True}, APP3: {"deletion_protection": True}},
        }
        warnings = " ".join(result["warnings"])
        assert "subscription" in warnings and DB1 in warnings
        assert "does not stop" in warnings and APP3 in warnings
    reported = {i["id"]: i for i in run.real.result["instances"]}
    assert sorted(reported) == sorted([APP1, APP2, APP3, DB1])
    assert reported[APP2]["changed"] is False and reported[APP2]["reason"] == "release protection is already enabled"
    assert reported[APP1]["before"] == {"deletion_protection": False}
    assert reported[APP1]["after"] == {"deletion_protection": True}
    assert reported[DB1]["skipped"] is True and reported[DB1]["charge_type"] == "PrePaid"

    # One call per instance that needed it, nothing for the rest.
    assert [c["action"] for c in run.writes] == ["ModifyInstanceAttribute"] * 2
    assert all(c["params"]["DeletionProtection"] == "True" for c in run.writes)
    assert protection(ecs) == {APP1: True, APP2: True, APP3: True, DB1: False, OLD1: True}
    # The rerun changes nothing but still says the schedule will fire.
    assert [i["id"] for i in run.again.result["auto_release_scheduled"]] == [APP3]
    assert ecs.instances()[APP3]["auto_release_time"]


def test_disable_by_ids(ecs):
    ecs.load(SHOP)
    run = check_then_apply(ecs, MODULE, instance_ids=[APP2, OLD1, APP1], state="disabled")
    assert run.check.result["changed"] is True
    assert run.real.result["changed_instances"] == [APP2, OLD1]
    assert [i["id"] for i in run.real.result["instances"]] == [APP2, OLD1, APP1]  # the order given
    assert run.real.result["auto_release_scheduled"] == []
    assert all(c["params"]["DeletionProtection"] == "False" for c in run.writes)
    assert protection(ecs) == {APP1: False, APP2: False, APP3: False, DB1: False, OLD1: False}


def test_selection_of_subscriptions_only_changes_nothing(ecs):
    ecs.load("demo")
    run = check_then_apply(ecs, MODULE, tags={"role": "db"})
    assert run.real.result["changed"] is False
    assert [s["id"] for s in run.real.result["skipped_instances"]] == ["i-bpdbprod10000000001"]
    assert ecs.instances()["i-bpdbprod10000000001"]["deletion_protection"] is False


def test_missing_ids_fail_before_any_write_naming_them(ecs):
    ecs.load(SHOP)
    result = refused_with_nothing_written(ecs, MODULE, instance_ids=[APP1, "i-bpnothere0000000001", APP3])
    assert "i-bpnothere0000000001" in result["msg"] and result["msg"].startswith("instance_ids: ")
    assert APP1 not in result["msg"]
    assert result["missing_instance_ids"] == ["i-bpnothere0000000001"]
    assert protection(ecs)[APP1] is False
    assert {c["action"] for c in ecs.calls()} == {"DescribeInstances"}


def test_filter_that_matches_nothing_changes_nothing_and_warns(ecs):
    ecs.load(SHOP)
    run = check_then_apply(ecs, MODULE, tags={"env": "nowhere"}, name="app-*")
    for result in (run.check.result, run.real.result, run.again.result):
        assert result["changed"] is False and result["instances"] == []
        assert any("No instance" in w and "nowhere" in w for w in result["warnings"])
    assert ecs.calls("DescribeInstances")


def test_no_selection_is_refused_with_no_call(ecs):
    ecs.load(SHOP)
    run = ecs.module(MODULE, state="enabled")
    assert run.rc != 0
    assert "instance_ids" in run.result["msg"]
    assert ecs.calls() == []


def test_a_refused_write_fails_the_task_and_reports_the_rest(ecs):
    ecs.load(SHOP)
    ecs.emu.set_faults({"ModifyInstanceAttribute": {"internal_error": 1.0}})
    run = ecs.module(MODULE, instance_ids=[APP1], api_retries=1)
    assert run.rc != 0
    assert run.result["failed_instances"][0]["id"] == APP1
    assert run.result["failed_instances"][0]["code"] == "InternalError"
    assert run.result["changed"] is False and run.result["changed_instances"] == []
    assert "1 of 1 planned changes failed" in run.result["msg"]
    assert len(ecs.calls("ModifyInstanceAttribute")) == 2  # the call and its one retry
    assert protection(ecs)[APP1] is False


def test_thousand_instances_hundred_changes_ten_listings(ecs):
    ecs.load({"regions": {"cn-hangzhou": {"instances": [
        {"count": 900, "name": "kept-{n:04d}", "id": "i-bpkept{n:010d}", "deletion_protection": True,
         "tags": {"fleet": "big"}},
        {"count": 100, "name": "new-{n:04d}", "id": "i-bpnew{n:010d}", "tags": {"fleet": "big"}},
    ]}}})
    run = ecs.module(MODULE, tags={"fleet": "big"})
    assert run.rc == 0, run.stdout
    assert len(run.result["instances"]) == 1000
    assert sorted(run.result["changed_instances"]) == [f"i-bpnew{n:010d}" for n in range(1, 101)]
    assert ecs.count("DescribeInstances") <= 10
    assert ecs.count("ModifyInstanceAttribute") == 100
    assert len(ecs.write_calls()) == 100
    assert sorted(c["params"]["InstanceId"] for c in ecs.write_calls()) == sorted(run.result["changed_instances"])
    assert all(s["deletion_protection"] for s in ecs.instances().values())

    ecs.emu.clear_calls()
    again = ecs.module(MODULE, tags={"fleet": "big"})
    assert again.result["changed"] is False
    assert ecs.count("DescribeInstances") <= 10 and ecs.write_calls() == []


def test_playbook_with_module_defaults_group(ecs):
    ecs.load("demo")
    endpoint = ecs.env.pop("ALIBABA_CLOUD_ECS_ENDPOINT")
    run = ecs.playbook([{
        "hosts": "localhost",
        "gather_facts": False,
        "module_defaults": {"group/alicloud_ecs.lifecycle.ecs": {"region": "cn-shanghai", "ecs_endpoint": endpoint}},
        "tasks": [{"name": "Protect", "alicloud_ecs.lifecycle.ecs_release_protection": {"tags": {"env": "staging"}}}],
    }])
    assert run.rc == 0, run.stdout + run.stderr
    assert sorted(run.task("Protect")["changed_instances"]) == ["i-ufbatcholdsh1000001", "i-ufbatcholdsh2000002"]
    assert all(s["deletion_protection"] for s in ecs.instances("cn-shanghai").values()
               if s["tags"].get("env") == "staging")
    assert {c["region"] for c in ecs.calls("DescribeInstances")} == {"cn-shanghai"}
