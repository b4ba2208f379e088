# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Backups before release: the snapshots of one run, planned from what exists, created once, waited for.

A run is named by ``run_id``. Every snapshot (or snapshot group) it creates carries the tag
``alicloud_ecs.lifecycle:run=<run_id>``, so a rerun lists the run's snapshots by that tag and plans
only what is missing: a snapshot that is accomplished or still progressing is reused (and waited
for), and a disk (or instance, for groups) whose every snapshot of the run failed gets a new one.
Each create call carries a ClientToken derived from the run, the disk (or instance) and the attempt
number (how many failed snapshots came before), so a retried call, or a rerun that did not see its
predecessor's snapshot yet, returns the first answer instead of creating a second snapshot.

An instance is safe to release only when every disk in scope has an accomplished snapshot of the
run. Anything else, including a wait that ended early, leaves it in ``not_safe_to_release``.
"""

from __future__ import annotations

import hashlib
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
    EcsError,
    InvalidOptionError,
    WaitTimeout,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_report import disks_by_instance
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_selector import (
    InstanceSelection,
    Selected,
    select_instances,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.waiters import Waiter

RUN_TAG = "alicloud_ecs.lifecycle:run"
DISK_SCOPES = ("all", "system", "data")

# Local (instance store) disks cannot be snapshotted: their data is lost on release whatever we do.
LOCAL_CATEGORIES = frozenset(("ephemeral", "ephemeral_ssd", "local_ssd_pro", "local_hdd_pro"))
_MAX_GROUP_DISKS = 16  # DiskId.N of CreateSnapshotGroup
_MAX_TAGS = 20  # Tag.N of CreateSnapshot; one is the run tag
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
# SnapshotName and Name: 2..128 characters, a letter first; the disk or instance id follows the prefix.
_NAME_PREFIX = re.compile(r"^[A-Za-z][\w.:-]{0,79}$")

PROGRESSING, ACCOMPLISHED, FAILED = "progressing", "accomplished", "failed"
PLANNED = "planned"  # check mode: would be created
NOT_CREATED = "not_created"  # the create call was refused

SNAPSHOT_ARGUMENT_SPEC: t.Dict[str, t.Any] = {
    "run_id": {"type": "str", "required": True},
    "disks": {"type": "str", "choices": list(DISK_SCOPES), "default": "all"},
    "consistent": {"type": "bool", "default": False},
    "name_prefix": {"type": "str"},
    "retention_days": {"type": "int"},
    "snapshot_tags": {"type": "dict", "default": {}},
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": 3600},
}


class BackupOptions(t.NamedTuple):
    """The module's options, validated before any call."""

    run_id: str
    disks: str
    consistent: bool
    name_prefix: str
    retention_days: t.Optional[int]
    snapshot_tags: t.Dict[str, str]
    wait: bool
    wait_timeout: int

    @classmethod
    def from_params(cls, params: t.Mapping[str, t.Any]) -> "BackupOptions":
        run_id = str(params.get("run_id") or "")
        if not _RUN_ID.match(run_id):
            raise InvalidOptionError(
                "run_id", f"{run_id!r} must be 1 to 64 letters, digits, '.', '_', ':' or '-', "
                          "starting with a letter or digit")
        prefix = params.get("name_prefix") or run_id
        option = "name_prefix" if params.get("name_prefix") else "run_id"
        if not _NAME_PREFIX.match(prefix) or prefix.lower().startswith(("auto", "http", "acs:", "aliyun")):
            raise InvalidOptionError(
                option, f"{prefix!r} cannot start a snapshot name: it must start with a letter, hold at most 80 "
                        "letters, digits, '.', '_', ':' or '-', and not start with auto, http, acs: or aliyun"
                        + ("" if option == "name_prefix" else "; set name_prefix"))
        retention = params.get("retention_days")
        if retention is not None and not 1 <= retention <= 65536:
            raise InvalidOptionError("retention_days", f"{retention} is not between 1 and 65536")
        tags = {str(k): "" if v is None else str(v) for k, v in (params.get("snapshot_tags") or {}).items()}
        if len(tags) > _MAX_TAGS - 1:
            raise InvalidOptionError("snapshot_tags", f"at most {_MAX_TAGS - 1} tags (one more is the run tag), "
                                                      f"got {len(tags)}")
        reserved = [k for k in tags if not k or k == RUN_TAG or k.startswith(("aliyun", "acs:"))]
        if reserved:
            raise InvalidOptionError("snapshot_tags", f"keys must not be empty, {RUN_TAG}, or start with aliyun "
                                                      f"or acs:, got {reserved}")
        timeout = params.get("wait_timeout")
        if timeout is None or timeout < 1:
            raise InvalidOptionError("wait_timeout", "must be at least 1 second")
        return cls(run_id, params.get("disks") or "all", bool(params.get("consistent")), prefix, retention,
                   tags, bool(params.get("wait", True)), timeout)

    def api_tags(self) -> t.List[t.Dict[str, str]]:
        given = [{"Key": k, "Value": v} for k, v in self.snapshot_tags.items()]
        return [{"Key": RUN_TAG, "Value": self.run_id}] + given

    def client_token(self, action: str, key: str, attempt: int) -> str:
        """Stable across reruns of the same run, different for each attempt after a failure; 64 ASCII at most."""
        digest = hashlib.sha256(f"{action}\0{self.run_id}\0{key}\0{attempt}".encode()).hexdigest()
        return f"lifecycle-{digest[:48]}"


