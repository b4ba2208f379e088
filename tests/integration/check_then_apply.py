"""The amazon.aws rhythm for a module that changes things: check mode, then for real, then again.

Check mode must predict the change and write nothing; the real run must make the predicted change;
the rerun must find nothing to do and write nothing.
"""

from __future__ import annotations

import typing as t
from datetime import datetime, timedelta, timezone


class Converged(t.NamedTuple):
    check: t.Any  # AnsibleRun of each step
    real: t.Any
    again: t.Any
    writes: t.List[t.Dict[str, t.Any]]  # the write calls the real run made


def check_then_apply(ecs: t.Any, module: str, **args: t.Any) -> Converged:
    ecs.emu.clear_calls()
    check = ecs.module(module, check=True, diff=True, **args)
    assert check.rc == 0, check.stdout + check.stderr
    assert ecs.write_calls() == [], "check mode wrote"

    real = ecs.module(module, diff=True, **args)
    assert real.rc == 0, real.stdout + real.stderr
    assert real.result["changed"] == check.result["changed"]
    assert sorted(real.result["changed_instances"]) == sorted(check.result["changed_instances"])
    assert_same_diff(check.result["diff"], real.result["diff"], relative="release_in" in args)
    writes = ecs.write_calls()
    assert all(call["status"] == 200 for call in writes), writes
    assert sorted(call["params"]["InstanceId"] for call in writes) == sorted(real.result["changed_instances"])

    ecs.emu.clear_calls()
    again = ecs.module(module, **args)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.result["changed"] is False
    assert again.result["changed_instances"] == []
    assert ecs.write_calls() == [], "the rerun wrote"
    return Converged(check, real, again, writes)


def assert_same_diff(check: t.Dict[str, t.Any], real: t.Dict[str, t.Any], relative: bool) -> None:
    """Check mode's diff is the real run's, except that a time relative to now (``release_in``) is measured from
    each run's own clock: when a minute boundary falls between the two runs, the real run's time is one minute on."""
    assert real["before"] == check["before"]
    if not relative:
        assert real["after"] == check["after"]
        return
    assert real["after"].keys() == check["after"].keys()
    for instance_id, predicted in check["after"].items():
        made = real["after"][instance_id]
        assert made.keys() == predicted.keys()
        if not predicted.get("auto_release_time"):
            assert made == predicted
            continue
        shift = shown(made["auto_release_time"]) - shown(predicted["auto_release_time"])
        assert shift in (timedelta(0), timedelta(minutes=1)), (instance_id, predicted, made)


def shown(text: str) -> datetime:
    """A UTC time as the module or the emulator shows it (``yyyy-MM-ddTHH:mm:ssZ`` or ``yyyy-MM-ddTHH:mmZ``)."""
    for layout in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ"):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise AssertionError(f"not a time: {text!r}")


def refused_with_nothing_written(ecs: t.Any, module: str, **args: t.Any) -> t.Dict[str, t.Any]:
    """A run that must fail before any write, in check mode and for real alike; returns the real result."""
    ecs.emu.clear_calls()
    for check in (True, False):
        run = ecs.module(module, check=check, **args)
        assert run.rc != 0, run.stdout
        assert run.tasks[-1]["status"] == "failed"
        assert run.result["changed"] is False
    assert ecs.write_calls() == []
    return run.result
