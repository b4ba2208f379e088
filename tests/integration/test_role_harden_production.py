"""The harden_production runbook (playbook + role) through ``ansible-playbook`` and ansible-runner against
the emulator: check mode, for real, then again; the report mode; the RAM policy documents.

Assertions are on the task results, the files written, and the emulator's recorded calls and state.
"""

from __future__ import annotations

import json
import os
import sys
import typing as t

import ansible_runner

from collection_link import COLLECTIONS, REPO

PLAYBOOK = "alicloud_ecs.lifecycle.harden_production"
INVENTORY = str(REPO / "inventory" / "demo.yml")
HZ, SH = "cn-hangzhou", "cn-shanghai"

# Production, pay-as-you-go
WEB1 = "i-bpprodweb100000001"   # unprotected
WEB2 = "i-bpprodweb200000002"   # already protected
BATCH = "i-bpprodbatch0000001"  # unprotected, releases itself in 3 hours
GUARD = "i-bpprodguard0000001"  # protected, and still releases itself in 5 hours: the trap
WEBSH = "i-ufprodwebsh0000001"  # unprotected, Shanghai, releases itself in 4 hours
# Production, subscription
DB = "i-bpproddb1000000001"
CACHESH = "i-ufprodcachesh00001"
# Not production
STAGE = "i-bpstage10000000001"  # unprotected, releases itself in 2 hours
DEV = "i-bpdev100000000001"     # protected
TESTSH = "i-uftestsh100000001"  # releases itself in 6 hours
OTHERPROD = "i-bpotherprod0000001"  # env=production but another app (for a narrower selector)

PROD = {"env": "production", "app": "shop"}
FLEET = {"regions": {
    HZ: {"instances": [
        {"name": "prod-web-1", "id": WEB1, "tags": PROD},
        {"name": "prod-web-2", "id": WEB2, "tags": PROD, "deletion_protection": True},
        {"name": "prod-batch-1", "id": BATCH, "tags": PROD, "auto_release_time": "+3h"},
        {"name": "prod-guard-1", "id": GUARD, "tags": PROD, "deletion_protection": True,
         "auto_release_time": "+5h"},
        {"name": "prod-db-1", "id": DB, "tags": PROD, "charge_type": "PrePaid", "expired_time": "+200d"},
        {"name": "prod-other-1", "id": OTHERPROD, "tags": {"env": "production", "app": "crm"}},
        {"name": "stage-1", "id": STAGE, "tags": {"env": "staging"}, "auto_release_time": "+2h"},
        {"name": "dev-1", "id": DEV, "tags": {"env": "dev"}, "deletion_protection": True},
    ]},
    SH: {"instances": [
        {"name": "prod-web-sh-1", "id": WEBSH, "tags": PROD, "auto_release_time": "+4h"},
        {"name": "prod-cache-sh-1", "id": CACHESH, "tags": PROD, "charge_type": "PrePaid", "expired_time": "+45d"},
        {"name": "test-sh-1", "id": TESTSH, "tags": {"env": "test"}, "auto_release_time": "+6h"},
    ]},
}}

NOT_PRODUCTION = {STAGE, DEV, TESTSH}
SUBSCRIPTIONS = {DB, CACHESH}
SCHEDULED = {BATCH, GUARD, WEBSH}
TAG_KEY = "acs:ResourceTag/"
RELEASE = {"ecs:DeleteInstance", "ecs:DeleteInstances"}
PROTECTION = {"ecs:ModifyInstanceAttribute"}


def world(ecs) -> t.Dict[str, t.Dict[str, t.Any]]:
    """Every instance of both regions: id -> (protection, schedule, charge type)."""
    return {i: {"deletion_protection": s["deletion_protection"], "auto_release_time": s["auto_release_time"],
                "charge_type": s["charge_type"]}
            for region in (HZ, SH) for i, s in ecs.instances(region).items()}


def reports(run) -> t.Dict[str, t.Dict[str, t.Any]]:
    """The role's report per region, from the 'Show the report' task."""
    return {e["host"]: e["result"]["harden_production_report"] for e in run.tasks if e["task"] == "Show the report"}


