# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What releasing the selected instances will do, and what stays behind: pure functions over API records.

Nothing here calls ECS. ``release_plan`` takes the instances, their disks, their disks' snapshots and
their EIPs as the API returns them, and the module's options, and answers per instance what goes with
it, what stays (and keeps billing) and why, which writes come first, and every reason the release
cannot go ahead as asked. The module refuses before any write when there is any such reason.
"""

from __future__ import annotations

import hashlib
import json
import typing as t
from datetime import datetime

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import BATCH_LIMITS, batches
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_plan import name_ids
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_report import is_expired

Record = t.Dict[str, t.Any]

RUNNING_CHOICES = ("fail", "stop", "force")
SUBSCRIPTION_CHOICES = ("expired_only", "convert_to_postpaid")
DATA_DISK_CHOICES = ("as_configured", "retain", "release")
AUTO_SNAPSHOT_CHOICES = ("as_configured", "retain", "release")

# Local disk categories (ephemeral_ssd, local_ssd_pro, local_hdd_pro ...) always go with their instance.
_LOCAL_PREFIXES = ("ephemeral", "local_")

PROTECTION_MODULE = "alicloud_ecs.lifecycle.ecs_release_protection"


class ReleaseOptions(t.NamedTuple):
    running_instances: str = "fail"
    subscription_instances: str = "expired_only"
    data_disks: str = "as_configured"
    retain_disk_ids: t.Tuple[str, ...] = ()
    auto_snapshots: str = "as_configured"
    retain_public_ip: bool = False

    @classmethod
    def from_params(cls, params: t.Mapping[str, t.Any]) -> "ReleaseOptions":
        return cls(
            running_instances=params.get("running_instances") or "fail",
            subscription_instances=params.get("subscription_instances") or "expired_only",
            data_disks=params.get("data_disks") or "as_configured",
            retain_disk_ids=tuple(dict.fromkeys(params.get("retain_disk_ids") or [])),
            auto_snapshots=params.get("auto_snapshots") or "as_configured",
            retain_public_ip=bool(params.get("retain_public_ip")),
        )


class Refusal(t.NamedTuple):
    """One reason some instances cannot be released as asked, with every instance (or disk) it applies to."""

    reason: str
    ids: t.List[str]

    def report(self) -> Record:
        return {"reason": self.reason, "ids": list(self.ids)}


class InstancePlan(t.NamedTuple):
    """What happens to one instance: the writes before its release, what goes with it, what stays."""

    instance: Record  # the DescribeInstances record
    disks: t.List[Record]  # its DescribeDisks records, system disk first
    switch_to_postpaid: bool
    stop: bool  # send StopInstances (it is Running)
    wait_for_stopped: bool  # Running or Stopping: wait for Stopped before release
    force: bool
    terminate_subscription: bool
    convert_public_ip: str  # the static IP to convert to an EIP first, or ""
    disk_changes: t.List[t.Tuple[str, str, bool]]  # (disk id, attribute, value) to set before release
    goes: t.List[Record]  # released with the instance, each with its reason
    stays: t.List[Record]  # left behind, each with its reason

    @property
    def instance_id(self) -> str:
        return str(self.instance["InstanceId"])

    def report(self) -> Record:
        before = []
        if self.switch_to_postpaid:
            before.append("switch to pay-as-you-go (ModifyInstanceChargeType) and wait for it")
        if self.stop:
            before.append("stop (StopInstances) and wait for Stopped")
        elif self.wait_for_stopped and not self.force:
            before.append("wait for Stopped")
        if self.convert_public_ip:
            before.append(f"convert static public IP {self.convert_public_ip} to an EIP (ConvertNatPublicIpToEip)")
        for disk_id, attribute, value in self.disk_changes:
            before.append(f"set {attribute}={str(value).lower()} on {disk_id} (ModifyDiskAttribute)")
        return {
            "instance_id": self.instance_id,
            "name": self.instance.get("InstanceName", ""),
            "status": self.instance.get("Status", ""),
            "charge_type": self.instance.get("InstanceChargeType", ""),
            "before_release": before,
            "force": self.force,
            "terminate_subscription": self.terminate_subscription,
            "goes": list(self.goes),
            "stays": list(self.stays),
        }


class ReleasePlan(t.NamedTuple):
    instances: t.List[InstancePlan]
    refusals: t.List[Refusal]

    @property
    def instance_ids(self) -> t.List[str]:
        return [p.instance_id for p in self.instances]

    def report(self) -> t.List[Record]:
        return [p.report() for p in self.instances]


class DeleteBatch(t.NamedTuple):
    instance_ids: t.List[str]
    force: bool
    terminate_subscription: bool


def is_local_disk(disk: t.Mapping[str, t.Any]) -> bool:
    return str(disk.get("Category") or "").startswith(_LOCAL_PREFIXES)


def _item(kind: str, record_id: str, reason: str, **details: t.Any) -> Record:
    return {"kind": kind, "id": record_id, "reason": reason, **details}


def _disk_item(disk: t.Mapping[str, t.Any], reason: str) -> Record:
    kind = "system_disk" if disk.get("Type") == "system" else "local_disk" if is_local_disk(disk) else "data_disk"
    return _item(kind, str(disk.get("DiskId", "")), reason, size=int(disk.get("Size") or 0),
                 category=disk.get("Category", ""), charge_type=disk.get("DiskChargeType", ""))


def _snapshot_item(snapshot: t.Mapping[str, t.Any], reason: str) -> Record:
    kind = "auto_snapshot" if snapshot.get("SnapshotType") == "auto" else "manual_snapshot"
    return _item(kind, str(snapshot.get("SnapshotId", "")), reason, name=snapshot.get("SnapshotName", ""),
                 size=int(snapshot.get("SourceDiskSize") or 0), source_disk_id=snapshot.get("SourceDiskId", ""))


class _DiskFate(t.NamedTuple):
    goes: bool
    reason: str
    delete_with_instance: t.Optional[bool]  # the flag this disk must carry, None when ECS ignores it
    refusal: str  # why the disk cannot be kept as asked, or ""


def _disk_fate(disk: t.Mapping[str, t.Any], options: ReleaseOptions) -> _DiskFate:
    disk_id = disk.get("DiskId")
    asked_to_keep = disk_id in options.retain_disk_ids
    if disk.get("Type") == "system":
        refusal = "system disks are always released with their instance" if asked_to_keep else ""
        return _DiskFate(True, "the system disk is always released with its instance", None, refusal)
    if is_local_disk(disk) or not disk.get("Portable", True):
        what = "a local disk" if is_local_disk(disk) else "a disk that is not portable"
        refusal = ""
        if asked_to_keep:
            refusal = f"{what} cannot outlive its instance (retain_disk_ids)"
        elif options.data_disks == "retain":
            refusal = f"{what} cannot outlive its instance (data_disks=retain); " \
                      "name the disks to keep in retain_disk_ids instead"
        return _DiskFate(True, f"{what} is always released with its instance", None, refusal)
    if asked_to_keep:
        return _DiskFate(False, "listed in retain_disk_ids", False, "")
    if options.data_disks == "retain":
        return _DiskFate(False, "data_disks=retain", False, "")
    if options.data_disks == "release":
        return _DiskFate(True, "data_disks=release", True, "")
    if disk.get("DeleteWithInstance"):
        return _DiskFate(True, "DeleteWithInstance is true (data_disks=as_configured)", True, "")
    return _DiskFate(False, "DeleteWithInstance is false (data_disks=as_configured)", False, "")


def _auto_snapshots_go(disk: t.Mapping[str, t.Any], options: ReleaseOptions) -> t.Tuple[bool, str]:
    if options.auto_snapshots == "retain":
        return False, "auto_snapshots=retain"
    if options.auto_snapshots == "release":
        return True, "auto_snapshots=release"
    if disk.get("DeleteAutoSnapshot"):
        return True, "DeleteAutoSnapshot is true (auto_snapshots=as_configured)"
    return False, "DeleteAutoSnapshot is false (auto_snapshots=as_configured)"


class _Refusals:
    """Collects refusals by reason, keeping the order reasons were first met and every id once."""

    def __init__(self) -> None:
        self._ids: t.Dict[str, t.List[str]] = {}

    def add(self, reason: str, record_id: str) -> None:
        ids = self._ids.setdefault(reason, [])
        if record_id not in ids:
            ids.append(record_id)

    def listed(self) -> t.List[Refusal]:
        return [Refusal(reason, ids) for reason, ids in self._ids.items()]


_PROTECTED = ("have release protection on; this module never turns it off: turn it off first with "
              f"{PROTECTION_MODULE}")
_SECURITY_LOCK = "are locked for security (OperationLocks: security); ECS refuses to release them"
_UNEXPIRED = ("are subscriptions that have not expired. Only expired subscription instances can be released; "
              "to release one before it expires, first switch its billing method to pay-as-you-go "
              "(subscription_instances=convert_to_postpaid)")
_NOT_STOPPED = ("are not stopped (running_instances=fail): stop them first, or set running_instances=stop "
                "to stop them, or running_instances=force to release them running")
_STARTING = "are still starting (Pending or Starting); ECS cannot release them until they are Running or Stopped"
_SWITCH_STATUS = ("are unexpired subscriptions that are neither Running nor Stopped, so their billing method "
                  "cannot be switched yet")
_NOT_BY_TRAFFIC = ("have a static public IP that is not billed by traffic, which ECS cannot convert to an EIP "
                   "(retain_public_ip=true)")


def _instance_refusals(instance: t.Mapping[str, t.Any], options: ReleaseOptions, expired: bool,
                       refusals: _Refusals) -> None:
    instance_id = str(instance["InstanceId"])
    locks = (instance.get("OperationLocks") or {}).get("LockReason") or []
    if any(lock.get("LockReason") == "security" for lock in locks):
        refusals.add(_SECURITY_LOCK, instance_id)
    if instance.get("DeletionProtection"):
        refusals.add(_PROTECTED, instance_id)
    status = instance.get("Status")
    subscription = instance.get("InstanceChargeType") == "PrePaid"
    if subscription and not expired:
        if options.subscription_instances != "convert_to_postpaid":
            refusals.add(_UNEXPIRED, instance_id)
        elif status not in ("Running", "Stopped"):
            refusals.add(_SWITCH_STATUS, instance_id)
    if status in ("Pending", "Starting"):
        refusals.add(_STARTING, instance_id)
    elif status != "Stopped" and options.running_instances == "fail":
        refusals.add(_NOT_STOPPED, instance_id)
    public_ips = (instance.get("PublicIpAddress") or {}).get("IpAddress") or []
    if options.retain_public_ip and public_ips and instance.get("InternetChargeType", "PayByTraffic") != "PayByTraffic":
        refusals.add(_NOT_BY_TRAFFIC, instance_id)


def _plan_instance(instance: Record, disks: t.List[Record], snapshots: t.Mapping[str, t.List[Record]],
                   eips: t.Mapping[str, Record], options: ReleaseOptions, expired: bool,
                   refusals: _Refusals) -> InstancePlan:
    instance_id = str(instance["InstanceId"])
    goes: t.List[Record] = []
    stays: t.List[Record] = []
    changes: t.List[t.Tuple[str, str, bool]] = []
    for disk in disks:
        disk_id = str(disk.get("DiskId"))
        fate = _disk_fate(disk, options)
        if fate.refusal:
            refusals.add(f"disks that cannot be kept: {fate.refusal}", f"{disk_id} ({instance_id})")
        (goes if fate.goes else stays).append(_disk_item(disk, fate.reason))
        if fate.delete_with_instance is not None and bool(disk.get("DeleteWithInstance")) != fate.delete_with_instance:
            changes.append((disk_id, "DeleteWithInstance", fate.delete_with_instance))
        disk_snapshots = snapshots.get(disk_id, [])
        if fate.goes and not is_local_disk(disk):
            auto_goes, auto_reason = _auto_snapshots_go(disk, options)
            if bool(disk.get("DeleteAutoSnapshot")) != auto_goes:
                changes.append((disk_id, "DeleteAutoSnapshot", auto_goes))
        else:
            auto_goes, auto_reason = False, "its disk stays"
        for snapshot in disk_snapshots:
            if snapshot.get("SnapshotType") == "auto":
                (goes if auto_goes else stays).append(_snapshot_item(snapshot, auto_reason))
            else:
                stays.append(_snapshot_item(snapshot, "manual snapshots are never released with their disk"))

    convert_public_ip = ""
    for ip in (instance.get("PublicIpAddress") or {}).get("IpAddress") or []:
        if options.retain_public_ip:
            convert_public_ip = ip
            stays.append(_item("static_ip", ip, "retain_public_ip=true: converted to an EIP before release",
                               ip_address=ip, allocation_id=""))
        else:
            goes.append(_item("static_ip", ip, "a static public IP is reclaimed on release "
                                               "(retain_public_ip=true would keep it as an EIP)", ip_address=ip))
    eip = instance.get("EipAddress") or {}
    if eip.get("AllocationId"):
        known = eips.get(eip["AllocationId"], {})
        stays.append(_item("eip", eip["AllocationId"], "an EIP is unbound on release, not released",
                           allocation_id=eip["AllocationId"], ip_address=eip.get("IpAddress", ""),
                           charge_type=known.get("ChargeType", ""),
                           internet_charge_type=known.get("InternetChargeType") or eip.get("InternetChargeType", "")))

    status = instance.get("Status")
    subscription = instance.get("InstanceChargeType") == "PrePaid"
    not_stopped = status in ("Running", "Stopping")
    return InstancePlan(
        instance=instance,
        disks=disks,
        switch_to_postpaid=subscription and not expired and options.subscription_instances == "convert_to_postpaid",
        stop=status == "Running" and options.running_instances == "stop",
        wait_for_stopped=not_stopped and options.running_instances == "stop",
        force=not_stopped and options.running_instances == "force",
        terminate_subscription=subscription and expired,
        convert_public_ip=convert_public_ip,
        disk_changes=changes,
        goes=goes,
        stays=stays,
    )


def release_plan(instances: t.Sequence[Record], disks: t.Mapping[str, t.List[Record]],
                 snapshots: t.Mapping[str, t.List[Record]], eips: t.Mapping[str, Record],
                 options: ReleaseOptions, now: t.Optional[datetime] = None) -> ReleasePlan:
    """The plan for releasing ``instances``, and every reason it cannot go ahead, all found at once.

    ``disks`` maps instance id to its disk records, ``snapshots`` disk id to that disk's snapshot
    records, ``eips`` allocation id to DescribeEipAddresses records (for the charge type).
    """
    refusals = _Refusals()
    planned = []
    for instance in instances:
        expired = is_expired(instance, now)
        _instance_refusals(instance, options, expired, refusals)
        planned.append(_plan_instance(instance, list(disks.get(instance["InstanceId"], [])), snapshots, eips,
                                      options, expired, refusals))
    attached = {str(d.get("DiskId")) for p in planned for d in p.disks}
    strangers = [d for d in options.retain_disk_ids if d not in attached]
    listed = refusals.listed()
    if strangers:
        listed.insert(0, Refusal("retain_disk_ids: not attached to any selected instance", strangers))
    return ReleasePlan(planned, listed)


def refusal_message(refusals: t.Sequence[Refusal]) -> str:
    """One message naming every refusal and what it applies to (all of them are in the result)."""
    parts = []
    for refusal in refusals:
        if refusal.reason.startswith(("retain_disk_ids:", "disks ")):
            parts.append(f"{refusal.reason}: {name_ids(refusal.ids)}.")
        else:
            count = len(refusal.ids)
            parts.append(f"{count} instance{'s' if count != 1 else ''} ({name_ids(refusal.ids)}) {refusal.reason}.")
    return "Nothing was released or changed. " + " ".join(parts)


def retained_disks(plan: ReleasePlan, instance_ids: t.Optional[t.Iterable[str]] = None) -> t.List[Record]:
    """The disks that stay behind, of every planned instance or only of ``instance_ids``."""
    wanted = None if instance_ids is None else set(instance_ids)
    return [dict(item, instance_id=p.instance_id) for p in plan.instances
            if wanted is None or p.instance_id in wanted
            for item in p.stays if item["kind"] == "data_disk"]


def still_billing(plan: ReleasePlan, instance_ids: t.Optional[t.Iterable[str]] = None) -> Record:
    """What the release of ``instance_ids`` (default: every planned instance) leaves behind that keeps costing.

    Disks that stay become pay-as-you-go disks. EIPs stay, unbound. Snapshots that stay keep billing
    by size.
    """
    wanted = None if instance_ids is None else set(instance_ids)
    chosen = [p for p in plan.instances if wanted is None or p.instance_id in wanted]
    disks = [{"id": d["id"], "size": d["size"], "category": d["category"], "charge_type": "PostPaid",
              "charge_type_before": d["charge_type"], "instance_id": d["instance_id"]}
             for d in retained_disks(plan, [p.instance_id for p in chosen])]
    eips = [{"allocation_id": item["allocation_id"], "ip_address": item["ip_address"],
             "charge_type": item.get("charge_type", ""), "internet_charge_type": item.get("internet_charge_type", ""),
             "instance_id": p.instance_id}
            for p in chosen for item in p.stays if item["kind"] in ("eip", "static_ip")]
    snapshots = [{"id": item["id"], "name": item["name"], "size": item["size"], "type": item["kind"][:-len("_snapshot")],
                  "source_disk_id": item["source_disk_id"], "instance_id": p.instance_id}
                 for p in chosen for item in p.stays if item["kind"] in ("auto_snapshot", "manual_snapshot")]
    return {"disks": disks, "eips": eips, "snapshots": snapshots}


def disk_attribute_changes(plan: ReleasePlan) -> t.List[t.Tuple[str, bool, t.List[str]]]:
    """(attribute, value, disk ids) for ModifyDiskAttribute, at most 100 disks each; only flags that differ."""
    grouped: t.Dict[t.Tuple[str, bool], t.List[str]] = {}
    for p in plan.instances:
        for disk_id, attribute, value in p.disk_changes:
            grouped.setdefault((attribute, value), []).append(disk_id)
    return [(attribute, value, batch) for (attribute, value), ids in grouped.items()
            for batch in batches(ids, BATCH_LIMITS["ModifyDiskAttribute"])]


def delete_batches(plan: ReleasePlan) -> t.List[DeleteBatch]:
    """DeleteInstances calls: instances grouped so each call's flags fit all of its ids, 100 a call."""
    grouped: t.Dict[t.Tuple[bool, bool], t.List[str]] = {}
    for p in plan.instances:
        grouped.setdefault((p.force, p.terminate_subscription), []).append(p.instance_id)
    return [DeleteBatch(batch, force, terminate)
            for (force, terminate), ids in sorted(grouped.items())
            for batch in batches(sorted(ids), BATCH_LIMITS["DeleteInstances"])]


def client_token(region: str, action: str, instance_ids: t.Iterable[str], **options: t.Any) -> str:
    """An idempotency token for one write: the same ids and options always give the same token (64 hex)."""
    material = json.dumps([region, action, sorted(instance_ids), sorted(options.items())], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


def diff_before(plan: ReleasePlan) -> Record:
    """The planned instances as they are, for ``diff.before``; ``diff.after`` has none of them."""
    return {"instances": {p.instance_id: {
        "name": p.instance.get("InstanceName", ""),
        "status": p.instance.get("Status", ""),
        "charge_type": p.instance.get("InstanceChargeType", ""),
        "deletion_protection": bool(p.instance.get("DeletionProtection")),
        "disks": {str(d.get("DiskId")): {
            "type": d.get("Type", ""),
            "delete_with_instance": bool(d.get("DeleteWithInstance")),
            "delete_auto_snapshot": bool(d.get("DeleteAutoSnapshot")),
        } for d in p.disks},
    } for p in plan.instances}}
