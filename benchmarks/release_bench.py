#!/usr/bin/env python3
"""Release benchmark: ecs_release against one DeleteInstance call per instance, both through ``ansible``.

Usage: python benchmarks/release_bench.py [--instances N] [--latency-ms 20,100]

For each injected per-call latency (default 20 ms and 100 ms, a realistic cross-region round trip) it
loads ``emulator/examples/tags-1k.yaml`` (1,000 stopped pay-as-you-go instances tagged team=retire)
and times, in the same run:

- ecs_release: ``ansible localhost -m alicloud_ecs.lifecycle.ecs_release -a 'tags=... max_instances=N'``
- the baseline: the same fleet reloaded, ``ansible localhost -m ecs_release_one_by_one`` (benchmarks/library):
  the same selection, then DeleteInstance per instance and a DescribeInstances poll until it is gone, as
  the existing Alibaba Cloud module does; the same client layer, SDK and emulator.

Ansible's own start-up is in both. It prints a table and writes benchmarks/results/release.json with the
calls by action, the wall times and their ratio. The goal: at 100 ms, ecs_release is at least 20 times
faster. ``--instances`` takes the first N instances of the fleet (by a generated fleet of the same shape)
to shorten a run; the default is the issue's 1,000.
"""

from __future__ import annotations

import argparse
import json

from ansible_timing import REPO, Emulator, timed_release
from collection_link import link_collection

RESULTS = REPO / "benchmarks" / "results" / "release.json"
FLEET = REPO / "emulator" / "examples" / "tags-1k.yaml"
REGION = "cn-hangzhou"
TAGS = {"team": "retire"}
GOAL_AT_100_MS = 20.0


def fleet(instances: int) -> object:
    if instances == 1000:
        return str(FLEET)
    # The shape of tags-1k.yaml with another count.
    return {"regions": {REGION: {"instances": [{
        "count": instances, "name": "retire-{n:04d}", "id": "i-bpretire{n:010d}", "status": "Stopped",
        "tags": {"team": "retire", "shard": "s{n % 10}"}}]}}}


def run_module(emu: Emulator, module: str, args: dict[str, object]) -> dict[str, object]:
    """Run ``module`` once through ``ansible`` on the loaded fleet, and measure it."""
    return timed_release(emu, ["ansible", "localhost", "-m", module, "-a", json.dumps(args)], REGION,
                         timeout=3600, ANSIBLE_LIBRARY=str(REPO / "benchmarks" / "library"))


def measure(latency_ms: int, instances: int) -> dict[str, object]:
    with Emulator(seed=1, latency_ms=latency_ms) as emu:
        emu.load_fleet(fleet(instances))
        ours = run_module(emu, "alicloud_ecs.lifecycle.ecs_release", {"tags": TAGS, "max_instances": instances})
        emu.load_fleet(fleet(instances))
        baseline = run_module(emu, "ecs_release_one_by_one", {"tags": TAGS})
    return {
        "latency_ms": latency_ms,
        "instances": instances,
        "ecs_release": ours,
        "one_by_one": baseline,
        "speedup": round(baseline["seconds"] / ours["seconds"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=1000, help="instances to release (default 1000)")
    parser.add_argument("--latency-ms", default="20,100", help="comma-separated injected latencies (default 20,100)")
    options = parser.parse_args()
    link_collection()
    rows = [measure(int(latency), options.instances) for latency in options.latency_ms.split(",")]

    print(f"\nReleasing {options.instances} stopped instances selected by tag, through ansible, against the emulator")
    print(f"{'latency':>8} | {'ecs_release s':>13} {'calls':>6} | {'one-by-one s':>12} {'calls':>6} | {'speedup':>7}")
    for row in rows:
        ours, baseline = row["ecs_release"], row["one_by_one"]
        print(f"{row['latency_ms']:>6}ms | {ours['seconds']:>13.2f} {ours['calls']:>6} | "
              f"{baseline['seconds']:>12.2f} {baseline['calls']:>6} | {row['speedup']:>6.1f}x")
    for row in rows:
        print(f"  {row['latency_ms']} ms calls: ecs_release {row['ecs_release']['calls_by_action']}")
        print(f"  {row['latency_ms']} ms calls: one-by-one  {row['one_by_one']['calls_by_action']}")
    at_100 = next((r for r in rows if r["latency_ms"] == 100), None)
    summary = {"goal": f"at 100 ms, at least {GOAL_AT_100_MS:g}x faster than one call per instance", "rows": rows}
    if at_100:
        summary["met"] = at_100["speedup"] >= GOAL_AT_100_MS
        print(f"goal at 100 ms: >= {GOAL_AT_100_MS:g}x, measured {at_100['speedup']}x: "
              f"{'met' if summary['met'] else 'NOT met'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
