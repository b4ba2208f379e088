# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Plan, then apply, for modules that set one attribute per instance with one call per instance.

A module brings a planner (a pure function from API instance records to an ``InstancePlan``) and a
writer (one API call for one planned change). ``apply_instance_plan`` does the rest the same way for
every such module: select, refuse missing explicit ids, plan, warn, write with bounded concurrency
unless in check mode, and report ``instances``, ``changed_instances``, ``skipped_instances`` and ``diff`` from
the same plan.
"""

from __future__ import annotations

import typing as t
from datetime import datetime, timezone

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.concurrency import run_concurrently
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_module import AnsibleModule
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import EcsApiError, EcsError
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_report import parse_api_time
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_selector import (
    InstanceSelection,
    select_instances,
)

PAY_AS_YOU_GO = "PostPaid"
SUBSCRIPTION = "PrePaid"

# How many instance ids a message names before it says "and N more".
_NAMED_IN_MESSAGE = 20


class PlannedInstance(t.NamedTuple):
    """One selected instance: the managed fields now and as wanted, and why."""

    instance: t.Mapping[str, t.Any]  # the API record, as DescribeInstances returned it
    before: t.Dict[str, t.Any]
    after: t.Dict[str, t.Any]
    reason: str
    skipped: bool = False

    @property
    def instance_id(self) -> str:
        return str(self.instance.get("InstanceId", ""))

    @property
    def name(self) -> str:
        return str(self.instance.get("InstanceName", ""))

    @property
    def changes(self) -> bool:
        return not self.skipped and self.before != self.after


class InstancePlan:
    """What a module will do to each selected instance; check mode, diff and the result all read it."""

    def __init__(self, entries: t.Sequence[PlannedInstance], warnings: t.Sequence[str] = (),
                 extra_result: t.Optional[t.Dict[str, t.Any]] = None) -> None:
        self.entries = list(entries)
        self.warnings = list(warnings)
        self.extra_result = dict(extra_result or {})  # module-specific return values

    @property
    def changes(self) -> t.List[PlannedInstance]:
        return [e for e in self.entries if e.changes]

    @property
    def skipped(self) -> t.List[PlannedInstance]:
        return [e for e in self.entries if e.skipped]

    def diff(self) -> t.Dict[str, t.Dict[str, t.Any]]:
        """``{before, after}`` of the instances that change, keyed by instance id."""
        changes = self.changes
        return {
            "before": {e.instance_id: e.before for e in changes},
            "after": {e.instance_id: e.after for e in changes},
        }


class PlanRefused(EcsError):
    """The plan is unsafe or impossible for some instances; raised before any write."""

    def __init__(self, problem: str, refused: t.Sequence[t.Mapping[str, t.Any]], advice: str = "") -> None:
        ids = [str(i.get("InstanceId", "")) for i in refused]
        message = f"{problem}: {name_ids(ids)}. Nothing was changed."
        if advice:
            message += " " + advice
        super().__init__(message, {"changed": False, "refused_instance_ids": ids})


def name_ids(ids: t.Sequence[str]) -> str:
    """Instance ids for a message: all of them, or the first few and how many more."""
    shown = ", ".join(ids[:_NAMED_IN_MESSAGE])
    if len(ids) > _NAMED_IN_MESSAGE:
        shown += f" and {len(ids) - _NAMED_IN_MESSAGE} more"
    return shown


def utc_text(moment: t.Optional[datetime]) -> str:
    """A time as the API takes it, ``yyyy-MM-ddTHH:mm:ssZ`` in UTC; ``""`` for no time."""
    if moment is None:
        return ""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def auto_release_time(instance: t.Mapping[str, t.Any]) -> t.Optional[datetime]:
    """The scheduled release of an API record, or None."""
    return parse_api_time(instance.get("AutoReleaseTime") or "")


def report_planned(entry: PlannedInstance) -> t.Dict[str, t.Any]:
    """One entry of ``instances`` in the result: the same shape for every planning module."""
    instance = entry.instance
    return {
        "id": entry.instance_id,
        "name": entry.name,
        "charge_type": instance.get("InstanceChargeType", ""),
        "deletion_protection": bool(instance.get("DeletionProtection")),
        "auto_release_time": utc_text(auto_release_time(instance)),
        "before": entry.before,
        "after": entry.after,
        "changed": entry.changes,
        "skipped": entry.skipped,
        "reason": entry.reason,
    }


Planner = t.Callable[[t.List[t.Dict[str, t.Any]]], InstancePlan]
Writer = t.Callable[[EcsClient, PlannedInstance], None]


def apply_instance_plan(module: AnsibleModule, client: EcsClient, planner: Planner, writer: Writer
                        ) -> t.Dict[str, t.Any]:
    """Select, plan, refuse before any write, write unless in check mode, and report.

    Calls: ceil(selected / 100) DescribeInstances, then one write per instance that changes.
    """
    selection = InstanceSelection.from_params(module.params)
    selection.require_some()
    selected = select_instances(client, selection)
    if selected.missing_ids:
        raise EcsError(
            f"instance_ids: not found in region {client.region}: {name_ids(selected.missing_ids)}. "
            "Nothing was changed.",
            {"changed": False, "missing_instance_ids": selected.missing_ids})
    if selected.unmatched_ids:
        module.warn(f"These instance_ids exist but do not match the tags or name, and are left alone: "
                    f"{name_ids(selected.unmatched_ids)}")
    if not selected.instances:
        module.warn(f"No instance in region {client.region} matches {selection.describe()}; nothing to do.")

    plan = planner(selected.instances)
    for warning in plan.warnings:
        module.warn(warning)

    changes = plan.changes
    failed: t.List[t.Tuple[PlannedInstance, EcsError]] = []
    if not module.check_mode:
        outcome = run_concurrently(lambda entry: writer(client, entry), changes)
        failed = outcome.failed
    failed_ids = {entry.instance_id for entry, _error in failed}
    done = [e for e in changes if e.instance_id not in failed_ids]

    result: t.Dict[str, t.Any] = {
        "changed": bool(done),
        "instances": [report_planned(e) for e in plan.entries],
        "changed_instances": [e.instance_id for e in done],
        # Not "skipped": Ansible reads a top-level "skipped" as the task's own status.
        "skipped_instances": [{"id": e.instance_id, "name": e.name, "reason": e.reason} for e in plan.skipped],
        "unmatched_instance_ids": selected.unmatched_ids,
    }
    result.update(plan.extra_result)
    if module._diff:
        result["diff"] = plan.diff()
    if failed:
        raise EcsError(_failure_message(failed, len(changes)), dict(result, failed_instances=[
            _report_failure(entry, error) for entry, error in failed]))
    return result


def _report_failure(entry: PlannedInstance, error: EcsError) -> t.Dict[str, t.Any]:
    report = {"id": entry.instance_id, "name": entry.name, "msg": error.message}
    if isinstance(error, EcsApiError):
        report["code"] = error.code
    return report


def _failure_message(failed: t.Sequence[t.Tuple[PlannedInstance, EcsError]], planned: int) -> str:
    first = failed[0][1].message
    return (f"{len(failed)} of {planned} planned changes failed "
            f"({name_ids([entry.instance_id for entry, _error in failed])}); the others were made. "
            f"First error: {first}")
