"""ecs_release: what stays behind (disks, snapshots, public IPs), partial failure, waiting, and call counts at 1,000."""

from __future__ import annotations

import math

import pytest

from check_then_apply import refused_with_nothing_written
from test_ecs_release import REGION, check_release_rerun, delete_calls, deleted_ids, region_state

# One stopped machine with every kind of disk and snapshot, and one with a local disk.
DISK_FLEET = {"settings": {"status_seconds": 1}, "regions": {REGION: {"instances": [
    {"name": "keeper", "id": "i-bpkeeper0000000001", "status": "Stopped", "public_ip": "47.96.40.41",
     "disks": {
         "system": {"id": "d-bpkeepersys0000001", "size": 40, "delete_auto_snapshot": True,
                    "snapshots": [{"id": "s-bpsysauto000000001", "type": "auto"}]},
         "data": [
             {"id": "d-bpkeepergoes000001", "size": 100, "delete_with_instance": True, "delete_auto_snapshot": False,
              "snapshots": [{"id": "s-bpgoesauto00000001", "type": "auto"},
                            {"id": "s-bpgoesuser00000001", "type": "user", "name": "goes-manual"}]},
             {"id": "d-bpkeeperstays00001", "size": 300, "delete_with_instance": False,
              "snapshots": [{"id": "s-bpstaysauto0000001", "type": "auto"}]},
         ]}},
    {"name": "local", "id": "i-bplocal00000000001", "status": "Stopped",
     "disks": {"local": [{"id": "d-bplocaldisk0000001", "category": "ephemeral_ssd", "size": 447}],
               "data": [{"id": "d-bplocalcloud000001", "size": 50, "delete_with_instance": True}]}},
]}}}
KEEPER = "i-bpkeeper0000000001"
GOES, STAYS, SYSTEM = "d-bpkeepergoes000001", "d-bpkeeperstays00001", "d-bpkeepersys0000001"
SYS_AUTO, GOES_AUTO, GOES_USER, STAYS_AUTO = ("s-bpsysauto000000001", "s-bpgoesauto00000001",
                                              "s-bpgoesuser00000001", "s-bpstaysauto0000001")


@pytest.mark.parametrize("options, kept_disks, kept_snapshots, disk_writes", [
    ({}, [STAYS], [GOES_AUTO, GOES_USER, STAYS_AUTO], []),
    ({"data_disks": "retain", "auto_snapshots": "retain"}, [GOES, STAYS],
     [SYS_AUTO, GOES_AUTO, GOES_USER, STAYS_AUTO],
     [("DeleteWithInstance", "false", [GOES]), ("DeleteAutoSnapshot", "false", [SYSTEM])]),
    ({"data_disks": "release", "auto_snapshots": "release"}, [], [GOES_USER],
     [("DeleteWithInstance", "true", [STAYS]), ("DeleteAutoSnapshot", "true", [GOES, STAYS])]),
    ({"data_disks": "release", "retain_disk_ids": [STAYS]}, [STAYS], [GOES_AUTO, GOES_USER, STAYS_AUTO], []),
    ({"data_disks": "as_configured", "retain_disk_ids": [GOES]}, [GOES, STAYS],
     [GOES_AUTO, GOES_USER, STAYS_AUTO], [("DeleteWithInstance", "false", [GOES])]),
], ids=["as_configured", "retain", "release", "release_but_retain_ids", "retain_ids"])
def test_disk_and_snapshot_choices(ecs, options, kept_disks, kept_snapshots, disk_writes):
    ecs.load(DISK_FLEET)
    ecs.emu.clear_calls()
    run = ecs.module("ecs_release", instance_ids=[KEEPER], **options)
    assert run.rc == 0, run.stdout
    state = region_state(ecs)
    keeper_disks = {SYSTEM, GOES, STAYS}
    assert sorted(d for d in state["disks"] if d in keeper_disks) == sorted(kept_disks)
    assert all(state["disks"][d]["status"] == "Available" for d in kept_disks)
    keeper_snapshots = {SYS_AUTO, GOES_AUTO, GOES_USER, STAYS_AUTO}
    assert sorted(s for s in state["snapshots"] if s in keeper_snapshots) == sorted(kept_snapshots)
    sent = []
    for call in ecs.calls("ModifyDiskAttribute"):
        params = call["params"]
        disks = sorted(v for k, v in params.items() if k.startswith("DiskIds."))
        (attribute,) = [k for k in ("DeleteWithInstance", "DeleteAutoSnapshot") if k in params]
        sent.append((attribute, params[attribute].lower(), disks))
    assert sorted(sent) == sorted(disk_writes)
    writes = [c["action"] for c in ecs.write_calls()]
    assert writes == ["ModifyDiskAttribute"] * len(disk_writes) + ["DeleteInstances"]
    billing = run.result["still_billing"]
    assert sorted(d["id"] for d in billing["disks"]) == sorted(kept_disks)
    assert sorted(s["id"] for s in billing["snapshots"]) == sorted(kept_snapshots)
    assert all(d["charge_type"] == "PostPaid" and d["size"] in (100, 300) for d in billing["disks"])


