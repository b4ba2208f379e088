# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one way every module chooses instances: ``instance_ids``, ``tags`` and ``name``, ANDed."""

from __future__ import annotations

import json
import re
import typing as t

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import (
    BATCH_LIMITS,
    EcsClient,
    batches,
)
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import InvalidOptionError

_INSTANCE_ID = re.compile(r"^i-[A-Za-z0-9]{2,64}$")
_MAX_TAGS = 20  # Tag.N in DescribeInstances

SELECTION_ARGUMENT_SPEC: t.Dict[str, t.Any] = {
    "instance_ids": {"type": "list", "elements": "str", "aliases": ["instance_id"]},
    "tags": {"type": "dict"},
    "name": {"type": "str"},
}


class InstanceSelection:
    """What the user selected, validated before any call is made."""

    def __init__(self, instance_ids: t.Optional[t.Sequence[str]] = None,
                 tags: t.Optional[t.Mapping[str, t.Any]] = None,
                 name: t.Optional[str] = None) -> None:
        self.instance_ids = list(dict.fromkeys(instance_ids or []))  # dedupe, keep order
        self.tags = {str(k): "" if v is None else str(v) for k, v in (tags or {}).items()}
        self.name = name or None
        self._validate()

    @classmethod
    def from_params(cls, params: t.Mapping[str, t.Any]) -> "InstanceSelection":
        return cls(params.get("instance_ids"), params.get("tags"), params.get("name"))

    def _validate(self) -> None:
        bad = [i for i in self.instance_ids if not _INSTANCE_ID.match(i)]
        if bad:
            raise InvalidOptionError("instance_ids", f"not instance ids (i-...): {', '.join(bad)}")
        if len(self.tags) > _MAX_TAGS:
            raise InvalidOptionError("tags", f"at most {_MAX_TAGS} tags, got {len(self.tags)}")
        if any(not k for k in self.tags):
            raise InvalidOptionError("tags", "tag keys must not be empty")
        if self.name is not None and not self.name.strip("*"):
            raise InvalidOptionError("name", "must contain more than wildcards")

    @property
    def is_empty(self) -> bool:
        return not (self.instance_ids or self.tags or self.name)

    @property
    def by_filter_only(self) -> bool:
        """True when instances are found by tags or name alone, so the match size is not known in advance."""
        return not self.instance_ids and not self.is_empty

    def require_some(self) -> None:
        if self.is_empty:
            raise InvalidOptionError("instance_ids", "give instance_ids, tags or name to select instances")

    def matches(self, instance: t.Mapping[str, t.Any]) -> bool:
        """Does an API instance record satisfy the tags and name (the ids were asked for already)?"""
        if self.name is not None and not _name_pattern(self.name).match(instance.get("InstanceName") or ""):
            return False
        tags = instance_tags(instance)
        return all(tags.get(k) == v for k, v in self.tags.items())

    def describe(self) -> str:
        parts = []
        if self.instance_ids:
            parts.append(f"instance_ids={self.instance_ids}")
        if self.tags:
            parts.append(f"tags={self.tags}")
        if self.name:
            parts.append(f"name={self.name!r}")
        return " and ".join(parts) or "every instance"

    def api_filters(self) -> t.Dict[str, t.Any]:
        params: t.Dict[str, t.Any] = {}
        if self.tags:
            params["Tag"] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
        if self.name:
            params["InstanceName"] = self.name
        return params


class Selected(t.NamedTuple):
    instances: t.List[t.Dict[str, t.Any]]  # API records, in the order the ids were given, or as listed
    missing_ids: t.List[str]  # explicit ids that do not exist (in this region)
    unmatched_ids: t.List[str]  # explicit ids that exist but fail the tags or name


def _name_pattern(name: str) -> t.Pattern[str]:
    # ECS treats only "*" as a wildcard; everything else is literal.
    return re.compile("^" + ".*".join(re.escape(part) for part in name.split("*")) + "$")


def instance_tags(instance: t.Mapping[str, t.Any]) -> t.Dict[str, str]:
    tags = (instance.get("Tags") or {}).get("Tag") or []
    return {tag.get("TagKey", ""): tag.get("TagValue", "") for tag in tags}


def select_instances(client: EcsClient, selection: InstanceSelection) -> Selected:
    """Resolve a selection to API instance records with as few DescribeInstances calls as possible.

    Explicit ids are looked up by id (100 a call) and then checked against the tags and name here,
    so an id that exists but does not match is reported, never silently dropped or included.
    Filters alone are sent to the API and checked again here, so nothing the user did not select
    can slip in.
    """
    if selection.instance_ids:
        found: t.Dict[str, t.Dict[str, t.Any]] = {}
        for batch in batches(selection.instance_ids, BATCH_LIMITS["DescribeInstances"]):
            for instance in client.paginate("DescribeInstances", {"InstanceIds": json.dumps(batch)}):
                found[instance["InstanceId"]] = instance
        missing = [i for i in selection.instance_ids if i not in found]
        present = [found[i] for i in selection.instance_ids if i in found]
        chosen = [i for i in present if selection.matches(i)]
        unmatched = [i["InstanceId"] for i in present if not selection.matches(i)]
        return Selected(chosen, missing, unmatched)
    listed = client.paginate("DescribeInstances", selection.api_filters())
    return Selected([i for i in listed if selection.matches(i)], [], [])
