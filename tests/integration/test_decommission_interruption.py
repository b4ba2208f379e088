"""The decommission playbook killed (SIGKILL to it and every process under it) at several points, then run again.

The rerun must end in the same state as an uninterrupted run of the same fleet on a fresh world, with no
duplicate snapshot and no second DeleteInstances call for an instance already released. The same holds for a
run through a storm of throttling and ServiceUnavailable answers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import typing as t
from collections import Counter

import pytest

from test_role_snapshot_then_release import (
    INVENTORY,
    PLAYBOOK,
    RETIRE_HZ,
    RUN_TAG,
    assert_backed_up_before_release,
    cloud_disks_by_instance,
    decommission_vars,
    delete_ids,
    region_state,
    released_instances,
)

REGION = "cn-hangzhou"
SNAPSHOT_SECONDS = 4
_BASELINE: t.Dict[str, t.Any] = {}


def fresh_world(ecs: t.Any) -> None:
    ecs.emu.reset()
    ecs.load("demo")
    ecs.emu.configure(snapshot_seconds=SNAPSHOT_SECONDS, status_seconds=1)


def summary(ecs: t.Any, run_id: str) -> t.Dict[str, t.Any]:
    """The region's state without what differs between two worlds of one fleet (new ids, times)."""
    state = region_state(ecs, REGION)
    run = [s for s in state["snapshots"].values() if s["tags"].get(RUN_TAG) == run_id]
    return {
        "instances": sorted(state["instances"]),
        "released": released_instances(ecs, REGION),
        "disks": sorted((d["size"], d["category"], d["type"], d["status"], d["instance_id"])
                        for d in state["disks"].values()),
        "run_snapshots": sorted((s["disk_size"], s["disk_type"], s["status"]) for s in run),
        "other_snapshots": sorted((s["name"], s["status"]) for s in state["snapshots"].values()
                                  if s["tags"].get(RUN_TAG) != run_id),
        "eips": sorted((e["ip"], e["status"], e["instance_id"]) for e in state["eips"].values()),
        "images": len(state["images"]),
    }


def run_snapshots(ecs: t.Any) -> t.Dict[str, t.List[str]]:
    """The snapshot ids of run CHG-9, by source disk."""
    found: t.Dict[str, t.List[str]] = {}
    for snapshot in region_state(ecs, REGION)["snapshots"].values():
        if snapshot["tags"].get(RUN_TAG) == "CHG-9":
            found.setdefault(snapshot["disk_id"], []).append(snapshot["id"])
    return {disk: sorted(ids) for disk, ids in found.items()}


def playbook_env(ecs: t.Any) -> t.Dict[str, str]:
    return dict(ecs.env, ECS_TEST_RESULTS=os.devnull)


def command(extra_vars: t.Mapping[str, t.Any]) -> t.List[str]:
    return ["ansible-playbook", "-i", INVENTORY, PLAYBOOK, "-e", json.dumps(dict(extra_vars, decommission_hosts=REGION))]


def complete_run(ecs: t.Any, extra_vars: t.Mapping[str, t.Any]) -> subprocess.CompletedProcess:
    done = subprocess.run(command(extra_vars), env=playbook_env(ecs), capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return done


def baseline(ecs: t.Any, tmp_path: t.Any) -> t.Dict[str, t.Any]:
    """An uninterrupted run on a fresh world of the demo fleet, once per session; the world is fresh again after."""
    if not _BASELINE:
        fresh_world(ecs)
        complete_run(ecs, decommission_vars(tmp_path / "baseline", run_id="CHG-9"))
        _BASELINE.update(summary(ecs, "CHG-9"))
        fresh_world(ecs)
    return dict(_BASELINE)


def _state_and_parent(pid: int) -> t.Optional[t.Tuple[str, int]]:
    """A process's state letter and parent pid from /proc, or None once it has ended."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    found = _state_and_parent(pid)
    return found is not None and found[0] != "Z"


def _children() -> t.Dict[int, t.List[int]]:
    """Every live process's children."""
    children: t.Dict[int, t.List[int]] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        found = _state_and_parent(int(entry))
        if found is not None and found[0] != "Z":
            children.setdefault(found[1], []).append(int(entry))
    return children


def kill_tree(root: int) -> None:
    """SIGKILL a process and everything under it, and wait until all are gone.

    A process group is not enough: ansible-core's workers call setsid(), so the module that is talking to the
    API lives in a session of its own and would go on retrying after the playbook was killed. Every process of
    the tree is stopped first, top down until no new one appears, so none can fork or be orphaned while the tree
    is being killed.
    """
    stopped: t.Set[int] = set()
    while True:
        tree, todo = {root}, [root]
        children = _children()
        while todo:
            for child in children.get(todo.pop(), []):
                if child not in tree:
                    tree.add(child)
                    todo.append(child)
        new = tree - stopped
        if not new:
            break
        for pid in new:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        stopped |= new
    for pid in stopped:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in stopped - {root}):
        time.sleep(0.05)
    assert not [pid for pid in stopped - {root} if _alive(pid)], "processes of the killed playbook survived"