def test_disk_choice_check_then_release_then_rerun(ecs):
    ecs.load(DISK_FLEET)
    check, real, _again = check_release_rerun(ecs, [KEEPER], instance_ids=[KEEPER], data_disks="retain")
    assert check.result["still_billing"]["disks"] == real.result["still_billing"]["disks"]
    assert check.result["release_plan"][0]["before_release"] == [
        f"set DeleteWithInstance=false on {GOES} (ModifyDiskAttribute)"]


@pytest.mark.parametrize("options", [
    {"data_disks": "retain"},
    {"retain_disk_ids": ["d-bplocaldisk0000001"]},
    {"retain_disk_ids": [SYSTEM]},
])
def test_keeping_a_local_or_system_disk_is_refused_before_any_write(ecs, options):
    ecs.load(DISK_FLEET)
    result = refused_with_nothing_written(ecs, "ecs_release", instance_ids=[KEEPER, "i-bplocal00000000001"], **options)
    assert result["msg"].startswith("Nothing was released or changed. disks that cannot be kept")
    assert len(region_state(ecs)["instances"]) == 2


def test_retain_disk_ids_must_belong_to_the_selection(ecs):
    ecs.load(DISK_FLEET)
    result = refused_with_nothing_written(ecs, "ecs_release", instance_ids=[KEEPER],
                                          retain_disk_ids=["d-bplocalcloud000001", "d-bpnowhere000000001"])
    assert result["refusals"][0] == {"reason": "retain_disk_ids: not attached to any selected instance",
                                     "ids": ["d-bplocalcloud000001", "d-bpnowhere000000001"]}


# ------------------------------------------------------------------ public IPs

def test_retain_public_ip_converts_the_static_ip_to_an_eip_first(ecs):
    ecs.load(DISK_FLEET)
    check, real, _again = check_release_rerun(ecs, [KEEPER], instance_ids=[KEEPER], retain_public_ip=True)
    assert check.result["still_billing"]["eips"][0]["ip_address"] == "47.96.40.41"
    assert check.result["still_billing"]["eips"][0]["allocation_id"] == ""  # not converted in check mode
    (eip,) = real.result["still_billing"]["eips"]
    assert eip["ip_address"] == "47.96.40.41" and eip["allocation_id"].startswith("eip-")
    state = region_state(ecs)
    assert state["eips"][eip["allocation_id"]]["ip"] == "47.96.40.41"
    assert state["eips"][eip["allocation_id"]]["status"] == "Available"
    (released,) = [r for r in state["released"] if r["kind"] == "instance"]
    assert released["lost_public_ip"] == ""


def test_without_retain_public_ip_the_static_ip_is_reported_lost(ecs):
    ecs.load(DISK_FLEET)
    run = ecs.module("ecs_release", instance_ids=[KEEPER])
    assert run.rc == 0, run.stdout
    assert ("static_ip", "47.96.40.41") in {(i["kind"], i["id"]) for i in run.result["release_plan"][0]["goes"]}
    assert ecs.calls("ConvertNatPublicIpToEip") == []
    (released,) = [r for r in region_state(ecs)["released"] if r["kind"] == "instance"]
    assert released["lost_public_ip"] == "47.96.40.41"


