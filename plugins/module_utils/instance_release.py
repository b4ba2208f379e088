# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Releasing instances: read what a release plan needs in few calls, then apply the plan in order.

The order is the one ECS needs: switch unexpired subscriptions to pay-as-you-go (and wait), stop
running instances (and wait), convert static public IPs to EIPs, set the disks' release flags,
release in batches of 100, and wait until the instances are gone.
"""

from __future__ import annotations

import json
import re
import typing as t

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.concurrency import run_concurrently
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import (
    BATCH_LIMITS,
    EcsClient,
    batches,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import (
    EcsApiError,
    EcsError,
    InvalidOptionError,
    WaitTimeout,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_report import (
    PER_INSTANCE_DISK_LOOKUPS,
    disks_by_instance,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_selector import (
    InstanceSelection,
    Selected,
    select_instances,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.release_plan import (
    AUTO_SNAPSHOT_CHOICES,
    DATA_DISK_CHOICES,
    RUNNING_CHOICES,
    SUBSCRIPTION_CHOICES,
    DeleteBatch,
    Refusal,
    ReleaseOptions,
    ReleasePlan,
    client_token,
    delete_batches,
    disk_attribute_changes,
    refusal_message,
    release_plan,
    still_billing,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.waiters import Waiter

Record = t.Dict[str, t.Any]

# Mirrors the options of the ecs_release module's documentation.
RELEASE_ARGUMENT_SPEC: t.Dict[str, t.Any] = {
    "max_instances": {"type": "int", "default": 10},
    "running_instances": {"type": "str", "choices": list(RUNNING_CHOICES), "default": "fail"},
    "subscription_instances": {"type": "str", "choices": list(SUBSCRIPTION_CHOICES), "default": "expired_only"},
    "data_disks": {"type": "str", "choices": list(DATA_DISK_CHOICES), "default": "as_configured"},
    "retain_disk_ids": {"type": "list", "elements": "str"},
    "auto_snapshots": {"type": "str", "choices": list(AUTO_SNAPSHOT_CHOICES), "default": "as_configured"},
    "retain_public_ip": {"type": "bool", "default": False},
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": 600},
}

_DISK_ID = re.compile(r"^d-[A-Za-z0-9]{2,64}$")


def validate_release_options(params: t.Mapping[str, t.Any]) -> None:
    """What the argument spec cannot check, before any call."""
    if params.get("max_instances") is not None and params["max_instances"] < 1:
        raise InvalidOptionError("max_instances", "must be at least 1")
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 1:
        raise InvalidOptionError("wait_timeout", "must be at least 1 second")
    bad = [d for d in params.get("retain_disk_ids") or [] if not _DISK_ID.match(d)]
    if bad:
        raise InvalidOptionError("retain_disk_ids", f"not disk ids (d-...): {', '.join(bad)}")


# DeleteInstances batches in flight at once: a few, well inside ECS's per-API flow control.
DELETE_WORKERS = 4
# DescribeEipAddresses takes at most 50 AllocationIds a call.
_EIP_IDS_PER_CALL = 50
_NOT_FOUND = "InvalidInstanceId.NotFound"


def snapshots_by_disk(client: EcsClient, instance_ids: t.Sequence[str],
                      disk_ids: t.Iterable[str]) -> t.Dict[str, t.List[Record]]:
    """The snapshots of ``disk_ids`` (the disks of ``instance_ids``), keyed by source disk.

    Calls: one DescribeSnapshots per instance up to PER_INSTANCE_DISK_LOOKUPS instances, else
    ceil(snapshots in the region / 100).
    """
    wanted = set(disk_ids)
    found: t.Dict[str, t.List[Record]] = {d: [] for d in wanted}
    if len(instance_ids) <= PER_INSTANCE_DISK_LOOKUPS:
        listings = (client.paginate("DescribeSnapshots", {"InstanceId": i}) for i in instance_ids)
        snapshots: t.Iterable[Record] = (s for listing in listings for s in listing)
    else:
        snapshots = client.paginate("DescribeSnapshots", {})
    seen = set()
    for snapshot in snapshots:
        source = snapshot.get("SourceDiskId") or ""
        if source in wanted and snapshot.get("SnapshotId") not in seen:
            seen.add(snapshot.get("SnapshotId"))
            found[source].append(snapshot)
    return found


def eips_by_id(client: EcsClient, allocation_ids: t.Iterable[str]) -> t.Dict[str, Record]:
    """DescribeEipAddresses records (for their charge types), 50 ids a call."""
    found: t.Dict[str, Record] = {}
    for batch in batches(sorted(set(allocation_ids)), _EIP_IDS_PER_CALL):
        for eip in client.paginate("DescribeEipAddresses", {"AllocationId": ",".join(batch)}):
            found[eip["AllocationId"]] = eip
    return found


def describe_by_ids(client: EcsClient, instance_ids: t.Iterable[str]) -> t.Dict[str, Record]:
    """Current DescribeInstances records of ``instance_ids``, 100 a call; an absent id is gone."""
    found: t.Dict[str, Record] = {}
    for batch in batches(sorted(set(instance_ids)), BATCH_LIMITS["DescribeInstances"]):
        for instance in client.paginate("DescribeInstances", {"InstanceIds": json.dumps(batch)}):
            found[instance["InstanceId"]] = instance
    return found


def _still_listed(client: EcsClient, selection: t.Optional[InstanceSelection],
                  pending: t.Sequence[str]) -> t.List[str]:
    """Which of ``pending`` are still listed, in the fewest calls.

    By ids that is ceil(pending / 100) calls. A selection by tags or name alone can ask its filter
    instead: ceil(still listed / 100) calls, one when everything is gone, however many were released.
    """
    if selection is not None and selection.by_filter_only and len(pending) > BATCH_LIMITS["DescribeInstances"]:
        listed = {i["InstanceId"] for i in client.paginate("DescribeInstances", selection.api_filters())}
    else:
        listed = set(describe_by_ids(client, pending))
    return [i for i in pending if i in listed]


def wait_until_released(client: EcsClient, instance_ids: t.Sequence[str], timeout: float,
                        selection: t.Optional[InstanceSelection] = None,
                        waiter: t.Optional[Waiter] = None) -> int:
    """Poll until none of ``instance_ids`` is listed any more; raises WaitTimeout with what is still listed.

    Returns how many polls it took.
    """
    waiter = waiter or Waiter("the instances to be released", timeout)
    waiter.wait(instance_ids, lambda pending: _still_listed(client, selection, pending))
    return waiter.polls


def _wait_for(client: EcsClient, what: str, ids: t.Sequence[str], timeout: float,
              done: t.Callable[[Record], bool]) -> None:
    def pending_of(pending: t.List[str]) -> t.List[str]:
        current = describe_by_ids(client, pending)
        return [i for i in pending if i in current and not done(current[i])]
    Waiter(what, timeout).wait(ids, pending_of)


class PlannedRelease(t.NamedTuple):
    selected: Selected
    plan: ReleasePlan


_UNMATCHED = ("exist but do not match the tags or name given with them; an instance must match every part "
              "of the selection, so drop them from instance_ids or correct the filter")


def plan_release(client: EcsClient, selection: InstanceSelection, options: ReleaseOptions,
                 max_instances: int) -> PlannedRelease:
    """Read what the plan needs and make it; raises before any write when it cannot go ahead as asked.

    Calls: the selection's DescribeInstances (100 a call); DescribeDisks and DescribeSnapshots per
    instance up to 10 instances, else listed for the region; DescribeEipAddresses for bound EIPs, 50 a call.
    """
    selected = select_instances(client, selection)
    if selection.by_filter_only and len(selected.instances) > max_instances:
        raise EcsError(
            f"max_instances: {selection.describe()} selects {len(selected.instances)} instances, more than "
            f"max_instances={max_instances}. Nothing was released or changed; narrow the selection, or raise "
            "max_instances if you mean to release them all.",
            {"changed": False, "selected_count": len(selected.instances), "released": [], "already_absent": []})
    ids = [i["InstanceId"] for i in selected.instances]
    disks = disks_by_instance(client, ids) if ids else {}
    snapshots = snapshots_by_disk(client, ids, [d["DiskId"] for listed in disks.values() for d in listed]) if ids else {}
    bound = [(i.get("EipAddress") or {}).get("AllocationId") for i in selected.instances]
    eips = eips_by_id(client, [a for a in bound if a])
    plan = release_plan(selected.instances, disks, snapshots, eips, options)
    if selected.unmatched_ids:
        plan = plan._replace(refusals=[Refusal(_UNMATCHED, selected.unmatched_ids)] + plan.refusals)
    if plan.refusals:
        raise EcsError(refusal_message(plan.refusals), {
            "changed": False,
            "refusals": [r.report() for r in plan.refusals],
            "release_plan": plan.report(),
            "released": [],
            "not_released": ids,
            "already_absent": selected.missing_ids,
        })
    return PlannedRelease(selected, plan)


class ReleaseFailed(EcsError):
    """The release stopped part way; ``result`` says exactly what was released and what was not."""


class Release:
    """Applies a release plan, recording every write it made as a human-readable action."""

    def __init__(self, client: EcsClient, plan: ReleasePlan, wait_timeout: float,
                 selection: t.Optional[InstanceSelection] = None,
                 already_absent: t.Sequence[str] = ()) -> None:
        self.client = client
        self.plan = plan
        self.wait_timeout = wait_timeout
        self.selection = selection
        self.actions: t.List[str] = []
        self.released: t.List[str] = []
        self.already_absent: t.List[str] = list(already_absent)
        self.converted_eips: t.Dict[str, Record] = {}  # instance id -> its new EIP (DescribeEipAddresses)
        self.wait_polls = 0

    def apply(self, wait: bool) -> None:
        try:
            self._prepare()
        except EcsError as error:
            raise self._failed(error, f"Nothing was released: {error.message}") from None
        self._release()
        if wait and self.released:
            try:
                self.wait_polls = wait_until_released(self.client, self.released, self.wait_timeout, self.selection)
            except WaitTimeout as error:
                raise self._failed(error, f"Released {len(self.released)} instances, but: {error.message}") from None

    # Before the release: every step waits for the last, since each needs the state the last one makes.

    def _prepare(self) -> None:
        switch = [p.instance_id for p in self.plan.instances if p.switch_to_postpaid]
        if switch:
            for batch in batches(switch, BATCH_LIMITS["ModifyInstanceChargeType"]):
                self.client.call("ModifyInstanceChargeType", {
                    "InstanceIds": json.dumps(batch), "InstanceChargeType": "PostPaid", "IncludeDataDisks": True,
                    "ClientToken": client_token(self.client.region, "ModifyInstanceChargeType", batch,
                                                InstanceChargeType="PostPaid")})
                self.actions.append(f"switched to pay-as-you-go: {', '.join(batch)}")
            _wait_for(self.client, "the switch to pay-as-you-go", switch, self.wait_timeout,
                      lambda i: i.get("InstanceChargeType") == "PostPaid")
        stop = [p.instance_id for p in self.plan.instances if p.stop]
        for batch in batches(stop, BATCH_LIMITS["StopInstances"]):
            answer = self.client.call("StopInstances", {"InstanceId": batch, "ForceStop": False})
            refused = [r for r in (answer.get("InstanceResponses") or {}).get("InstanceResponse") or []
                       if str(r.get("Code")) not in ("200", "")]
            if refused:
                raise EcsError("StopInstances refused " + "; ".join(
                    f"{r.get('InstanceId')}: {r.get('Code')}: {r.get('Message')}" for r in refused))
            self.actions.append(f"stopped: {', '.join(batch)}")
        stopping = [p.instance_id for p in self.plan.instances if p.wait_for_stopped]
        if stopping:
            _wait_for(self.client, "the instances to stop", stopping, self.wait_timeout,
                      lambda i: i.get("Status") == "Stopped")
        self._convert_public_ips()
        for attribute, value, disk_ids in disk_attribute_changes(self.plan):
            self.client.call("ModifyDiskAttribute", {"DiskIds": disk_ids, attribute: value})
            self.actions.append(f"set {attribute}={str(value).lower()} on {', '.join(disk_ids)}")

    def _convert_public_ips(self) -> None:
        convert = [p.instance_id for p in self.plan.instances if p.convert_public_ip]
        if not convert:
            return
        # No batch form: one call per instance, a few at a time.
        outcome = run_concurrently(lambda i: self.client.call("ConvertNatPublicIpToEip", {"InstanceId": i}), convert)
        done = [instance_id for instance_id, _answer in outcome.done]
        if done:
            self.actions.append(f"converted static public IPs to EIPs: {', '.join(done)}")
        if outcome.failed:
            raise EcsError("ConvertNatPublicIpToEip failed for " + "; ".join(
                f"{i}: {e.message}" for i, e in outcome.failed))
        current = describe_by_ids(self.client, convert)
        allocation = {i: (current.get(i, {}).get("EipAddress") or {}).get("AllocationId", "") for i in convert}
        details = eips_by_id(self.client, [a for a in allocation.values() if a])
        for instance_id, allocation_id in allocation.items():
            self.converted_eips[instance_id] = details.get(allocation_id) or {"AllocationId": allocation_id}
        for p in self.plan.instances:
            eip = self.converted_eips.get(p.instance_id)
            for item in p.stays:
                if eip and item["kind"] == "static_ip":
                    item.update(allocation_id=eip.get("AllocationId", ""), charge_type=eip.get("ChargeType", ""),
                                internet_charge_type=eip.get("InternetChargeType", ""))

    # The release itself.

    def _delete(self, batch: DeleteBatch) -> t.Tuple[t.List[str], t.List[str]]:
        """Release one batch: (released ids, ids ECS no longer knows)."""
        try:
            self._delete_call(batch.instance_ids, batch)
            return batch.instance_ids, []
        except EcsApiError as error:
            if error.code != _NOT_FOUND:
                raise
        # One id of the batch is gone already (released since the plan was made), and ECS refuses the
        # whole call for it: release the rest one by one, so each gone id answers for itself.
        # Their tokens differ from a batch of one's, so a call a past run made cannot answer for them.
        released, absent = [], []
        for instance_id in batch.instance_ids:
            try:
                self._delete_call([instance_id], batch, one_by_one=True)
                released.append(instance_id)
            except EcsApiError as error:
                if error.code != _NOT_FOUND:
                    raise
                absent.append(instance_id)
        return released, absent

    def _delete_call(self, instance_ids: t.List[str], batch: DeleteBatch, one_by_one: bool = False) -> None:
        flags = {"Force": batch.force, "TerminateSubscription": batch.terminate_subscription}
        token = client_token(self.client.region, "DeleteInstances", instance_ids, one_by_one=one_by_one, **flags)
        self.client.call("DeleteInstances", dict(flags, InstanceId=instance_ids, ClientToken=token))

    def _release(self) -> None:
        outcome = run_concurrently(self._delete, delete_batches(self.plan), DELETE_WORKERS)
        for batch, (released, absent) in outcome.done:
            self.released.extend(released)
            self.already_absent.extend(absent)
            if released:
                flags = [name for name, on in (("Force", batch.force),
                                               ("TerminateSubscription", batch.terminate_subscription)) if on]
                self.actions.append(f"released {len(released)} instances" + (f" with {', '.join(flags)}" if flags else ""))
        if outcome.failed:
            errors = [dict(getattr(error, "result", {}).get("error") or {"message": error.message},
                           instance_ids=batch.instance_ids) for batch, error in outcome.failed]
            not_released = [i for batch, _error in outcome.failed for i in batch.instance_ids]
            first = outcome.failed[0][1]
            message = (f"Released {len(self.released)} of {len(self.plan.instances)} instances; "
                       f"{len(outcome.failed)} DeleteInstances call(s) refused, {len(not_released)} instances "
                       f"not released: {first.message}")
            raise self._failed(first, message, not_released=not_released, batch_errors=errors)

    def _failed(self, error: EcsError, message: str, **extra: t.Any) -> ReleaseFailed:
        result = self.result()
        result.update(error.result)
        result.update(extra)
        return ReleaseFailed(message, result)

    def result(self) -> Record:
        released = [i for i in self.plan.instance_ids if i in set(self.released)]
        return {
            "changed": bool(self.actions),
            "released": released,
            "not_released": [i for i in self.plan.instance_ids
                             if i not in set(self.released) | set(self.already_absent)],
            "already_absent": list(self.already_absent),
            "release_plan": self.plan.report(),
            "still_billing": still_billing(self.plan, released),
            "actions": list(self.actions),
        }