class DiskBackup:
    """One disk in scope: the snapshot of the run that backs it up, found or to be made."""

    def __init__(self, disk: t.Mapping[str, t.Any], snapshot: t.Optional[t.Dict[str, t.Any]], attempt: int) -> None:
        self.disk_id = str(disk.get("DiskId", ""))
        self.disk_type = str(disk.get("Type", ""))
        self.snapshot = snapshot  # the API record, when one exists
        self.attempt = attempt  # failed snapshots of this run before this one
        self.created = False
        self.error = ""

    @property
    def snapshot_id(self) -> str:
        return str((self.snapshot or {}).get("SnapshotId", ""))

    @property
    def status(self) -> str:
        if self.snapshot:
            return str(self.snapshot.get("Status", "")).lower()
        return NOT_CREATED if self.error else PLANNED

    def report(self) -> t.Dict[str, t.Any]:
        record = self.snapshot or {}
        return {
            "id": self.snapshot_id or None,
            "name": record.get("SnapshotName", ""),
            "disk_id": self.disk_id,
            "disk_type": self.disk_type,
            "status": self.status,
            "progress": record.get("Progress") or "0%",
            "created": self.created,
            "error": self.error,
        }


class InstanceBackup:
    """One selected instance: its disks in scope, the local disks no snapshot can cover, and (groups) its group."""

    def __init__(self, instance: t.Mapping[str, t.Any], disks: t.List[DiskBackup],
                 uncovered: t.List[t.Mapping[str, t.Any]]) -> None:
        self.instance = instance
        self.disks = disks
        self.uncovered = uncovered
        self.group_id = ""
        self.group_attempt = 0
        self.group_created = False
        self.group_error = ""

    @property
    def instance_id(self) -> str:
        return str(self.instance.get("InstanceId", ""))

    def needs_snapshot(self, consistent: bool) -> t.List[DiskBackup]:
        if consistent:
            return [] if self.group_id else list(self.disks)
        return [d for d in self.disks if not d.snapshot_id]

    @property
    def complete(self) -> bool:
        return all(d.status == ACCOMPLISHED for d in self.disks) and not self.group_error

    def reason(self) -> str:
        problems = [f"{d.disk_id}: {d.error}" for d in self.disks if d.error]
        if self.group_error:
            problems.insert(0, f"snapshot group: {self.group_error}")
        for state in (FAILED, PROGRESSING, PLANNED):
            waiting = [d.disk_id for d in self.disks if d.status == state]
            if waiting:
                problems.append(f"snapshot {state}: {', '.join(waiting)}")
        if problems:
            return "; ".join(problems)
        if not self.disks:
            return "no disk in scope to back up"
        return "every disk in scope has an accomplished snapshot"

    def report(self, consistent: bool) -> t.Dict[str, t.Any]:
        report = {
            "id": self.instance_id,
            "name": self.instance.get("InstanceName", ""),
            "safe_to_release": self.complete,
            "reason": self.reason(),
            "snapshots": [d.report() for d in self.disks],
            "uncovered_disks": [{"id": d.get("DiskId", ""), "category": d.get("Category", ""),
                                 "size": d.get("Size", 0), "reason": "local disks cannot be snapshotted"}
                                for d in self.uncovered],
        }
        if consistent:
            report["snapshot_group_id"] = self.group_id or None
        return report


def _in_scope(disk: t.Mapping[str, t.Any], scope: str) -> bool:
    return scope == "all" or disk.get("Type") == scope


def _latest_usable(snapshots: t.Sequence[t.Dict[str, t.Any]]) -> t.Optional[t.Dict[str, t.Any]]:
    """An accomplished snapshot if there is one, else a progressing one; failed ones never count."""
    for status in (ACCOMPLISHED, PROGRESSING):
        found = [s for s in snapshots if str(s.get("Status", "")).lower() == status]
        if found:
            return max(found, key=lambda s: str(s.get("CreationTime", "")))
    return None


