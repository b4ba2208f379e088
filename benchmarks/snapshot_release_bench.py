#!/usr/bin/env python3
"""Benchmark: the snapshot_then_release role on 100 instances with 3 disks each, snapshots taking 60 s.

Usage: python benchmarks/snapshot_release_bench.py [--instances 100] [--snapshot-seconds 60]

The emulator runs its clock at speed 1, so a snapshot takes ``--snapshot-seconds`` of real time. Measured in
the same run, each on a fresh world of the same fleet (stopped, pay-as-you-go, a system disk and two data disks):

- the role, through ``ansible-playbook`` (the decommission playbook limited to the region): preflight, snapshots
  of all 300 disks, the assert, the release, the report;
- the baseline: one snapshot's duration (``--snapshot-seconds``) plus a plain ``ecs_release`` of the same fleet
  (``ansible localhost -m alicloud_ecs.lifecycle.ecs_release``), the least any backup-then-release can take.

The goal: the role within 2x of the baseline, which holds only if the snapshots are requested concurrently
(one at a time, 300 snapshots of 60 s would take five hours). Prints a table and writes
benchmarks/results/snapshot_release.json with the calls by action, the wall times and their ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile

from ansible_timing import REPO, Emulator, timed_release
from collection_link import link_collection

RESULTS = REPO / "benchmarks" / "results" / "snapshot_release.json"
REGION = "cn-hangzhou"
GOAL = 2.0


def fleet(instances: int, snapshot_seconds: float) -> dict[str, object]:
    return {"settings": {"snapshot_seconds": snapshot_seconds, "status_seconds": 1},
            "regions": {REGION: {"instances": [{
                "count": instances, "name": "retire-{n:04d}", "id": "i-bpretire{n:010d}", "status": "Stopped",
                "tags": {"team": "retire"},
                "disks": {"system": {"size": 40},
                          "data": [{"size": 100, "delete_with_instance": True},
                                   {"size": 200, "delete_with_instance": True}]}}]}}}


def measure(emu: Emulator, command: list[str]) -> dict[str, object]:
    return timed_release(emu, command, REGION)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--snapshot-seconds", type=float, default=60.0)
    options = parser.parse_args()
    link_collection()
    shape = fleet(options.instances, options.snapshot_seconds)
    with Emulator(seed=1, clock_speed=1.0) as emu, tempfile.TemporaryDirectory() as reports:
        emu.load_fleet(shape)
        role = measure(emu, [
            "ansible-playbook", "-i", str(REPO / "inventory" / "demo.yml"), "alicloud_ecs.lifecycle.decommission",
            "-e", json.dumps({"decommission_hosts": REGION, "snapshot_then_release_run_id": "BENCH-1",
                              "snapshot_then_release_tags": {"team": "retire"},
                              "snapshot_then_release_max_instances": options.instances,
                              "snapshot_then_release_report_dir": reports})])
        snapshots = [s for s in emu.state(REGION)["regions"][REGION]["snapshots"].values()
                     if s["tags"].get("alicloud_ecs.lifecycle:run") == "BENCH-1"]
        emu.load_fleet(shape)
        release = measure(emu, ["ansible", "localhost", "-m", "alicloud_ecs.lifecycle.ecs_release", "-a",
                                json.dumps({"tags": {"team": "retire"}, "max_instances": options.instances})])
    baseline = options.snapshot_seconds + release["seconds"]
    ratio = round(role["seconds"] / baseline, 2)
    summary = {
        "goal": f"snapshot_then_release within {GOAL:g}x of one snapshot's duration plus a plain ecs_release",
        "instances": options.instances, "disks": 3 * options.instances, "snapshot_seconds": options.snapshot_seconds,
        "snapshots_created": len(snapshots),
        "snapshot_then_release": role, "ecs_release": release,
        "baseline_seconds": round(baseline, 2), "ratio": ratio, "met": ratio <= GOAL,
    }
    print(f"\nsnapshot_then_release of {options.instances} instances x 3 disks, snapshots of "
          f"{options.snapshot_seconds:g} s, through ansible-playbook against the emulator")
    print(f"{'':>24} {'seconds':>8} {'calls':>6}")
    print(f"{'snapshot_then_release':>24} {role['seconds']:>8.2f} {role['calls']:>6}")
    print(f"{'ecs_release alone':>24} {release['seconds']:>8.2f} {release['calls']:>6}")
    print(f"{'baseline (snapshot+rel.)':>24} {baseline:>8.2f}")
    print(f"  calls: snapshot_then_release {role['calls_by_action']}")
    print(f"  calls: ecs_release           {release['calls_by_action']}")
    print(f"ratio {ratio}x (goal <= {GOAL:g}x): {'met' if summary['met'] else 'NOT met'}; "
          f"{len(snapshots)} snapshots created")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
