"""Instances: describe, start/stop, attributes, auto-release, charge type, release.

Status transitions run on the event queue: a change sets ``status_path`` (the statuses still to come)
and schedules one event per step, so only instances in motion cost anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ecs_emulator.errors import ApiError, missing_parameter
from ecs_emulator.world.model import (
    PAY_AS_YOU_GO,
    SUBSCRIPTION,
    Instance,
)
from ecs_emulator.world.paging import PagingRules, paginate
from ecs_emulator.world.params import Params, stop_if_dry_run
from ecs_emulator.world.regions import RegionState
from ecs_emulator.world.registry import on_event, operation
from ecs_emulator.world.views import render_instance, render_instance_attribute
from ecs_emulator.world.world import World, instance_not_found

STATUSES = ("Pending", "Starting", "Running", "Stopping", "Stopped")
CHARGE_TYPES = (PAY_AS_YOU_GO, SUBSCRIPTION)
_AUTO_RELEASE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$")
_MIN_AUTO_RELEASE = 30 * 60
_MAX_AUTO_RELEASE = 3 * 365 * 86400
_MAX_CHARGE_TYPE_IDS = 20


def _incorrect_status(instance: Instance) -> ApiError:
    return ApiError(403, "IncorrectInstanceStatus", "The current status of the resource does not support this operation.")


def _charge_type_violation(status: int = 403) -> ApiError:
    return ApiError(status, "ChargeTypeViolation", "The operation is not permitted due to charge type of the instance.")


def is_expired(instance: Instance, now: float) -> bool:
    return instance.charge_type == SUBSCRIPTION and instance.expired_time is not None and instance.expired_time <= now


# ----------------------------------------------------------------- status machine

def set_status(world: World, region: RegionState, instance: Instance, status: str, path: list[str] | None = None) -> None:
    """Show ``status`` now and move through ``path``, one step per ``status_seconds``."""
    path = list(path or [])
    step = world.settings.status_seconds
    while path and step == 0:
        status = path.pop(0)
    region.instances.set(instance, "status", status)
    instance.status_path = path
    instance.status_due = world.now() + step if path else None
    if instance.status_due is not None:
        world.schedule(instance.status_due, "status", region.info.region_id, instance.id)
    if status == "Running" and not path:
        instance.start_time = world.now()
    world.touch("instances", region.info.region_id, instance.id)


@on_event("status")
def _status_step(world: World, region_id: str, instance_id: str, due: float) -> None:
    region = world.regions.get(region_id)
    instance = region.instances.get(instance_id) if region else None
    if region is None or instance is None or instance.status_due != due or not instance.status_path:
        return
    status = instance.status_path.pop(0)
    region.instances.set(instance, "status", status)
    if instance.status_path:
        instance.status_due = due + world.settings.status_seconds
        world.schedule(instance.status_due, "status", region_id, instance_id)
    else:
        instance.status_due = None
        if status == "Running":
            instance.start_time = due
    world.touch("instances", region_id, instance_id)


def schedule_instance_events(world: World, instance: Instance) -> None:
    """(Re)create the events an instance's fields imply: after a fleet load or a restart."""
    region = instance.region
    if instance.status_due is not None:
        world.schedule(instance.status_due, "status", region, instance.id)
    if instance.auto_release_time is not None:
        world.schedule(instance.auto_release_time, "auto_release", region, instance.id)
    if instance.charge_type == SUBSCRIPTION and instance.expired_time is not None and "financial" not in instance.locks:
        world.schedule(instance.expired_time, "expire", region, instance.id)
    if instance.charge_switch_due is not None:
        world.schedule(instance.charge_switch_due, "charge_switch", region, instance.id)
    if instance.released_at is not None:
        world.schedule(instance.released_at + world.settings.release_lag_seconds, "release_lag", region, instance.id)


@on_event("expire")
def _expire(world: World, region_id: str, instance_id: str, due: float) -> None:
    """A subscription past its ExpiredTime stops and carries a ``financial`` lock."""
    region = world.regions.get(region_id)
    instance = region.instances.get(instance_id) if region else None
    if instance is None or instance.expired_time != due or instance.charge_type != SUBSCRIPTION:
        return
    expire_now(world, region, instance)