def test_a_bound_eip_stays_and_keeps_billing(ecs):
    ecs.load("demo")
    run = ecs.module("ecs_release", instance_ids=["i-bpbatchold300000003"])
    assert run.rc == 0, run.stdout
    (eip,) = run.result["still_billing"]["eips"]
    assert eip == {"allocation_id": "eip-bpbatchold3000003", "ip_address": "47.96.20.23", "charge_type": "PostPaid",
                   "internet_charge_type": "PayByTraffic", "instance_id": "i-bpbatchold300000003"}
    assert region_state(ecs)["eips"]["eip-bpbatchold3000003"]["status"] == "Available"


# ------------------------------------------------------------------ partial failure, waiting

def fleet(count, **settings):
    return {"settings": settings, "regions": {REGION: {"instances": [
        {"count": count, "name": "old-{n:04d}", "id": "i-bpold{n:010d}", "status": "Stopped", "tags": {"team": "old"}},
    ]}}}


def test_a_refused_batch_after_others_succeeded_says_exactly_what_was_released(ecs):
    ecs.load(fleet(250))
    # No retries, and DeleteInstances calls fail at random: with seed 1 the first of the three fails and
    # the other two go through (one uniform draw per DeleteInstances call).
    ecs.emu.set_faults({"DeleteInstances": {"internal_error": 0.5}}, seed=1)
    run = ecs.module("ecs_release", tags={"team": "old"}, max_instances=250, api_retries=0)
    assert run.rc != 0
    result = run.result
    all_ids = sorted(f"i-bpold{n:010d}" for n in range(1, 251))
    assert len(result["released"]) in (150, 200) and len(result["not_released"]) in (50, 100), result["msg"]
    assert sorted(result["released"] + result["not_released"]) == all_ids
    left = set(ecs.instances())
    assert left == set(result["not_released"])
    assert not left & set(result["released"])
    assert result["batch_errors"] and all(e["code"] == "InternalError" for e in result["batch_errors"])
    assert sorted(i for e in result["batch_errors"] for i in e["instance_ids"]) == sorted(result["not_released"])
    assert result["msg"].startswith(f"Released {len(result['released'])} of 250 instances; ")
    assert result["changed"] is True
    ok = sorted(i for c in delete_calls(ecs) for i in deleted_ids(c))
    assert ok == sorted(result["released"])

    ecs.emu.clear_faults()
    again = ecs.module("ecs_release", tags={"team": "old"}, max_instances=250)
    assert again.rc == 0, again.stdout
    assert sorted(again.result["released"]) == sorted(result["not_released"])
    assert ecs.instances() == {}


def test_wait_times_out_saying_what_is_still_listed_then_a_rerun_is_clean(ecs):
    ecs.load(fleet(3, release_lag_seconds=60))
    ids = [f"i-bpold{n:010d}" for n in range(1, 4)]
    run = ecs.module("ecs_release", instance_ids=ids, wait_timeout=2)
    assert run.rc != 0
    assert "Timed out after 2s waiting for the instances to be released; 3 of 3 still pending" in run.result["msg"]
    assert run.result["msg"].startswith("Released 3 instances, but: ")
    assert sorted(run.result["pending"]) == ids
    assert sorted(run.result["released"]) == ids and run.result["not_released"] == []
    assert len(ecs.calls("DescribeInstances")) >= 3  # the selection, then at least two polls

    # Still listed (as Stopped) during the lag. The rerun plans the same batch with the same options, so
    # the same ClientToken: ECS answers with its first answer and does nothing twice.
    ecs.emu.clear_calls()
    during = ecs.module("ecs_release", instance_ids=ids, wait=False)
    assert during.rc == 0, during.stdout
    assert [c["status"] for c in ecs.calls("DeleteInstances")] == [200]
    released_log = [r["id"] for r in region_state(ecs)["released"] if r["kind"] == "instance"]
    assert sorted(released_log) == ids, "released twice"

    ecs.emu.advance(120)
    after = ecs.module("ecs_release", instance_ids=ids)
    assert after.rc == 0 and after.result["changed"] is False and sorted(after.result["already_absent"]) == ids