def writes_by_action(ecs) -> t.Dict[str, t.List[t.Tuple[str, str]]]:
    found: t.Dict[str, t.List[t.Tuple[str, str]]] = {}
    for call in ecs.write_calls():
        assert call["status"] == 200, call
        found.setdefault(call["action"], []).append(
            (call["params"]["InstanceId"], call["params"].get("AutoReleaseTime", call["params"].get(
                "DeletionProtection", ""))))
    return {action: sorted(calls) for action, calls in found.items()}


def run_harden(ecs, tmp_path, check=False, **extra):
    extra_vars = {"harden_production_policy_dir": str(tmp_path / "policies"),
                  "harden_production_report_dir": str(tmp_path / "reports")}
    extra_vars.update(extra)
    ecs.emu.clear_calls()
    run = ecs.playbook(PLAYBOOK, inventory=INVENTORY, check=check, extra_vars=extra_vars)
    assert run.rc == 0, run.stdout + run.stderr
    return run


def policies(directory) -> t.Dict[str, t.Dict[str, t.Any]]:
    return {name: json.loads((directory / name).read_text()) for name in sorted(os.listdir(directory))}


def actions(document, effect) -> t.Set[str]:
    return {a for s in document["Statement"] if s["Effect"] == effect for a in s["Action"]}


def assert_valid_ram_policy(document, condition):
    assert set(document) == {"Version", "Statement"} and document["Version"] == "1"
    assert document["Statement"]
    for statement in document["Statement"]:
        assert statement["Effect"] in ("Allow", "Deny")
        assert set(statement) <= {"Effect", "Action", "Resource", "Condition"}
        assert statement["Action"] and all(a.startswith("ecs:") for a in statement["Action"])
        assert statement["Resource"] and all(isinstance(r, str) for r in statement["Resource"])
        touches_instances = set(statement["Action"]) & (RELEASE | PROTECTION)
        if touches_instances:
            # Every statement about releasing or protecting is scoped to production-tagged instances.
            assert statement["Resource"] == ["acs:ecs:*:*:instance/*"]
            assert statement["Condition"] == condition
        else:
            assert all(a.startswith("ecs:Describe") for a in statement["Action"])