def expire_now(world: World, region: RegionState, instance: Instance) -> None:
    region.instances.set(instance, "status", "Stopped")
    instance.status_path, instance.status_due = [], None
    instance.stopped_mode = "KeepCharging"
    if "financial" not in instance.locks:
        instance.locks.append("financial")
    instance.auto_release_time = None
    world.touch("instances", region.info.region_id, instance.id)


# ----------------------------------------------------------------- describe

def _target(world: World, params: Params, *, not_found: Callable[[str], ApiError] = instance_not_found) -> tuple[RegionState, Instance]:
    """The instance named by ``InstanceId``, in ``RegionId`` when given (it is optional for these calls)."""
    instance_id = params.str("InstanceId", required=True)
    if params.has("RegionId"):
        region = world.region(params)
        instance = region.instances.get(instance_id)
    else:
        try:
            region, instance = world.locate_instance(instance_id)
        except ApiError:
            instance = None
    if instance is None or instance.released_at is not None:
        raise not_found(instance_id)
    return region, instance


def _name_matcher(pattern: str) -> Callable[[Instance], bool]:
    # Only ``*`` is a wildcard for the API; escape everything else fnmatch would interpret.
    regex = re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.DOTALL)
    return lambda instance: regex.match(instance.name) is not None


@operation("DescribeInstances", write=False)
def describe_instances(world: World, params: Params) -> dict[str, Any]:
    region = world.region(params)
    ids = params.list("InstanceIds", json_name="InstanceIds", limit=100) if params.has("InstanceIds") else None
    equal: dict[str, list[str]] = {}
    status = params.str("Status")
    if status:
        if status not in STATUSES:
            raise ApiError(404, "InvalidStatus.NotFound", f"The specified Status \"{status}\" is not found.")
        equal["status"] = [status]
    charge_type = params.str("InstanceChargeType")
    if charge_type:
        if charge_type not in CHARGE_TYPES:
            raise ApiError(404, "InvalidInstanceChargeType.NotFound", f"The InstanceChargeType \"{charge_type}\" does not exist.")
        equal["charge_type"] = [charge_type]
    for param, attribute in (("ZoneId", "zone"), ("VpcId", "vpc_id"), ("InstanceType", "instance_type"),
                             ("ImageId", "image_id")):
        if params.has(param):
            equal[attribute] = [params.str(param)]
    where = _name_matcher(params.str("InstanceName")) if params.has("InstanceName") else None
    matches = region.instances.select(ids=ids, equal=equal, tags=params.tags(), where=where)
    page = paginate(params, matches)
    now = world.now()
    rows = region.instances.rows
    return {
        **page.envelope("TotalCount", "PageNumber", "PageSize", "NextToken"),
        "Instances": {"Instance": [render_instance(world, region, rows[i], now) for i in page.ids]},
    }


@operation("DescribeInstanceAttribute", write=False)
def describe_instance_attribute(world: World, params: Params) -> dict[str, Any]:
    region, instance = _target(world, params)
    return render_instance_attribute(world, region, instance, world.now())


@operation("DescribeInstanceStatus", write=False)
def describe_instance_status(world: World, params: Params) -> dict[str, Any]:
    region = world.region(params)
    ids = params.list("InstanceId", limit=100) or None
    equal = {"zone": [params.str("ZoneId")]} if params.has("ZoneId") else None
    matches = region.instances.select(ids=ids, equal=equal)
    page = paginate(params, matches, PagingRules(max_page_size=50, tokens=False))
    rows = region.instances.rows
    return {
        **page.envelope("TotalCount", "PageNumber", "PageSize"),
        "InstanceStatuses": {"InstanceStatus": [{"InstanceId": i, "Status": rows[i].status} for i in page.ids]},
    }


# ----------------------------------------------------------------- start / stop

def _start_refusal(world: World, instance: Instance) -> ApiError | None:
    if is_expired(instance, world.now()):
        return ApiError(403, "InstanceExpiredOrInArrears", "The specified operation is denied as your instance is expired or in arrears.")
    if instance.status != "Stopped":
        return _incorrect_status(instance)
    return None


def _stop_refusal(world: World, instance: Instance) -> ApiError | None:
    if is_expired(instance, world.now()):
        return ApiError(403, "InstanceExpiredOrInArrears", "The specified operation is denied as your instance is expired or in arrears.")
    if instance.status != "Running":
        return _incorrect_status(instance)
    return None


def _start(world: World, region: RegionState, instance: Instance, params: Params) -> None:
    instance.stopped_mode = ""
    set_status(world, region, instance, "Starting", ["Running"])