def killed_when(ecs: t.Any, extra_vars: t.Mapping[str, t.Any],
                reached: t.Callable[[t.List[t.Dict[str, t.Any]]], bool]) -> int:
    """Start the playbook, kill it and every process under it once the recorded calls show ``reached``; return
    the seq of the last call seen then."""
    process = subprocess.Popen(command(extra_vars), env=playbook_env(ecs),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            calls = ecs.emu.calls()
            if reached(calls):
                # Freeze the world at this point: requests still in flight (a retry in the emulator's latency)
                # are refused instead of landing after the kill, so the kill point is exact.
                ecs.emu.set_faults(actions={"*": {"throttle": 1.0}})
                kill_tree(process.pid)
                process.wait(30)
                return calls[-1]["seq"] if calls else 0
            if process.poll() is not None:
                pytest.fail(f"the playbook ended (rc {process.returncode}) before the kill point was reached; "
                            f"calls that went through: {succeeded(ecs.emu.calls())}")
            time.sleep(0.05)
        pytest.fail(f"the kill point was not reached in time; calls that went through: {succeeded(ecs.emu.calls())}")
    finally:
        if process.poll() is None:
            kill_tree(process.pid)
            process.wait(30)
    return 0


def ok(calls: t.List[t.Dict[str, t.Any]], action: str) -> t.List[t.Dict[str, t.Any]]:
    return [c for c in calls if c["action"] == action and c["status"] == 200]


def succeeded(calls: t.List[t.Dict[str, t.Any]]) -> t.Dict[str, int]:
    """How many calls of each action were answered 200: what a failure message needs to explain a missed point."""
    return dict(Counter(c["action"] for c in calls if c["status"] == 200))


def refused(calls: t.List[t.Dict[str, t.Any]], action: str) -> bool:
    return any(c["action"] == action and c["code"] == "Throttling.User" for c in calls)


def after_some_snapshots(calls):
    """The emulator let two snapshots be made and refuses the rest: the run is retrying the third."""
    return len(ok(calls, "CreateSnapshot")) == 2 and refused(calls, "CreateSnapshot")


def mid_wait(calls):
    return any(c["action"] == "DescribeSnapshots" and "SnapshotIds" in c["params"] for c in calls)


def after_first_release_batch(calls):
    """One DeleteInstances call went through and the other is refused and being retried: a release half done."""
    released = {i for c in ok(calls, "DeleteInstances") for i in delete_ids(c)}
    return bool(released) and released != set(RETIRE_HZ) and refused(calls, "DeleteInstances")


@pytest.mark.parametrize("point, reached, faults", [
    # The emulator's ``allow`` lets exactly so many calls through and refuses the later ones, which the run retries:
    # the kill lands at the same point whatever the machine's load.
    ("after some snapshots", after_some_snapshots, {"CreateSnapshot": {"allow": 2}}),
    ("mid-wait", mid_wait, {}),
    # The expired subscription and the pay-as-you-go instances go in separate DeleteInstances calls.
    ("after the first release batch", after_first_release_batch, {"DeleteInstances": {"allow": 1}}),
])
def test_killed_then_rerun_ends_as_an_uninterrupted_run(ecs, tmp_path, point, reached, faults):
    expected = baseline(ecs, tmp_path)
    fresh_world(ecs)
    disks = cloud_disks_by_instance(ecs, REGION)
    extra = decommission_vars(tmp_path / "reports", run_id="CHG-9")
    if faults:
        ecs.emu.set_faults(actions=faults)
    killed_at = killed_when(ecs, extra, reached)
    time.sleep(1)  # let the emulator answer what it had received (refused, see killed_when)
    ecs.emu.clear_faults()
    before_rerun = ecs.emu.calls()
    gone_before = set(released_instances(ecs, REGION))
    snapshots_before = run_snapshots(ecs)
    if point == "after some snapshots":
        assert len(snapshots_before) == 2, snapshots_before
    if point != "after the first release batch":
        assert gone_before == set(), point
    else:
        assert gone_before and gone_before != set(RETIRE_HZ), gone_before

    complete_run(ecs, extra)
    rerun = [c for c in ecs.emu.calls() if c["seq"] > before_rerun[-1]["seq"]] if before_rerun else ecs.emu.calls()
    assert killed_at > 0
    assert summary(ecs, "CHG-9") == expected
    assert_backed_up_before_release(ecs, REGION, "CHG-9", disks, SNAPSHOT_SECONDS)
    # No second release call for an instance already released, none twice in the rerun.
    again = [i for c in rerun if c["action"] == "DeleteInstances" for i in delete_ids(c)]
    assert not gone_before & set(again), (gone_before, again)
    assert len(again) == len(set(again))
    # Snapshots made before the kill were reused, not taken again: no create call for their disks, and each of
    # those disks still has exactly the snapshot it had.
    made_again = {c["params"]["DiskId"] for c in ok(rerun, "CreateSnapshot")}
    assert not made_again & set(snapshots_before), (made_again, snapshots_before)
    after = run_snapshots(ecs)
    assert {disk: after[disk] for disk in snapshots_before} == snapshots_before
    assert all(len(ids) == 1 for ids in after.values()), after
    report = json.loads((tmp_path / "reports" / f"CHG-9-{REGION}.json").read_text())
    assert sorted(report["released"]) == sorted(RETIRE_HZ) and report["not_released"] == []


def test_throttling_storm_ends_as_a_quiet_run(ecs, tmp_path):
    expected = baseline(ecs, tmp_path)
    fresh_world(ecs)
    disks = cloud_disks_by_instance(ecs, REGION)
    ecs.emu.set_faults(actions={"*": {"throttle": 0.2, "unavailable": 0.05}}, seed=7)
    complete_run(ecs, decommission_vars(tmp_path / "reports", run_id="CHG-9"))
    calls = ecs.emu.calls()
    faulted = [c for c in calls if c["code"] in ("Throttling.User", "ServiceUnavailable")]
    assert len(faulted) >= 5, "the storm did not happen"
    assert summary(ecs, "CHG-9") == expected
    assert_backed_up_before_release(ecs, REGION, "CHG-9", disks, SNAPSHOT_SECONDS)
    released = [i for c in ok(calls, "DeleteInstances") for i in delete_ids(c)]
    assert sorted(released) == sorted(RETIRE_HZ)