def test_check_then_apply_then_again(ecs, tmp_path):
    ecs.load(FLEET)
    before = world(ecs)

    # Check mode: the plan, and nothing written, neither to the API nor to disk.
    check = run_harden(ecs, tmp_path, check=True)
    assert ecs.write_calls() == [], "check mode wrote"
    assert world(ecs) == before
    assert not (tmp_path / "policies").exists() and not (tmp_path / "reports").exists()
    planned = reports(check)
    assert set(planned) == {HZ, SH}
    assert planned[HZ]["check_mode"] is True
    assert planned[HZ]["protected"] == {WEB1: "prod-web-1", BATCH: "prod-batch-1", OTHERPROD: "prod-other-1"}
    assert set(planned[HZ]["schedules_cancelled"]) == {BATCH, GUARD}
    assert set(planned[SH]["protected"]) == {WEBSH} and set(planned[SH]["schedules_cancelled"]) == {WEBSH}

    # For real.
    real = run_harden(ecs, tmp_path)
    after = world(ecs)
    production_payg = {WEB1, WEB2, BATCH, GUARD, OTHERPROD, WEBSH}
    for instance in production_payg:
        assert after[instance]["deletion_protection"] is True, instance
        assert after[instance]["auto_release_time"] is None, instance
    for instance in NOT_PRODUCTION | SUBSCRIPTIONS:
        assert after[instance] == before[instance], instance
    # One write per instance that needed it: schedules cancelled (no AutoReleaseTime = cancel), then protection.
    assert writes_by_action(ecs) == {
        "ModifyInstanceAutoReleaseTime": sorted((i, "") for i in SCHEDULED),
        "ModifyInstanceAttribute": sorted((i, "True") for i in (WEB1, BATCH, OTHERPROD, WEBSH)),
    }
    # Schedules are cancelled before protection is turned on (protection does not stop them).
    for instance in (BATCH, WEBSH):
        cancelled = [c["seq"] for c in ecs.calls("ModifyInstanceAutoReleaseTime")
                     if c["params"]["InstanceId"] == instance]
        protected = [c["seq"] for c in ecs.calls("ModifyInstanceAttribute") if c["params"]["InstanceId"] == instance]
        assert len(cancelled) == len(protected) == 1 and cancelled[0] < protected[0], instance

    done = reports(real)
    assert done[HZ]["check_mode"] is False and done[HZ]["changed"] is True
    # The real run did what check mode said it would.
    for region in (HZ, SH):
        for key in ("protected", "already_protected", "schedules_cancelled", "skipped"):
            assert done[region][key] == planned[region][key], (region, key)
    assert done[HZ]["already_protected"] == {WEB2: "prod-web-2", GUARD: "prod-guard-1"}
    assert [s["id"] for s in done[HZ]["skipped"]] == [DB]
    assert [s["id"] for s in done[SH]["skipped"]] == [CACHESH]
    assert "protected only by its subscription term" in done[HZ]["skipped"][0]["reason"]
    assert "pay-as-you-go instances only" in done[HZ]["skipped"][0]["reason"]
    assert done[HZ]["schedules_found"] == {}
    assert done[HZ]["schedules_cancelled"][BATCH].endswith(":00Z")

    # The report files say the same.
    report_json = json.loads((tmp_path / "reports" / f"harden_production-{HZ}.json").read_text())
    assert report_json == done[HZ]
    markdown = (tmp_path / "reports" / f"harden_production-{SH}.md").read_text()
    assert "turned on: 1" in markdown and WEBSH in markdown and "cancelled: 1" in markdown
    assert f"{CACHESH} (prod-cache-sh-1): subscription instance" in markdown

    # The RAM policies: valid documents, one duty each, the selector in the condition.
    written = policies(tmp_path / "policies")
    assert sorted(written) == ["production-deny-release.json", "production-release-protection.json",
                               "production-release.json"]
    condition = {"StringEquals": {TAG_KEY + "env": "production"}}
    for document in written.values():
        assert_valid_ram_policy(document, condition)
        # Separation of duties: no document both releases and changes protection.
        assert not (actions(document, "Allow") & RELEASE and actions(document, "Allow") & PROTECTION)
    release, protection, deny = (written["production-release.json"], written["production-release-protection.json"],
                                 written["production-deny-release.json"])
    assert RELEASE <= actions(release, "Allow") and actions(release, "Deny") == PROTECTION
    assert PROTECTION <= actions(protection, "Allow") and actions(protection, "Deny") == RELEASE
    assert actions(deny, "Allow") == set() and actions(deny, "Deny") == RELEASE | PROTECTION
    assert sorted(done[HZ]["policy_files"]) == sorted(str(tmp_path / "policies" / n) for n in written)

    # Again: nothing to do, nothing written, nothing reported as changed.
    mtimes = {n: os.stat(tmp_path / "policies" / n).st_mtime_ns for n in written}
    again = run_harden(ecs, tmp_path)
    assert ecs.write_calls() == [], "the rerun wrote"
    assert world(ecs) == after
    assert all(e["result"].get("changed") is not True for e in again.tasks), \
        [e["task"] for e in again.tasks if e["result"].get("changed")]
    assert {n: os.stat(tmp_path / "policies" / n).st_mtime_ns for n in written} == mtimes
    rerun = reports(again)
    assert rerun[HZ]["changed"] is False and rerun[HZ]["protected"] == {} and rerun[HZ]["schedules_cancelled"] == {}
    assert set(rerun[HZ]["already_protected"]) == {WEB1, WEB2, BATCH, GUARD, OTHERPROD}