class SnapshotRun:
    """Plan, create and wait for the snapshots of one run."""

    def __init__(self, client: EcsClient, options: BackupOptions) -> None:
        self.client = client
        self.options = options
        self.backups: t.List[InstanceBackup] = []
        self.actions: t.List[str] = []
        self.warnings: t.List[str] = []
        self.polled_ids: t.List[int] = []  # how many ids each status poll carried, for the result

    # Plan.

    def plan(self, instances: t.Sequence[t.Mapping[str, t.Any]]) -> None:
        ids = [str(i["InstanceId"]) for i in instances]
        disks = disks_by_instance(self.client, ids) if ids else {}
        existing = self._run_snapshots() if ids else {}
        groups = self._run_groups() if ids and self.options.consistent else {}
        for instance in instances:
            instance_id = str(instance["InstanceId"])
            in_scope = [d for d in disks[instance_id] if _in_scope(d, self.options.disks)]
            uncovered = [d for d in in_scope if d.get("Category") in LOCAL_CATEGORIES]
            backed = [d for d in in_scope if d.get("Category") not in LOCAL_CATEGORIES]
            entries = []
            for disk in backed:
                found = existing.get(str(disk["DiskId"]), [])
                usable = None if self.options.consistent else _latest_usable(found)
                attempt = len([s for s in found if str(s.get("Status", "")).lower() == FAILED])
                entries.append(DiskBackup(disk, usable, attempt))
            backup = InstanceBackup(instance, entries, uncovered)
            if self.options.consistent:
                self._plan_group(backup, groups.get(instance_id, []), existing)
            self.backups.append(backup)
            if uncovered:
                self.warnings.append(
                    f"{instance_id}: local disk(s) {', '.join(str(d['DiskId']) for d in uncovered)} cannot be "
                    "snapshotted; their data is lost when the instance is released")
        for backup in self.backups:
            self.actions.extend(self._describe_creates(backup))

    def _plan_group(self, backup: InstanceBackup, groups: t.List[t.Dict[str, t.Any]],
                    snapshots: t.Mapping[str, t.List[t.Dict[str, t.Any]]]) -> None:
        wanted = {d.disk_id for d in backup.disks}
        covering = []
        for group in groups:
            members = (group.get("Snapshots") or {}).get("Snapshot") or []
            if wanted <= {str(m.get("SourceDiskId", "")) for m in members}:
                covering.append(group)
        # A group over another set of disks (the scope changed) is not this backup. Every earlier group
        # counts as an attempt, so the token of a new group differs from theirs and stays the same on a rerun.
        backup.group_attempt = len(groups)
        usable = _latest_usable(covering)
        if usable is None or not backup.disks:
            return
        backup.group_id = str(usable["SnapshotGroupId"])
        members = {str(m.get("SourceDiskId", "")): str(m.get("SnapshotId", ""))
                   for m in (usable.get("Snapshots") or {}).get("Snapshot") or []}
        by_id = {str(s.get("SnapshotId")): s for listed in snapshots.values() for s in listed}
        for disk in backup.disks:
            snapshot_id = members.get(disk.disk_id, "")
            # Group members carry the group's tags, so the run's listing normally has them; if not, poll them.
            disk.snapshot = by_id.get(snapshot_id) or {"SnapshotId": snapshot_id, "Status": PROGRESSING}

    def _run_snapshots(self) -> t.Dict[str, t.List[t.Dict[str, t.Any]]]:
        """Every snapshot of this run in the region, by source disk: one paged listing by the run tag."""
        found: t.Dict[str, t.List[t.Dict[str, t.Any]]] = {}
        params = {"Tag": [{"Key": RUN_TAG, "Value": self.options.run_id}]}
        for snapshot in self.client.paginate("DescribeSnapshots", params):
            found.setdefault(str(snapshot.get("SourceDiskId", "")), []).append(snapshot)
        return found

    def _run_groups(self) -> t.Dict[str, t.List[t.Dict[str, t.Any]]]:
        found: t.Dict[str, t.List[t.Dict[str, t.Any]]] = {}
        params = {"Tag": [{"Key": RUN_TAG, "Value": self.options.run_id}]}
        for group in self.client.paginate("DescribeSnapshotGroups", params):
            found.setdefault(str(group.get("InstanceId", "")), []).append(group)
        return found

    def _describe_creates(self, backup: InstanceBackup) -> t.List[str]:
        missing = backup.needs_snapshot(self.options.consistent)
        if not missing:
            return []
        if self.options.consistent:
            again = f" (attempt {backup.group_attempt + 1})" if backup.group_attempt else ""
            return [f"create a snapshot group of {backup.instance_id} over {', '.join(d.disk_id for d in missing)}"
                    f"{again}"]
        return [f"create a snapshot of {d.disk_id} ({d.disk_type}) of {backup.instance_id}"
                f"{' again, after a failed one' if d.attempt else ''}" for d in missing]

    @property
    def changes(self) -> bool:
        return any(b.needs_snapshot(self.options.consistent) for b in self.backups)

    def diff(self) -> t.Dict[str, t.Dict[str, t.Any]]:
        """Per instance that changes: each disk's snapshot of the run before, and as planned."""
        before: t.Dict[str, t.Any] = {}
        after: t.Dict[str, t.Any] = {}
        for backup in self.backups:
            missing = {d.disk_id for d in backup.needs_snapshot(self.options.consistent)}
            if not missing:
                continue
            before[backup.instance_id] = {d.disk_id: _diff_text(d) if d.disk_id not in missing else "no snapshot"
                                          for d in backup.disks}
            after[backup.instance_id] = {d.disk_id: "new snapshot" if d.disk_id in missing else _diff_text(d)
                                         for d in backup.disks}
        return {"before": before, "after": after}

    # Apply.

    def create(self) -> None:
        """Create what the plan lacks, concurrently: one call per disk, or one group per instance."""
        if self.options.consistent:
            wanting = [b for b in self.backups if b.needs_snapshot(True)]
            outcome = run_concurrently(self._create_group, wanting)
            for backup, error in outcome.failed:
                backup.group_error = error.message
                for disk in backup.disks:
                    disk.error = backup.group_error
            self._read_new_groups([done[0] for done in outcome.done])
            return
        disks = [d for b in self.backups for d in b.needs_snapshot(False)]
        outcome = run_concurrently(self._create_snapshot, disks)
        for disk, error in outcome.failed:
            disk.error = error.message

    def _create_snapshot(self, disk: DiskBackup) -> None:
        params: t.Dict[str, t.Any] = {
            "DiskId": disk.disk_id,
            "SnapshotName": f"{self.options.name_prefix}-{disk.disk_id}",
            "Description": f"Backup {self.options.run_id} by alicloud_ecs.lifecycle",
            "Tag": self.options.api_tags(),
            "ClientToken": self.options.client_token("CreateSnapshot", disk.disk_id, disk.attempt),
        }
        if self.options.retention_days:
            params["RetentionDays"] = self.options.retention_days
        answer = self.client.call("CreateSnapshot", params)
        disk.snapshot = {"SnapshotId": answer["SnapshotId"], "SnapshotName": params["SnapshotName"],
                         "Status": PROGRESSING, "Progress": "0%"}
        disk.created = True

    def _create_group(self, backup: InstanceBackup) -> None:
        if len(backup.disks) > _MAX_GROUP_DISKS:
            raise EcsError(f"{len(backup.disks)} disks, more than the {_MAX_GROUP_DISKS} a snapshot group takes; "
                           "use consistent=false")
        params = {
            "InstanceId": backup.instance_id,
            "DiskId": [d.disk_id for d in backup.disks],
            "Name": f"{self.options.name_prefix}-{backup.instance_id}",
            "Description": f"Backup {self.options.run_id} by alicloud_ecs.lifecycle",
            "Tag": self.options.api_tags(),
            "ClientToken": self.options.client_token("CreateSnapshotGroup", backup.instance_id,
                                                     backup.group_attempt),
        }
        backup.group_id = str(self.client.call("CreateSnapshotGroup", params)["SnapshotGroupId"])
        backup.group_created = True

    def _read_new_groups(self, created: t.Sequence[InstanceBackup]) -> None:
        """The member snapshots of new groups, 10 groups a call."""
        by_group = {b.group_id: b for b in created}
        for batch in batches(list(by_group), BATCH_LIMITS["DescribeSnapshotGroups"]):
            for group in self.client.paginate("DescribeSnapshotGroups", {"SnapshotGroupId": batch}):
                backup = by_group[str(group["SnapshotGroupId"])]
                members = {str(m.get("SourceDiskId", "")): str(m.get("SnapshotId", ""))
                           for m in (group.get("Snapshots") or {}).get("Snapshot") or []}
                for disk in backup.disks:
                    disk.snapshot = {"SnapshotId": members.get(disk.disk_id, ""), "Status": PROGRESSING,
                                     "Progress": "0%"}
                    disk.created = True
                    if not members.get(disk.disk_id):
                        disk.error = f"snapshot group {backup.group_id} has no snapshot of this disk"
                        disk.snapshot = None

    def _tracked(self) -> t.Dict[str, DiskBackup]:
        return {d.snapshot_id: d for b in self.backups for d in b.disks if d.snapshot_id}

    def refresh(self, snapshot_ids: t.Sequence[str]) -> t.List[str]:
        """Read the status of these snapshots, 100 ids a call; return those still progressing."""
        tracked = self._tracked()
        seen = set()
        for batch in batches(sorted(snapshot_ids), BATCH_LIMITS["DescribeSnapshots"]):
            self.polled_ids.append(len(batch))
            for snapshot in self.client.paginate("DescribeSnapshots", {"SnapshotIds": json.dumps(batch)}):
                snapshot_id = str(snapshot.get("SnapshotId", ""))
                if snapshot_id in tracked:
                    tracked[snapshot_id].snapshot = snapshot
                    seen.add(snapshot_id)
        for snapshot_id in set(snapshot_ids) - seen:
            # A snapshot of the run that vanished (deleted meanwhile) backs nothing up.
            disk = tracked[snapshot_id]
            disk.error = f"snapshot {snapshot_id} no longer exists"
            disk.snapshot = dict(disk.snapshot or {}, Status=FAILED)
        return [s for s in snapshot_ids if tracked[s].status == PROGRESSING]

    def wait(self, timeout: float) -> t.Optional[WaitTimeout]:
        """Wait until no snapshot of the run is progressing; return the timeout instead of raising it."""
        pending = [s for s, d in self._tracked().items() if d.status == PROGRESSING or d.created]
        try:
            Waiter(f"snapshots of run {self.options.run_id}", timeout).wait(pending, self.refresh)
        except WaitTimeout as timed_out:
            return timed_out
        return None

    def refresh_created(self) -> None:
        """Without waiting: one read of what was just created, so the result shows real status and progress."""
        created = [s for s, d in self._tracked().items() if d.created]
        if created:
            self.refresh(created)

    # Report.

    def result(self, selected: Selected) -> t.Dict[str, t.Any]:
        reports = [b.report(self.options.consistent) for b in self.backups]
        created = sorted(d.snapshot_id for b in self.backups for d in b.disks if d.created and d.snapshot_id)
        result: t.Dict[str, t.Any] = {
            "changed": bool(created) or any(b.group_created for b in self.backups),
            "run_id": self.options.run_id,
            "instances": reports,
            "safe_to_release": [r["id"] for r in reports if r["safe_to_release"]],
            "not_safe_to_release": [r["id"] for r in reports if not r["safe_to_release"]],
            "created_snapshot_ids": created,
            "actions": list(self.actions),
            "missing_instance_ids": selected.missing_ids,
            "unmatched_instance_ids": selected.unmatched_ids,
        }
        if self.options.consistent:
            result["created_snapshot_group_ids"] = sorted(b.group_id for b in self.backups if b.group_created)
        return result


