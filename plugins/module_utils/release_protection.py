# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Release protection (``DeletionProtection``): the plan for ecs_release_protection, and its one write."""

from __future__ import annotations

import typing as t

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_plan import (
    PAY_AS_YOU_GO,
    InstancePlan,
    PlannedInstance,
    auto_release_time,
    name_ids,
    utc_text,
)


def release_protection_plan(instances: t.Sequence[t.Mapping[str, t.Any]], enabled: bool) -> InstancePlan:
    """Turn release protection on (or off) for every pay-as-you-go instance that needs it.

    Subscription instances are skipped: protection applies to pay-as-you-go only, and the API
    refuses it for them. Instances left protected with a scheduled auto-release are listed,
    because protection does not stop that release.
    """
    entries = []
    for instance in instances:
        current = bool(instance.get("DeletionProtection"))
        before = {"deletion_protection": current}
        if instance.get("InstanceChargeType") != PAY_AS_YOU_GO:
            entries.append(PlannedInstance(
                instance, before, before,
                "subscription instance: release protection applies to pay-as-you-go instances only",
                skipped=True))
        elif current == enabled:
            entries.append(PlannedInstance(
                instance, before, before, f"release protection is already {_word(enabled)}"))
        else:
            entries.append(PlannedInstance(
                instance, before, {"deletion_protection": enabled}, f"release protection will be {_word(enabled)}"))

    warnings = []
    skipped = [e.instance_id for e in entries if e.skipped]
    if skipped:
        warnings.append(f"Left alone {len(skipped)} subscription instance(s), because release protection applies "
                        f"to pay-as-you-go instances only: {name_ids(skipped)}")
    scheduled = [e for e in entries if not e.skipped and e.after["deletion_protection"]
                 and auto_release_time(e.instance) is not None]
    if scheduled:
        warnings.append(
            f"{len(scheduled)} protected instance(s) have a scheduled auto-release, which release protection does "
            f"not stop; cancel it with alicloud_ecs.lifecycle.ecs_auto_release state=absent: "
            f"{name_ids([e.instance_id for e in scheduled])}")
    return InstancePlan(entries, warnings, {"auto_release_scheduled": [
        {"id": e.instance_id, "name": e.name, "auto_release_time": utc_text(auto_release_time(e.instance))}
        for e in scheduled]})


def write_release_protection(client: EcsClient, entry: PlannedInstance) -> None:
    client.call("ModifyInstanceAttribute", {
        "InstanceId": entry.instance_id,
        "DeletionProtection": entry.after["deletion_protection"],
    })


def _word(enabled: bool) -> str:
    return "enabled" if enabled else "disabled"