def _stop(world: World, region: RegionState, instance: Instance, params: Params) -> None:
    mode = params.choice("StoppedMode", ("KeepCharging", "StopCharging"), default="KeepCharging")
    instance.stopped_mode = mode if instance.charge_type == PAY_AS_YOU_GO else "KeepCharging"
    set_status(world, region, instance, "Stopping", ["Stopped"])


_POWER = {
    "Start": (_start_refusal, _start),
    "Stop": (_stop_refusal, _stop),
}


def _power_one(world: World, params: Params, verb: str) -> dict[str, Any]:
    refusal, act = _POWER[verb]
    region, instance = _target(world, params)
    if verb == "Stop":
        params.choice("StoppedMode", ("KeepCharging", "StopCharging"))
    error = refusal(world, instance)
    if error:
        raise error
    stop_if_dry_run(params)
    act(world, region, instance, params)
    return {}


def _power_many(world: World, params: Params, verb: str) -> dict[str, Any]:
    """Start/StopInstances: ``AllTogether`` refuses the call on any refusal; ``SuccessFirst`` reports each."""
    refusal, act = _POWER[verb]
    region = world.region(params)
    ids = params.list("InstanceId", limit=100)
    if not ids:
        raise missing_parameter("InstanceId")
    mode = params.choice("BatchOptimization", ("AllTogether", "SuccessFirst"), default="AllTogether")
    if verb == "Stop":
        params.choice("StoppedMode", ("KeepCharging", "StopCharging"))
    instances = [(i, region.instances.get(i)) for i in ids]
    errors: dict[str, ApiError] = {}
    for instance_id, instance in instances:
        error = instance_not_found(instance_id) if instance is None or instance.released_at is not None else refusal(world, instance)
        if error:
            if mode == "AllTogether":
                raise error
            errors[instance_id] = error
    stop_if_dry_run(params)
    responses = []
    for instance_id, instance in instances:
        previous = instance.status if instance else ""
        if instance_id in errors:
            error = errors[instance_id]
            responses.append({"InstanceId": instance_id, "Code": error.code, "Message": error.message,
                              "PreviousStatus": previous, "CurrentStatus": previous})
            continue
        act(world, region, instance, params)
        responses.append({"InstanceId": instance_id, "Code": "200", "Message": "success",
                          "PreviousStatus": previous, "CurrentStatus": instance.status})
    return {"InstanceResponses": {"InstanceResponse": responses}}


for _verb in _POWER:
    operation(f"{_verb}Instance", write=True)(lambda world, params, verb=_verb: _power_one(world, params, verb))
    operation(f"{_verb}Instances", write=True)(lambda world, params, verb=_verb: _power_many(world, params, verb))


# ----------------------------------------------------------------- attributes

_NAME = re.compile(r"^[^\W\d_][\w.:\-]{1,127}$")


@operation("ModifyInstanceAttribute", write=True)
def modify_instance_attribute(world: World, params: Params) -> dict[str, Any]:
    region, instance = _target(world, params)
    name = params.str("InstanceName")
    if name and (not _NAME.match(name) or name.startswith(("http://", "https://"))):
        raise ApiError(400, "InvalidInstanceName.Malformed", "The specified parameter \"InstanceName\" is not valid.")
    description = params.str("Description")
    if len(description) > 256:
        raise ApiError(400, "InvalidDescription.Malformed", "The specified parameter \"Description\" is not valid.")
    protection = params.optional_bool("DeletionProtection")
    if protection is not None and instance.charge_type != PAY_AS_YOU_GO:
        # Release protection exists for pay-as-you-go instances only (status 400 per the API reference).
        raise _charge_type_violation(400)
    if name:
        instance.name = name
    if params.has("Description"):
        instance.description = description
    if params.has("HostName"):
        instance.host_name = params.str("HostName")
    if protection is not None:
        instance.deletion_protection = protection
    world.touch("instances", region.info.region_id, instance.id)
    return {}


def _parse_auto_release_time(text: str, now: float) -> float:
    malformed = ApiError(400, "InvalidAutoReleaseTime.Malformed", "The specified parameter autoReleaseTime is not valid.")
    if not _AUTO_RELEASE_FORMAT.match(text):
        raise malformed
    try:
        moment = datetime.strptime(text[:16], "%Y-%m-%dT%H:%M").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise malformed from None
    # Seconds are dropped (rounded down to the minute); the bounds apply to the rounded time.
    current_minute = now - now % 60
    if moment < current_minute + _MIN_AUTO_RELEASE or moment > now + _MAX_AUTO_RELEASE:
        raise malformed
    return moment


