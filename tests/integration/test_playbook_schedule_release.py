"""The schedule_release runbook through ``ansible-playbook`` against the emulator, per region: schedule
(check mode, for real, again), refuse protected and subscription instances before any write, and cancel.

The module checks the 30-minute bound against the real clock; the emulator's clock starts at real time
with each fresh world, and nothing here advances it before scheduling.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from check_then_apply import shown
from collection_link import REPO

PLAYBOOK = "alicloud_ecs.lifecycle.schedule_release"
INVENTORY = str(REPO / "inventory" / "demo.yml")
HZ, SH = "cn-hangzhou", "cn-shanghai"

LT1 = "i-bplt1000000000001"
LT2 = "i-bplt2000000000002"  # already scheduled, 2 hours from now
LTSH = "i-uflt1000000000001"
GUARD = "i-bpguard10000000001"  # protected, team perf
SUB = "i-bpsub100000000001"     # subscription, team perf
PROD = "i-bpprod10000000001"    # another team, scheduled: untouched by a team=perf run

FLEET = {"regions": {
    HZ: {"instances": [
        {"name": "lt-1", "id": LT1, "tags": {"team": "perf"}},
        {"name": "lt-2", "id": LT2, "tags": {"team": "perf"}, "auto_release_time": "+2h"},
        {"name": "prod-1", "id": PROD, "tags": {"team": "shop"}, "auto_release_time": "+5h"},
    ]},
    SH: {"instances": [
        {"name": "lt-sh-1", "id": LTSH, "tags": {"team": "perf"}},
    ]},
}}
GUARDED = {"regions": {HZ: {"instances": [
    {"name": "lt-1", "id": LT1, "tags": {"team": "perf"}},
    {"name": "guard-1", "id": GUARD, "tags": {"team": "perf"}, "deletion_protection": True},
    {"name": "sub-1", "id": SUB, "tags": {"team": "perf"}, "charge_type": "PrePaid", "expired_time": "+100d"},
]}}}


def schedules(ecs):
    return {i: s["auto_release_time"] for region in (HZ, SH) for i, s in ecs.instances(region).items()}


def run(ecs, check=False, **extra):
    ecs.emu.clear_calls()
    return ecs.playbook(PLAYBOOK, inventory=INVENTORY, check=check, extra_vars=extra)


def module_results(done):
    return {e["host"]: e["result"] for e in done.tasks if e["task"] == "Schedule or cancel the release"}


def test_schedule_in_both_regions_then_again_then_cancel(ecs):
    ecs.load(FLEET)
    before = schedules(ecs)
    selection = {"schedule_release_tags": {"team": "perf"}, "schedule_release_in": "36h"}

    check = run(ecs, check=True, **selection)
    assert check.rc == 0, check.stdout + check.stderr
    assert ecs.write_calls() == [], "check mode wrote"
    assert schedules(ecs) == before
    planned = module_results(check)
    assert sorted(planned[HZ]["changed_instances"]) == [LT1, LT2] and planned[SH]["changed_instances"] == [LTSH]

    started = datetime.now(timezone.utc)
    real = run(ecs, **selection)
    assert real.rc == 0, real.stdout + real.stderr
    writes = ecs.write_calls()
    assert sorted(c["params"]["InstanceId"] for c in writes) == [LT1, LT2, LTSH]
    assert {c["action"] for c in writes} == {"ModifyInstanceAutoReleaseTime"}
    assert {c["region"] for c in writes if c["params"]["InstanceId"] == LTSH} <= {SH, ""}
    after = schedules(ecs)
    wanted = started + timedelta(hours=36)
    for instance in (LT1, LT2, LTSH):
        assert abs(shown(after[instance]) - wanted) < timedelta(minutes=3), after[instance]
    assert after[PROD] == before[PROD]  # not selected
    done = module_results(real)
    assert done[HZ]["changed"] is True and sorted(done[HZ]["changed_instances"]) == [LT1, LT2]

    again = run(ecs, **selection)
    assert again.rc == 0, again.stdout + again.stderr
    assert ecs.write_calls() == [], "the rerun wrote"
    assert all(r["changed"] is False for r in module_results(again).values())
    assert schedules(ecs) == after

    cancel = run(ecs, schedule_release_tags={"team": "perf"}, schedule_release_state="absent")
    assert cancel.rc == 0, cancel.stdout + cancel.stderr
    assert sorted(c["params"]["InstanceId"] for c in ecs.write_calls()) == [LT1, LT2, LTSH]
    assert all("AutoReleaseTime" not in c["params"] for c in ecs.write_calls())  # omitted = cancel
    assert schedules(ecs) == dict(after, **{LT1: None, LT2: None, LTSH: None})
    assert schedules(ecs)[PROD] == before[PROD]


def test_protected_and_subscription_instances_are_refused_before_any_write(ecs):
    ecs.load(GUARDED)
    hangzhou_only = {"schedule_release_hosts": HZ, "schedule_release_tags": {"team": "perf"}}

    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).astimezone(timezone(timedelta(hours=8)))
    refused = run(ecs, schedule_release_time=tomorrow.isoformat(timespec="seconds"), **hangzhou_only)
    assert refused.rc != 0
    assert ecs.write_calls() == []
    failed = module_results(refused)[HZ]
    assert failed["refused_instance_ids"] == [SUB]  # subscriptions are refused first
    assert all(s is None for s in schedules(ecs).values())

    # Without subscriptions in the selection, the protected instance is refused unless allowed.
    payg = dict(hangzhou_only, schedule_release_name="*-1")
    guarded = run(ecs, schedule_release_in="2h", schedule_release_instance_ids=[LT1, GUARD], **payg)
    assert guarded.rc != 0 and ecs.write_calls() == []
    assert module_results(guarded)[HZ]["refused_instance_ids"] == [GUARD]

    allowed = run(ecs, schedule_release_in="2h", schedule_release_instance_ids=[LT1, GUARD],
                  schedule_release_allow_protected=True, **payg)
    assert allowed.rc == 0, allowed.stdout + allowed.stderr
    assert sorted(c["params"]["InstanceId"] for c in ecs.write_calls()) == [GUARD, LT1]
    assert schedules(ecs)[GUARD] is not None and schedules(ecs)[SUB] is None
    assert any("released" in w and GUARD in w for w in module_results(allowed)[HZ]["warnings"])


def test_no_selection_is_refused_before_any_call(ecs):
    ecs.load(FLEET)
    refused = run(ecs, schedule_release_in="36h")
    assert refused.rc != 0
    assert "schedule_release_tags" in refused.stdout
    assert ecs.calls() == []
