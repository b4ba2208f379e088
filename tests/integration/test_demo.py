"""The README's main job (scripts/demo): harden production, then decommission team=retire, on the demo fleet.

Runs the same runbooks with the same variables (demo/vars.yml) as scripts/demo, and checks that with 20%
throttling and 5% ServiceUnavailable injected the account ends in the same state as without.
"""

from __future__ import annotations

import typing as t

from collection_link import REPO

INVENTORY = str(REPO / "inventory" / "demo.yml")
REGIONS = ("cn-hangzhou", "cn-shanghai")
RUNBOOKS = ("harden_production", "decommission", "fleet_report")


def run_demo(ecs, out) -> t.Dict[str, t.Any]:
    ecs.load("demo")
    disk_keys = stable_disk_keys(ecs)
    # The demo fleet's 30 s snapshots would make this test wait; the outcome does not depend on it.
    ecs.emu.configure(snapshot_seconds=2, status_seconds=1)
    ecs.env.pop("ALIBABA_CLOUD_REGION_ID", None)  # each inventory host is its region
    for runbook in RUNBOOKS:
        run = ecs.playbook(f"alicloud_ecs.lifecycle.{runbook}", inventory=INVENTORY,
                           extra_vars={"demo_dir": str(out)}, extra_var_files=[str(REPO / "demo" / "vars.yml")])
        assert run.rc == 0, runbook + "\n" + run.stdout[-3000:] + run.stderr[-2000:]
    return account(ecs, disk_keys)


def stable_disk_keys(ecs) -> t.Dict[str, str]:
    """Disk ids are drawn anew with each load: name each disk by its instance and device (or its own name)."""
    keys = {}
    for region in REGIONS:
        for disk_id, disk in ecs.emu.state(region)["regions"][region]["disks"].items():
            keys[disk_id] = f"{disk['instance_id']}:{disk['device']}" if disk["instance_id"] else disk["name"]
    return keys


def account(ecs, disk_keys: t.Dict[str, str]) -> t.Dict[str, t.Any]:
    """The account's state without what differs between equivalent runs: generated ids and times."""

    def stable(text: str) -> str:
        for disk_id, key in disk_keys.items():
            text = text.replace(disk_id, key)
        return text

    shape: t.Dict[str, t.Any] = {}
    for region in REGIONS:
        state = ecs.emu.state(region)["regions"][region]
        shape[region] = {
            "instances": {i: (s["status"], s["deletion_protection"], bool(s["auto_release_time"]), s["charge_type"])
                          for i, s in state["instances"].items()},
            "released": sorted((r["id"], r["kind"], r["how"]) for r in state["released"] if r["kind"] == "instance"),
            "disks": {stable(d): (s["status"], s["instance_id"], s["delete_with_instance"])
                      for d, s in state["disks"].items()},
            "snapshots": sorted((stable(s["disk_id"]), s["snapshot_type"], s["status"], stable(s["name"]))
                                for s in state["snapshots"].values()),
            "eips": sorted((s["ip"], s["status"], s["instance_id"]) for s in state["eips"].values()),
        }
    return shape


def test_demo_protects_backs_up_releases_and_reports(ecs, tmp_path):
    end = run_demo(ecs, tmp_path / "demo")
    hz, sh = end["cn-hangzhou"], end["cn-shanghai"]
    retired_hz = {"i-bpbatchold100000001", "i-bpbatchold200000002", "i-bpbatchold300000003",
                  "i-bpbatchold400000004", "i-bpreportleg00000001"}
    assert {r[0] for r in hz["released"]} == retired_hz
    assert {r[0] for r in sh["released"]} == {"i-ufbatcholdsh1000001", "i-ufbatcholdsh2000002"}
    # Production was protected and its forgotten schedule cancelled; nothing else was touched.
    assert sh["instances"]["i-ufapiprodsh10000001"] == ("Running", True, False, "PostPaid")
    assert hz["instances"]["i-bpwebprod2000000002"][1] is True
    # Not tagged team=retire: the protected dev sandbox and the running load-test box are still there.
    assert hz["instances"]["i-bpdevsandbox0000001"] == ("Stopped", True, False, "PostPaid")
    assert hz["instances"]["i-bploadtest100000001"][0] == "Running"
    # Every released cloud disk was backed up by this run before the release.
    backups = {s[0] for s in hz["snapshots"] if s[3].startswith("demo-retire-batch")}
    assert backups and all(s[2] == "accomplished" for s in hz["snapshots"] if s[3].startswith("demo-retire-batch"))
    # batch-old-1's static IP was kept as an EIP, left unbound and still billing.
    assert ("47.96.20.21", "Available", "") in hz["eips"]
    reports = sorted(p.name for p in (tmp_path / "demo" / "reports").iterdir())
    assert "demo-retire-batch-cn-hangzhou.md" in reports and "harden_production-cn-shanghai.md" in reports
    assert len(list((tmp_path / "demo" / "ram-policies").iterdir())) == 3


def test_demo_ends_the_same_under_throttling_and_outages(ecs, tmp_path):
    quiet = run_demo(ecs, tmp_path / "quiet")
    ecs.emu.reset()
    ecs.emu.set_faults({"*": {"throttle": 0.2, "unavailable": 0.05}}, seed=5)
    stormy = run_demo(ecs, tmp_path / "stormy")
    faulted = [c for c in ecs.calls() if c["code"] in ("Throttling.User", "ServiceUnavailable")]
    assert len(faulted) > 10, "the fault plan should have hit the runbooks"
    assert stormy == quiet