@operation("ModifyInstanceAutoReleaseTime", write=True)
def modify_instance_auto_release_time(world: World, params: Params) -> dict[str, Any]:
    region, instance = _target(world, params, not_found=lambda _: ApiError(404, "NoSuchResource", "The specified resource is not found."))
    text = params.str("AutoReleaseTime")
    moment = _parse_auto_release_time(text, world.now()) if text else None
    if instance.charge_type != PAY_AS_YOU_GO:
        raise _charge_type_violation()
    instance.auto_release_time = moment
    if moment is not None:
        world.schedule(moment, "auto_release", region.info.region_id, instance.id)
    world.touch("instances", region.info.region_id, instance.id)
    return {}


@on_event("auto_release")
def _auto_release(world: World, region_id: str, instance_id: str, due: float) -> None:
    """A scheduled release fires whatever the status and even with release protection on."""
    region = world.regions.get(region_id)
    instance = region.instances.get(instance_id) if region else None
    if instance is None or instance.released_at is not None or instance.auto_release_time != due:
        return
    release_instance(world, region, instance, "auto_release")


# ----------------------------------------------------------------- charge type

@operation("ModifyInstanceChargeType", write=True, client_token=True)
def modify_instance_charge_type(world: World, params: Params) -> dict[str, Any]:
    region = world.region(params)
    if not params.has("InstanceIds"):
        raise missing_parameter("InstanceIds")
    ids = params.list("InstanceIds", json_name="InstanceIds", limit=10_000, code="InvalidParameter.InstanceIds")
    if not ids:
        raise ApiError(400, "InvalidParameter.InstanceIds", "The specified parameter \"InstanceIds\" is not valid.")
    if len(ids) > _MAX_CHARGE_TYPE_IDS:
        raise ApiError(400, "InstancesIdQuotaExceed", f"The maximum number of instances is {_MAX_CHARGE_TYPE_IDS}.")
    # Faithful to the API: an omitted InstanceChargeType means PrePaid (subscription).
    target = params.choice("InstanceChargeType", CHARGE_TYPES, default=SUBSCRIPTION,
                           code="InvalidInstanceChargeType.ValueNotSupported")
    period = params.int("Period", 1, high=60)
    unit = params.choice("PeriodUnit", ("Month", "Week"), default="Month")
    now = world.now()
    instances = []
    for instance_id in ids:
        instance = world.find_instance(region, instance_id)
        if is_expired(instance, now):
            raise ApiError(400, "ExpiredInstance", "The specified instance has expired.")
        if (instance.charge_switch or instance.charge_type) == target:
            raise _charge_type_violation()  # assumption: switching to the current charge type is refused
        if instance.status not in ("Running", "Stopped"):
            raise _incorrect_status(instance)
        instances.append(instance)
    stop_if_dry_run(params)
    term = period * (7 if unit == "Week" else 30) * 86400
    for instance in instances:
        _switch_charge_type(world, region, instance, target, term)
    return {
        "OrderId": str(world.rng.randrange(10**14, 10**15)),
        "FeeOfInstances": {"FeeOfInstance": [{"InstanceId": i.id, "Fee": "0", "Currency": "CNY"} for i in instances]},
    }


def _switch_charge_type(world: World, region: RegionState, instance: Instance, target: str, term: float) -> None:
    delay = world.settings.charge_type_seconds
    if delay == 0:
        _apply_charge_type(world, region, instance, target, world.now() + term)
        return
    instance.charge_switch = target
    instance.charge_switch_due = world.now() + delay
    # Assumption: a delayed switch to subscription buys the default one-month term when it lands.
    world.schedule(instance.charge_switch_due, "charge_switch", region.info.region_id, instance.id)
    world.touch("instances", region.info.region_id, instance.id)


@on_event("charge_switch")
def _charge_switch_lands(world: World, region_id: str, instance_id: str, due: float) -> None:
    region = world.regions.get(region_id)
    instance = region.instances.get(instance_id) if region else None
    if instance is None or instance.charge_switch_due != due:
        return
    _apply_charge_type(world, region, instance, instance.charge_switch, due + 30 * 86400)