def test_wait_false_returns_without_polling(ecs):
    ecs.load(fleet(3, release_lag_seconds=60))
    run = ecs.module("ecs_release", tags={"team": "old"}, wait=False)
    assert run.rc == 0 and len(run.result["released"]) == 3, run.stdout
    delete_seq = max(c["seq"] for c in ecs.calls("DeleteInstances"))
    assert [c for c in ecs.calls() if c["seq"] > delete_seq] == []


def test_an_id_released_elsewhere_in_the_lag_counts_as_already_released(ecs):
    ecs.load(fleet(3, release_lag_seconds=60))
    ids = [f"i-bpold{n:010d}" for n in range(1, 4)]
    first = ecs.module("ecs_release", instance_ids=ids[:1], wait=False)
    assert first.rc == 0, first.stdout
    # Still listed, but ECS refuses the batch of three for the released one: the module releases the
    # other two one by one and counts the first as already released.
    ecs.emu.clear_calls()
    run = ecs.module("ecs_release", instance_ids=ids, wait=False)
    assert run.rc == 0, run.stdout
    assert run.result["released"] == ids[1:] and run.result["already_absent"] == ids[:1]
    assert [c["code"] for c in ecs.calls("DeleteInstances")] == ["InvalidInstanceId.NotFound",
                                                                 "InvalidInstanceId.NotFound", "", ""]
    assert sorted(r["id"] for r in region_state(ecs)["released"] if r["kind"] == "instance") == ids


def test_waiting_polls_until_gone(ecs):
    ecs.load(fleet(3, release_lag_seconds=3))
    run = ecs.module("ecs_release", tags={"team": "old"}, wait_timeout=60)
    assert run.rc == 0, run.stdout
    delete_seq = max(c["seq"] for c in ecs.calls("DeleteInstances"))
    polls = [c for c in ecs.calls("DescribeInstances") if c["seq"] > delete_seq]
    assert 2 <= len(polls) <= 6, len(polls)  # 1 s, then 1.5 s ... until the 3 s lag is over
    assert ecs.instances() == {}


# ------------------------------------------------------------------ 1,000 instances by tag

def test_thousand_stopped_instances_by_tag_in_few_calls(ecs):
    ecs.load("tags-1k")
    state = region_state(ecs)
    disks_in_region, snapshots_in_region = len(state["disks"]), len(state["snapshots"])
    args = {"tags": {"team": "retire"}, "max_instances": 1000}
    check = ecs.module("ecs_release", check=True, **args)
    assert check.rc == 0 and len(check.result["released"]) == 1000, check.stdout
    assert ecs.write_calls() == []
    ecs.emu.clear_calls()

    run = ecs.module("ecs_release", **args)
    assert run.rc == 0, run.stdout
    assert len(run.result["released"]) == 1000 and ecs.instances() == {}
    first_delete = min(c["seq"] for c in ecs.calls("DeleteInstances"))
    selecting = [c for c in ecs.calls("DescribeInstances") if c["seq"] < first_delete]
    polling = [c for c in ecs.calls("DescribeInstances") if c["seq"] > first_delete]
    # The stated bounds: selection ceil(1000 / 100) = 10 DescribeInstances; DeleteInstances 10 calls of 100;
    # DescribeDisks ceil(disks in region / 500); DescribeSnapshots ceil(snapshots / 100), at least 1;
    # waiting asks the tag filter, one call a poll once they are gone: 1 poll here (no release lag).
    assert len(selecting) <= 10
    assert ecs.count("DeleteInstances") == 10
    assert all(len(deleted_ids(c)) == 100 for c in delete_calls(ecs))
    assert ecs.count("DescribeDisks") <= math.ceil(disks_in_region / 500)
    assert ecs.count("DescribeSnapshots") <= max(1, math.ceil(snapshots_in_region / 100))
    assert len(polling) == 1
    assert ecs.count("DescribeInstances") <= 11
    assert [c["action"] for c in ecs.write_calls()] == ["DeleteInstances"] * 10
    assert len({c["params"]["ClientToken"] for c in delete_calls(ecs)}) == 10

    ecs.emu.clear_calls()
    again = ecs.module("ecs_release", **args)
    assert again.rc == 0 and again.result["changed"] is False
    assert ecs.write_calls() == [] and ecs.count("DescribeInstances") == 1
