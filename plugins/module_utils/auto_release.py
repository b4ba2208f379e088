# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Scheduled release (``ModifyInstanceAutoReleaseTime``): the wanted time, the plan for ecs_auto_release, and its write."""

from __future__ import annotations

import re
import typing as t
from datetime import datetime, timedelta, timezone

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import InvalidOptionError
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.instance_plan import (
    PAY_AS_YOU_GO,
    InstancePlan,
    PlannedInstance,
    PlanRefused,
    auto_release_time,
    name_ids,
    utc_text,
)

# The API's bounds, checked against the minute the request arrives in (ecs-api.md).
EARLIEST_AHEAD = timedelta(minutes=30)
LATEST_AHEAD = timedelta(days=3 * 365)

_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")


def parse_duration(option: str, text: str) -> timedelta:
    """``90m``, ``36h``, ``14d``, ``1d12h``: days, hours and minutes, in that order."""
    value = str(text).strip().lower()
    match = _DURATION.match(value)
    if not value or not match:
        raise InvalidOptionError(option, f"{text!r} is not a duration such as 90m, 36h, 14d or 1d12h")
    return timedelta(days=int(match["d"] or 0), hours=int(match["h"] or 0), minutes=int(match["m"] or 0))


def floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def parse_release_time(text: str) -> datetime:
    """An ISO 8601 time with an offset or ``Z``, in UTC and rounded down to the minute as the API does."""
    value = str(text).strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"  # fromisoformat takes "Z" only from Python 3.11
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidOptionError(
            "release_time", f"{text!r} is not an ISO 8601 time such as 2026-12-01T18:00:00+08:00") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidOptionError(
            "release_time", f"{text!r} has no UTC offset; add one (Z, +08:00, ...) so the time is not a guess")
    return floor_minute(moment.astimezone(timezone.utc))


def wanted_release_time(release_time: t.Optional[str], release_in: t.Optional[str], now: datetime) -> datetime:
    """The UTC minute to release at, from ``release_time`` or ``release_in``, within the API's bounds from ``now``."""
    if release_time:
        option, given = "release_time", release_time
        moment = parse_release_time(release_time)
    elif release_in:
        option, given = "release_in", release_in
        moment = floor_minute(now + parse_duration("release_in", release_in))
    else:
        raise InvalidOptionError("release_time", "state=present needs release_time or release_in")
    earliest = floor_minute(now) + EARLIEST_AHEAD
    latest = now + LATEST_AHEAD
    problem = ""
    if moment <= now:
        problem = "which is in the past"
    elif moment < earliest:
        problem = f"less than 30 minutes ahead (the earliest is {utc_text(earliest)})"
    elif moment > latest:
        problem = f"more than 3 years ahead (the latest is {utc_text(floor_minute(latest))})"
    if problem:
        raise InvalidOptionError(option, f"{given!r} is {utc_text(moment)} UTC, {problem}")
    return moment


def auto_release_plan(instances: t.Sequence[t.Mapping[str, t.Any]], wanted: t.Optional[datetime],
                      tolerance: timedelta = timedelta(minutes=5), allow_protected: bool = False) -> InstancePlan:
    """Schedule release at ``wanted`` for every selected instance, or cancel it (``wanted=None``).

    A schedule within ``tolerance`` of ``wanted`` is left as it is, so rerunning a relative time is a no-op.
    Refuses, before any write, to schedule subscription instances (the API cannot) and instances with
    release protection on (the scheduled release would ignore it) unless ``allow_protected``.
    """
    entries = []
    for instance in instances:
        current = auto_release_time(instance)
        before = {"auto_release_time": utc_text(current)}
        if instance.get("InstanceChargeType") != PAY_AS_YOU_GO:
            reason = "subscription instance: auto-release applies to pay-as-you-go instances only"
            entries.append(PlannedInstance(instance, before, before, reason, skipped=True))
        elif wanted is None:
            if current is None:
                entries.append(PlannedInstance(instance, before, before, "no auto-release is scheduled"))
            else:
                entries.append(PlannedInstance(instance, before, {"auto_release_time": ""},
                                               f"the auto-release at {utc_text(current)} will be cancelled"))
        elif current is not None and abs(current - wanted) <= tolerance:
            entries.append(PlannedInstance(instance, before, before,
                                           f"already scheduled within {tolerance} of {utc_text(wanted)}"))
        else:
            reason = f"auto-release will be set to {utc_text(wanted)}"
            if current is not None:
                reason += f" (was {utc_text(current)})"
            entries.append(PlannedInstance(instance, before, {"auto_release_time": utc_text(wanted)}, reason))

    warnings = []
    if wanted is not None:
        subscriptions = [e.instance for e in entries if e.skipped]
        if subscriptions:
            raise PlanRefused(
                "Subscription instances cannot be scheduled for release (auto-release applies to pay-as-you-go "
                "instances only)", subscriptions,
                "Narrow the selection, or switch them to pay-as-you-go first.")
        protected = [e.instance for e in entries if e.instance.get("DeletionProtection")]
        if protected and not allow_protected:
            raise PlanRefused(
                "Release protection is on for these instances, and it does not stop a scheduled auto-release: "
                "scheduling would release them anyway", protected,
                "Set allow_protected=true if that is what you want.")
        if protected:
            ids = [str(i.get("InstanceId", "")) for i in protected]
            warnings.append(f"{len(ids)} instance(s) with release protection on will be released at "
                            f"{utc_text(wanted)} all the same (allow_protected=true): {name_ids(ids)}")
    return InstancePlan(entries, warnings)


def write_auto_release(client: EcsClient, entry: PlannedInstance) -> None:
    params = {"InstanceId": entry.instance_id}
    if entry.after["auto_release_time"]:
        params["AutoReleaseTime"] = entry.after["auto_release_time"]  # omitted: cancel
    client.call("ModifyInstanceAutoReleaseTime", params)