def _apply_charge_type(world: World, region: RegionState, instance: Instance, target: str, expires: float) -> None:
    region.instances.set(instance, "charge_type", target)
    instance.charge_switch, instance.charge_switch_due = "", None
    if target == PAY_AS_YOU_GO:
        instance.expired_time = None
    else:
        instance.expired_time = expires
        instance.auto_release_time = None  # subscriptions cannot auto-release
        world.schedule(expires, "expire", region.info.region_id, instance.id)
    world.touch("instances", region.info.region_id, instance.id)


# ----------------------------------------------------------------- release

def release_refusal(world: World, instance: Instance, *, force: bool, terminate_subscription: bool) -> ApiError | None:
    """Why a manual release is refused, checked in this order (assumption: the real precedence is undocumented)."""
    if "security" in instance.locks:
        return ApiError(403, "InstanceLockedForSecurity", "The specified operation is denied as your instance is locked for security reasons.")
    if instance.deletion_protection:
        return ApiError(403, "InvalidOperation.DeletionProtection",
                        "The specified instance has enabled release protection, so it cannot be released.")
    if instance.charge_type == SUBSCRIPTION and not (is_expired(instance, world.now()) and terminate_subscription):
        return _charge_type_violation()
    if instance.status in ("Pending", "Starting"):
        return ApiError(403, "IncorrectInstanceStatus.Initializing", "The instance is initializing; please try again later.")
    if instance.status == "Stopped" or (force and instance.status in ("Running", "Stopping")):
        return None
    return _incorrect_status(instance)


def release_instance(world: World, region: RegionState, instance: Instance, how: str) -> None:
    """Release an instance and what goes with it; data disks not set to go stay as portable pay-as-you-go disks."""
    from ecs_emulator.world.disks import release_instance_disks
    from ecs_emulator.world.eips import unbind_eip

    region_id = region.info.region_id
    release_instance_disks(world, region, instance, how)
    if instance.eip_id:
        unbind_eip(world, region, instance.eip_id)
    world.log_release("instance", region_id, instance.id, how, name=instance.name,
                      lost_public_ip=instance.public_ip)
    lag = world.settings.release_lag_seconds
    if lag > 0:
        # Still listed for a while (as Stopped), like the real API's eventual consistency; no longer operable.
        instance.released_at = world.now()
        instance.eip_id, instance.public_ip, instance.auto_release_time = "", "", None
        region.instances.set(instance, "status", "Stopped")
        instance.status_path, instance.status_due = [], None
        world.schedule(instance.released_at + lag, "release_lag", region_id, instance.id)
    else:
        region.instances.remove(instance.id)
    world.touch("instances", region_id, instance.id)


@on_event("release_lag")
def _release_lag_over(world: World, region_id: str, instance_id: str, due: float) -> None:
    region = world.regions.get(region_id)
    if region is not None and instance_id in region.instances:
        region.instances.remove(instance_id)
        world.touch("instances", region_id, instance_id)


def _release_flags(params: Params) -> dict[str, bool]:
    params.bool("ForceStop", True)  # validated only: every forced release here stops at once
    return {"force": params.bool("Force"), "terminate_subscription": params.bool("TerminateSubscription")}


@operation("DeleteInstance", write=True)
def delete_instance(world: World, params: Params) -> dict[str, Any]:
    instance_id = params.str("InstanceId", required=True)
    flags = _release_flags(params)
    region, instance = world.locate_instance(instance_id)
    error = release_refusal(world, instance, **flags)
    if error:
        raise error
    stop_if_dry_run(params)
    release_instance(world, region, instance, "manual")
    return {}


@operation("DeleteInstances", write=True, client_token=True)
def delete_instances(world: World, params: Params) -> dict[str, Any]:
    """Assumption: every id is checked first; on any refusal nothing is released (one error code per call)."""
    region = world.region(params)
    ids = params.list("InstanceId", limit=100)
    if not ids:
        raise missing_parameter("InstanceId")
    flags = _release_flags(params)
    instances = [world.find_instance(region, instance_id) for instance_id in ids]
    for instance in instances:
        error = release_refusal(world, instance, **flags)
        if error:
            raise error
    stop_if_dry_run(params)
    for instance in instances:
        release_instance(world, region, instance, "manual")
    return {}
