"""Status transitions, start/stop, attributes, auto-release time rules, charge type switches, expiry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from ecs_emulator.world import World
from world_support import (
    BATCH_OLD_1,
    BATCH_OLD_4,
    CACHE_SUB_SH,
    DB_PROD_1,
    DEV_SANDBOX,
    HZ,
    LOADTEST,
    REPORT_LEGACY,
    WEB_PROD_1,
    describe,
    make_world,
    refused,
)


def at(world: World, seconds: float, *, with_seconds: bool = True) -> str:
    moment = datetime.fromtimestamp(world.clock.now(), tz=UTC) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ" if with_seconds else "%Y-%m-%dT%H:%MZ")


def test_stop_then_start_walks_through_transitions(world: World) -> None:
    world.configure(status_seconds=10)
    world.call("StopInstance", {"InstanceId": BATCH_OLD_4})
    assert describe(world, BATCH_OLD_4)["Status"] == "Stopping"
    world.advance(10)
    assert describe(world, BATCH_OLD_4)["Status"] == "Stopped"
    body = world.call("StartInstances", {**HZ, "InstanceId.1": BATCH_OLD_4, "InstanceId.2": BATCH_OLD_1})
    responses = body["InstanceResponses"]["InstanceResponse"]
    assert [(r["PreviousStatus"], r["CurrentStatus"], r["Code"]) for r in responses] == [
        ("Stopped", "Starting", "200"), ("Stopped", "Starting", "200")]
    world.advance(5)
    assert describe(world, BATCH_OLD_1)["Status"] == "Starting"
    world.advance(5)
    assert describe(world, BATCH_OLD_1)["Status"] == "Running"


def test_pending_fleet_instance_becomes_running() -> None:
    world = make_world({"settings": {"status_seconds": 4},
                        "regions": {"cn-hangzhou": {"instances": [{"name": "new-1", "id": "i-new1", "status": "Pending"}]}}})
    assert describe(world, "i-new1")["Status"] == "Pending"
    world.advance(4)
    assert describe(world, "i-new1")["Status"] == "Starting"
    world.advance(4)
    assert describe(world, "i-new1")["Status"] == "Running"


def test_start_stop_refusals(world: World) -> None:
    error = refused(world, "StartInstance", {"InstanceId": WEB_PROD_1})
    assert (error.status, error.code) == (403, "IncorrectInstanceStatus")
    assert refused(world, "StartInstance", {"InstanceId": REPORT_LEGACY}).code == "InstanceExpiredOrInArrears"
    assert refused(world, "StopInstances", {**HZ, "InstanceId.1": WEB_PROD_1, "InstanceId.2": BATCH_OLD_1}).code == \
        "IncorrectInstanceStatus"
    assert describe(world, WEB_PROD_1)["Status"] == "Running"  # AllTogether: nothing stopped
    body = world.call("StopInstances", {**HZ, "InstanceId.1": WEB_PROD_1, "InstanceId.2": BATCH_OLD_1,
                                        "BatchOptimization": "SuccessFirst"})
    assert [r["Code"] for r in body["InstanceResponses"]["InstanceResponse"]] == ["200", "IncorrectInstanceStatus"]


def test_modify_instance_attribute(world: World) -> None:
    world.call("ModifyInstanceAttribute", {**HZ, "InstanceId": DEV_SANDBOX, "DeletionProtection": "false",
                                           "InstanceName": "dev-sandbox-renamed", "Description": "for alice"})
    shown = describe(world, DEV_SANDBOX)
    assert (shown["DeletionProtection"], shown["InstanceName"], shown["Description"]) == (False, "dev-sandbox-renamed", "for alice")
    world.call("DeleteInstance", {"InstanceId": DEV_SANDBOX})
    error = refused(world, "ModifyInstanceAttribute", {**HZ, "InstanceId": DB_PROD_1, "DeletionProtection": "true"})
    assert (error.status, error.code) == (400, "ChargeTypeViolation")
    assert refused(world, "ModifyInstanceAttribute", {**HZ, "InstanceId": "i-nope"}).code == "InvalidInstanceId.NotFound"
    assert refused(world, "ModifyInstanceAttribute", {**HZ, "InstanceId": WEB_PROD_1, "InstanceName": "1bad"}).code == \
        "InvalidInstanceName.Malformed"
    assert refused(world, "ModifyInstanceAttribute", {**HZ, "InstanceId": WEB_PROD_1, "DeletionProtection": "maybe"}).code == \
        "InvalidParameter"


def test_auto_release_time_is_rounded_down_and_cancellable(world: World) -> None:
    target = at(world, 7200)
    world.call("ModifyInstanceAutoReleaseTime", {**HZ, "InstanceId": BATCH_OLD_1, "AutoReleaseTime": target})
    assert describe(world, BATCH_OLD_1)["AutoReleaseTime"] == target[:16] + "Z"
    world.call("ModifyInstanceAutoReleaseTime", {**HZ, "InstanceId": BATCH_OLD_1})
    assert describe(world, BATCH_OLD_1)["AutoReleaseTime"] == ""
    world.advance(7300)
    assert BATCH_OLD_1 in world.state("cn-hangzhou")["regions"]["cn-hangzhou"]["instances"]
    minute_form = at(world, 3600, with_seconds=False)
    world.call("ModifyInstanceAutoReleaseTime", {"InstanceId": BATCH_OLD_1, "AutoReleaseTime": minute_form})
    assert describe(world, BATCH_OLD_1)["AutoReleaseTime"] == minute_form


@pytest.mark.parametrize("value", ["tomorrow", "2030-13-01T00:00:00Z", "2030-01-01 00:00:00", "2030-01-01T00:00:00"])
def test_auto_release_time_malformed(world: World, value: str) -> None:
    error = refused(world, "ModifyInstanceAutoReleaseTime", {**HZ, "InstanceId": BATCH_OLD_1, "AutoReleaseTime": value})
    assert (error.status, error.code) == (400, "InvalidAutoReleaseTime.Malformed")


def test_auto_release_time_bounds_and_charge_type(world: World) -> None:
    for seconds in (20 * 60, 4 * 365 * 86400):
        error = refused(world, "ModifyInstanceAutoReleaseTime",
                        {**HZ, "InstanceId": BATCH_OLD_1, "AutoReleaseTime": at(world, seconds)})
        assert error.code == "InvalidAutoReleaseTime.Malformed"
    for subscription in (DB_PROD_1, REPORT_LEGACY):
        error = refused(world, "ModifyInstanceAutoReleaseTime",
                        {**HZ, "InstanceId": subscription, "AutoReleaseTime": at(world, 7200)})
        assert (error.status, error.code) == (403, "ChargeTypeViolation")
    error = refused(world, "ModifyInstanceAutoReleaseTime", {**HZ, "InstanceId": "i-nope"})
    assert (error.status, error.code) == (404, "NoSuchResource")
    assert refused(world, "ModifyInstanceAutoReleaseTime", HZ).code == "MissingParameter"


def test_subscription_expires_on_the_clock() -> None:
    world = make_world({"regions": {"cn-hangzhou": {"instances": [
        {"name": "sub", "id": "i-sub", "charge_type": "PrePaid", "expired_time": "+1h"}]}}})
    assert describe(world, "i-sub")["Status"] == "Running"
    world.advance(3601)
    shown = describe(world, "i-sub")
    assert shown["Status"] == "Stopped"
    assert [lock["LockReason"] for lock in shown["OperationLocks"]["LockReason"]] == ["financial"]
    world.call("DeleteInstance", {"InstanceId": "i-sub", "TerminateSubscription": "true"})


def test_modify_charge_type_to_pay_as_you_go_then_release(world: World) -> None:
    body = world.call("ModifyInstanceChargeType", {**HZ, "InstanceIds": json.dumps([DB_PROD_1]),
                                                   "InstanceChargeType": "PostPaid", "ClientToken": "switch-1"})
    assert body["OrderId"] and body["FeeOfInstances"]["FeeOfInstance"][0]["InstanceId"] == DB_PROD_1
    shown = describe(world, DB_PROD_1)
    assert (shown["InstanceChargeType"], shown["ExpiredTime"]) == ("PostPaid", "2099-12-31T15:59Z")
    again = world.call("ModifyInstanceChargeType", {**HZ, "InstanceIds": json.dumps([DB_PROD_1]),
                                                    "InstanceChargeType": "PostPaid", "ClientToken": "switch-1"})
    assert again == body
    world.call("DeleteInstance", {"InstanceId": DB_PROD_1, "Force": "true"})


def test_charge_type_switch_can_take_time() -> None:
    world = make_world()
    world.configure(charge_type_seconds=30)
    world.call("ModifyInstanceChargeType", {**HZ, "InstanceIds": json.dumps([DB_PROD_1]), "InstanceChargeType": "PostPaid"})
    assert describe(world, DB_PROD_1)["InstanceChargeType"] == "PrePaid"
    assert refused(world, "DeleteInstance", {"InstanceId": DB_PROD_1, "Force": "true"}).code == "ChargeTypeViolation"
    world.advance(30)
    assert describe(world, DB_PROD_1)["InstanceChargeType"] == "PostPaid"


def test_modify_charge_type_defaults_to_prepaid_and_refuses(world: World) -> None:
    world.call("ModifyInstanceChargeType", {**HZ, "InstanceIds": json.dumps([BATCH_OLD_1])})
    assert describe(world, BATCH_OLD_1)["InstanceChargeType"] == "PrePaid"
    error = refused(world, "ModifyInstanceChargeType", {**HZ, "InstanceIds": json.dumps([REPORT_LEGACY]),
                                                        "InstanceChargeType": "PostPaid"})
    assert (error.status, error.code) == (400, "ExpiredInstance")
    error = refused(world, "ModifyInstanceChargeType", {**HZ, "InstanceIds": json.dumps([f"i-{n}" for n in range(21)]),
                                                        "InstanceChargeType": "PostPaid"})
    assert (error.status, error.code) == (400, "InstancesIdQuotaExceed")
    assert refused(world, "ModifyInstanceChargeType", {**HZ, "InstanceIds": "nope"}).code == "InvalidParameter.InstanceIds"
    assert refused(world, "ModifyInstanceChargeType", HZ).code == "MissingParameter"
    error = refused(world, "ModifyInstanceChargeType", {"RegionId": "cn-shanghai", "InstanceIds": json.dumps([CACHE_SUB_SH]),
                                                        "InstanceChargeType": "PostPaid", "DryRun": "true"})
    assert error.code == "DryRunOperation"


def test_charge_type_client_token_mismatch(world: World) -> None:
    params = {**HZ, "InstanceIds": json.dumps([DB_PROD_1]), "InstanceChargeType": "PostPaid", "ClientToken": "t"}
    world.call("ModifyInstanceChargeType", params)
    assert refused(world, "ModifyInstanceChargeType", {**params, "AutoPay": "false"}).code == "IdempotentParameterMismatch"


def test_loadtest_auto_release_from_fleet_fires(world: World) -> None:
    assert describe(world, LOADTEST)["AutoReleaseTime"] != ""
    world.advance(2 * 3600 + 1)
    assert LOADTEST not in world.state()["regions"]["cn-hangzhou"]["instances"]
