# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Custom images of instances, one per instance, named ``<name_prefix>-<instance id>`` and found again by that name."""

from __future__ import annotations

import hashlib
import re
import typing as t

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.concurrency import run_concurrently
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient, batches
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import (
    EcsError,
    InvalidOptionError,
    WaitTimeout,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_selector import (
    InstanceSelection,
    select_instances,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.waiters import Waiter

# DescribeImages shows only Available images unless asked: a name lookup must see every status.
ALL_STATUSES = "Creating,Waiting,Available,UnAvailable,CreateFailed"
_IN_PROGRESS = ("Creating", "Waiting")
_BROKEN = ("UnAvailable", "CreateFailed")
_IMAGE_IDS_PER_CALL = 100
_NAME_PREFIX = re.compile(r"^[A-Za-z][\w.:-]{0,99}$")
_MAX_TAGS = 20

IMAGE_ARGUMENT_SPEC: t.Dict[str, t.Any] = {
    "name_prefix": {"type": "str", "required": True},
    "description": {"type": "str"},
    "image_tags": {"type": "dict", "default": {}},
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": 3600},
}


def _validate(params: t.Mapping[str, t.Any]) -> None:
    prefix = str(params.get("name_prefix") or "")
    if not _NAME_PREFIX.match(prefix) or prefix.lower().startswith(("http", "aliyun", "acs:")):
        raise InvalidOptionError(
            "name_prefix", f"{prefix!r} cannot start an image name: it must start with a letter, hold at most 100 "
                           "letters, digits, '.', '_', ':' or '-', and not start with http, aliyun or acs:")
    tags = params.get("image_tags") or {}
    if len(tags) > _MAX_TAGS or any(not k for k in tags):
        raise InvalidOptionError("image_tags", f"at most {_MAX_TAGS} tags with non-empty keys")
    if (params.get("wait_timeout") or 0) < 1:
        raise InvalidOptionError("wait_timeout", "must be at least 1 second")


class InstanceImage:
    """One selected instance and the image of it, found by name or to be created."""

    def __init__(self, instance: t.Mapping[str, t.Any], name: str) -> None:
        self.instance = instance
        self.name = name
        self.image: t.Optional[t.Dict[str, t.Any]] = None
        self.created = False
        self.error = ""

    @property
    def instance_id(self) -> str:
        return str(self.instance.get("InstanceId", ""))

    @property
    def image_id(self) -> str:
        return str((self.image or {}).get("ImageId", ""))

    @property
    def status(self) -> str:
        if self.image:
            return str(self.image.get("Status", ""))
        return "NotCreated" if self.error else "Planned"

    def problem(self) -> str:
        if self.error:
            return self.error
        return f"image {self.image_id} named {self.name} is {self.status}; delete it or use another name_prefix"

    def report(self) -> t.Dict[str, t.Any]:
        return {
            "id": self.instance_id,
            "name": self.instance.get("InstanceName", ""),
            "image_id": self.image_id or None,
            "image_name": self.name,
            "status": self.status,
            "progress": (self.image or {}).get("Progress") or "0%",
            "created": self.created,
            "error": self.error,
        }


class ImageRun:
    def __init__(self, client: EcsClient, params: t.Mapping[str, t.Any]) -> None:
        self.client = client
        self.params = params
        self.entries: t.List[InstanceImage] = []

    def plan(self, instances: t.Sequence[t.Mapping[str, t.Any]]) -> None:
        self.entries = [InstanceImage(i, f"{self.params['name_prefix']}-{i['InstanceId']}") for i in instances]
        outcome = run_concurrently(self._find, self.entries)
        if outcome.failed:
            raise outcome.failed[0][1]

    def _find(self, entry: InstanceImage) -> None:
        found = list(self.client.paginate("DescribeImages", {
            "ImageName": entry.name, "ImageOwnerAlias": "self", "Status": ALL_STATUSES}))
        entry.image = found[0] if found else None

    @property
    def missing(self) -> t.List[InstanceImage]:
        return [e for e in self.entries if e.image is None]

    def create(self) -> None:
        outcome = run_concurrently(self._create, self.missing)
        for entry, error in outcome.failed:
            entry.error = error.message

    def _create(self, entry: InstanceImage) -> None:
        token = hashlib.sha256(f"CreateImage\0{entry.name}\0{entry.instance_id}".encode()).hexdigest()[:48]
        params: t.Dict[str, t.Any] = {
            "InstanceId": entry.instance_id,
            "ImageName": entry.name,
            "Description": self.params.get("description") or f"Image of {entry.instance_id} by alicloud_ecs.lifecycle",
            "ClientToken": f"lifecycle-{token}",
        }
        tags = self.params.get("image_tags") or {}
        if tags:
            params["Tag"] = [{"Key": str(k), "Value": "" if v is None else str(v)} for k, v in tags.items()]
        image_id = self.client.call("CreateImage", params)["ImageId"]
        entry.image = {"ImageId": image_id, "ImageName": entry.name, "Status": "Creating", "Progress": "0%"}
        entry.created = True

    def refresh(self, image_ids: t.Sequence[str]) -> t.List[str]:
        """Read these images, 100 ids a call; return those still being created."""
        by_id = {e.image_id: e for e in self.entries if e.image_id}
        for batch in batches(sorted(image_ids), _IMAGE_IDS_PER_CALL):
            for image in self.client.paginate("DescribeImages", {
                    "ImageId": ",".join(batch), "ImageOwnerAlias": "self", "Status": ALL_STATUSES}):
                if str(image.get("ImageId")) in by_id:
                    by_id[str(image["ImageId"])].image = image
        return [i for i in image_ids if by_id[i].status in _IN_PROGRESS]

    def wait(self, timeout: float) -> t.Optional[WaitTimeout]:
        pending = [e.image_id for e in self.entries if e.image_id and (e.created or e.status in _IN_PROGRESS)]
        try:
            Waiter("images to become Available", timeout).wait(pending, self.refresh)
        except WaitTimeout as timed_out:
            return timed_out
        return None

    def diff(self) -> t.Dict[str, t.Dict[str, t.Any]]:
        missing = self.missing
        return {"before": {e.instance_id: {"image": None} for e in missing},
                "after": {e.instance_id: {"image": e.name} for e in missing}}


def image_instances(client: EcsClient, params: t.Mapping[str, t.Any], check_mode: bool,
                    diff: bool = False) -> t.Dict[str, t.Any]:
    """An image per selected instance; raise ``EcsError`` (with the full result) when one is not Available."""
    _validate(params)
    selection = InstanceSelection.from_params(params)
    selection.require_some()
    selected = select_instances(client, selection)
    run = ImageRun(client, params)
    run.plan(selected.instances)
    actions = [f"create image {e.name} of {e.instance_id}" for e in run.missing]
    planned_diff = run.diff()
    timed_out = None
    if not check_mode:
        run.create()
        if params.get("wait", True):
            timed_out = run.wait(params["wait_timeout"])
    reports = [e.report() for e in run.entries]
    result: t.Dict[str, t.Any] = {
        "changed": bool(actions) if check_mode else any(e.created for e in run.entries),
        "instances": reports,
        "created_image_ids": sorted(e.image_id for e in run.entries if e.created),
        "actions": actions,
        "missing_instance_ids": selected.missing_ids,
        "unmatched_instance_ids": selected.unmatched_ids,
    }
    if diff:
        result["diff"] = planned_diff
    broken = [e for e in run.entries if e.error or e.status in _BROKEN]
    if broken:
        raise EcsError("No usable image for " + "; ".join(f"{e.instance_id} ({e.problem()})" for e in broken), result)
    if timed_out is not None:
        raise EcsError(f"{timed_out.message}. Rerun with the same name_prefix to wait again without new images.",
                       result)
    return result