def test_report_mode_leaves_the_schedules_and_lists_them(ecs, tmp_path):
    ecs.load(FLEET)
    before = world(ecs)
    tags = {"env": "production", "app": "shop"}
    run = run_harden(ecs, tmp_path, harden_production_auto_release="report", harden_production_tags=tags,
                     harden_production_policy_name_prefix="shop")

    # Protection on, schedules untouched: only ModifyInstanceAttribute was written.
    assert writes_by_action(ecs) == {
        "ModifyInstanceAttribute": sorted((i, "True") for i in (WEB1, BATCH, WEBSH))}
    after = world(ecs)
    for instance in SCHEDULED:
        assert before[instance]["auto_release_time"] is not None
        assert after[instance]["auto_release_time"] == before[instance]["auto_release_time"]
    assert after[OTHERPROD] == before[OTHERPROD]  # production, but not app=shop
    done = reports(run)
    assert set(done[HZ]["schedules_found"]) == {BATCH, GUARD} and done[HZ]["schedules_cancelled"] == {}
    assert set(done[SH]["schedules_found"]) == {WEBSH}
    # The protection module still warns that protection will not stop these releases.
    protect = next(e["result"] for e in run.tasks if e["host"] == HZ and e["task"].endswith(
        "Turn release protection on for pay-as-you-go production instances"))
    assert {i["id"] for i in protect["auto_release_scheduled"]} == {BATCH, GUARD}
    assert any("does not stop" in w for w in protect["warnings"])
    # The report-mode schedule task did not count as a change.
    finder = [e for e in run.tasks if "Cancel scheduled releases" in e["task"]]
    assert len(finder) == 2 and all(e["result"]["changed"] is False for e in finder)

    # Both tags of the selector are in every policy's condition, ANDed in one StringEquals.
    written = policies(tmp_path / "policies")
    assert sorted(written) == ["shop-deny-release.json", "shop-release-protection.json", "shop-release.json"]
    condition = {"StringEquals": {TAG_KEY + "env": "production", TAG_KEY + "app": "shop"}}
    for document in written.values():
        assert_valid_ram_policy(document, condition)

    # A rerun in report mode: nothing written, the schedules still found.
    again = run_harden(ecs, tmp_path, harden_production_auto_release="report", harden_production_tags=tags,
                       harden_production_policy_name_prefix="shop")
    assert ecs.write_calls() == []
    assert set(reports(again)[HZ]["schedules_found"]) == {BATCH, GUARD}
    assert reports(again)[HZ]["changed"] is False


def test_demo_fleet_through_ansible_runner(ecs, tmp_path):
    """What AWX does: ansible-runner with a private data dir, the demo inventory and fleet."""
    ecs.load("demo")
    before = world(ecs)
    env = dict(ecs.emu.env(), ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    private = tmp_path / "runner"
    private.mkdir()
    result = ansible_runner.run(
        private_data_dir=str(private), playbook=PLAYBOOK, inventory=INVENTORY, envvars=env, quiet=True,
        extravars={"harden_production_policy_dir": str(tmp_path / "policies")})
    assert result.status == "successful" and result.rc == 0, result.stdout.read()

    results = {}
    for event in result.events:
        if event["event"] == "runner_on_ok":
            data = event["event_data"]
            results[(data["host"], data["task"])] = data["res"]
    assert {host for host, _task in results} == {HZ, SH}
    hz = results[(HZ, "Show the report")]["harden_production_report"]
    # Hangzhou's pay-as-you-go production is protected already and has no schedule: nothing to do there.
    assert hz["protected"] == {}
    assert set(hz["already_protected"]) == {"i-bpwebprod1000000001", "i-bpwebprod2000000002"}
    assert [s["id"] for s in hz["skipped"]] == ["i-bpdbprod10000000001"]
    # Shanghai's api-prod-sh-1 was left unprotected with a rehearsal's release scheduled: both are fixed.
    api = "i-ufapiprodsh10000001"
    sh = results[(SH, "Show the report")]["harden_production_report"]
    assert [s["id"] for s in sh["skipped"]] == ["i-ufcachesubsh0000001"]
    assert set(sh["protected"]) == {api}
    assert before[api]["auto_release_time"] and not before[api]["deletion_protection"]
    assert sorted((c["action"], c["params"]["InstanceId"]) for c in ecs.write_calls()) == [
        ("ModifyInstanceAttribute", api), ("ModifyInstanceAutoReleaseTime", api)]
    after = world(ecs)
    assert after[api]["deletion_protection"] is True and not after[api]["auto_release_time"]
    assert {i: v for i, v in after.items() if i != api} == {i: v for i, v in before.items() if i != api}
    # Two region hosts, one set of policies, written once.
    assert len(os.listdir(tmp_path / "policies")) == 3
    written = [e for e in result.events if e["event"] == "runner_on_ok"
               and e["event_data"]["task"] == "Write one RAM policy document per duty"]
    assert len(written) == 1