def _diff_text(disk: DiskBackup) -> str:
    return f"{disk.snapshot_id} ({disk.status})" if disk.snapshot_id else "no snapshot"


def back_up_instances(client: EcsClient, params: t.Mapping[str, t.Any], check_mode: bool, diff: bool = False,
                      warn: t.Callable[[str], None] = lambda message: None) -> t.Dict[str, t.Any]:
    """Snapshot the selected instances as ``params`` say; raise ``EcsError`` (with the full result) on failure."""
    options = BackupOptions.from_params(params)
    selection = InstanceSelection.from_params(params)
    selection.require_some()
    selected = select_instances(client, selection)
    run = SnapshotRun(client, options)
    run.plan(selected.instances)
    for warning in run.warnings:
        warn(warning)
    planned_diff = run.diff()  # from the plan, before the creates empty it
    timed_out = None
    if not check_mode:
        run.create()
        if options.wait:
            timed_out = run.wait(options.wait_timeout)
        else:
            run.refresh_created()
    result = run.result(selected)
    if check_mode:
        result["changed"] = run.changes
    if diff:
        result["diff"] = planned_diff
    failed = [b for b in run.backups if any(d.status in (FAILED, NOT_CREATED) for d in b.disks) or b.group_error]
    if failed:
        raise EcsError(
            f"The backup of {len(failed)} instance(s) failed, so they are not safe to release: "
            + "; ".join(f"{b.instance_id} ({b.reason()})" for b in failed), result)
    if timed_out is not None:
        raise EcsError(f"{timed_out.message}. Not safe to release yet: {', '.join(result['not_safe_to_release'])}. "
                       "Rerun with the same run_id to wait again without new snapshots.", result)
    return result
