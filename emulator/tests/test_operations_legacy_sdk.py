"""Every operation end to end through the legacy SDK (``aliyun-python-sdk-ecs``, signature v1) over HTTP.

The legacy SDK sends everything as query parameters: lists flattened as ``InstanceId.N`` (or a JSON string
where the API takes one), booleans as Python's ``True``/``False``, and ``RegionId`` always (from the client).
Each test checks the decoded JSON answer, the world's state after the call, and the recorded parameters, so
a wire form the world failed to understand cannot pass unnoticed. Each family has a refusal whose code and
status must reach the SDK's ``ServerException``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.request import RpcRequest
from aliyunsdkecs.request.v20140526.ConvertNatPublicIpToEipRequest import ConvertNatPublicIpToEipRequest
from aliyunsdkecs.request.v20140526.CreateImageRequest import CreateImageRequest
from aliyunsdkecs.request.v20140526.CreateSnapshotGroupRequest import CreateSnapshotGroupRequest
from aliyunsdkecs.request.v20140526.CreateSnapshotRequest import CreateSnapshotRequest
from aliyunsdkecs.request.v20140526.DeleteInstanceRequest import DeleteInstanceRequest
from aliyunsdkecs.request.v20140526.DeleteInstancesRequest import DeleteInstancesRequest
from aliyunsdkecs.request.v20140526.DeleteSnapshotRequest import DeleteSnapshotRequest
from aliyunsdkecs.request.v20140526.DescribeDisksRequest import DescribeDisksRequest
from aliyunsdkecs.request.v20140526.DescribeEipAddressesRequest import DescribeEipAddressesRequest
from aliyunsdkecs.request.v20140526.DescribeImagesRequest import DescribeImagesRequest
from aliyunsdkecs.request.v20140526.DescribeInstanceAttributeRequest import DescribeInstanceAttributeRequest
from aliyunsdkecs.request.v20140526.DescribeInstancesRequest import DescribeInstancesRequest
from aliyunsdkecs.request.v20140526.DescribeInstanceStatusRequest import DescribeInstanceStatusRequest
from aliyunsdkecs.request.v20140526.DescribeRegionsRequest import DescribeRegionsRequest
from aliyunsdkecs.request.v20140526.DescribeSnapshotGroupsRequest import DescribeSnapshotGroupsRequest
from aliyunsdkecs.request.v20140526.DescribeSnapshotsRequest import DescribeSnapshotsRequest
from aliyunsdkecs.request.v20140526.ModifyDiskAttributeRequest import ModifyDiskAttributeRequest
from aliyunsdkecs.request.v20140526.ModifyInstanceAttributeRequest import ModifyInstanceAttributeRequest
from aliyunsdkecs.request.v20140526.ModifyInstanceAutoReleaseTimeRequest import ModifyInstanceAutoReleaseTimeRequest
from aliyunsdkecs.request.v20140526.ModifyInstanceChargeTypeRequest import ModifyInstanceChargeTypeRequest
from aliyunsdkecs.request.v20140526.ReleaseEipAddressRequest import ReleaseEipAddressRequest
from aliyunsdkecs.request.v20140526.StartInstanceRequest import StartInstanceRequest
from aliyunsdkecs.request.v20140526.StartInstancesRequest import StartInstancesRequest
from aliyunsdkecs.request.v20140526.StopInstanceRequest import StopInstanceRequest
from aliyunsdkecs.request.v20140526.StopInstancesRequest import StopInstancesRequest
from emulator_clients import REGION, legacy_call, small_fleet
from world_support import (
    BATCH_OLD_1,
    BATCH_OLD_2,
    BATCH_OLD_3,
    BATCH_OLD_4,
    DB_PROD_1,
    DEMO,
    LOADTEST,
    REPORT_LEGACY,
    WEB_PROD_1,
    WEB_PROD_2,
)

from ecs_emulator import Emulator

ORPHAN_DISK = "d-bporphanlogs0000001"
SPARE_EIP = "eip-bpspare0000000001"
WEB_PROD_1_EIP = "eip-bpwebprod10000001"


@pytest.fixture
def demo(emu: Emulator) -> Emulator:
    emu.load_fleet(DEMO)
    emu.clear_calls()
    return emu


def region_state(emu: Emulator) -> dict[str, Any]:
    return emu.state(REGION)["regions"][REGION]


def instances(emu: Emulator) -> dict[str, Any]:
    return region_state(emu)["instances"]


def refused(emu: Emulator, request: RpcRequest) -> ServerException:
    with pytest.raises(ServerException) as caught:
        legacy_call(emu, request)
    return caught.value


def last_params(emu: Emulator, action: str) -> dict[str, str]:
    """The parameters of the last recorded call of ``action``, as the world received them."""
    calls = emu.calls(action=action)
    assert calls, f"no {action} call recorded"
    return calls[-1]["params"]


def disk_named(emu: Emulator, name: str) -> dict[str, Any]:
    (disk,) = [d for d in region_state(emu)["disks"].values() if d.get("name") == name]
    return disk


def disks_of(emu: Emulator, instance_id: str) -> list[dict[str, Any]]:
    return [d for d in region_state(emu)["disks"].values() if d["instance_id"] == instance_id]


def expect_refusal(emu: Emulator, request: RpcRequest, status: int, code: str) -> None:
    """The SDK raises the world's code and status, and the call reached the world and was recorded so."""
    error = refused(emu, request)
    assert (error.get_http_status(), error.get_error_code()) == (status, code)
    assert error.get_request_id()
    call = emu.calls(action=request.get_action_name())[-1]
    assert (call["status"], call["code"], call["reached_world"]) == (status, code, True)
    assert call["request_id"] == error.get_request_id()


# ----- regions and instance queries ----------------------------------------------------------------------


def test_describe_regions(demo: Emulator) -> None:
    body = legacy_call(demo, DescribeRegionsRequest())
    regions = {r["RegionId"]: r for r in body["Regions"]["Region"]}
    assert {"cn-hangzhou", "cn-shanghai", "eu-central-1"} <= set(regions)
    assert all(r["RegionEndpoint"] and r["LocalName"] for r in regions.values())
    (call,) = demo.calls()
    # The legacy client always adds its own RegionId; the protocol's own parameters are not recorded.
    assert call["action"] == "DescribeRegions" and call["params"] == {"RegionId": REGION}
    assert (call["status"], call["write"], call["request_id"]) == (200, False, body["RequestId"])


def test_describe_instances_with_tag_filter_and_page_numbers(demo: Emulator) -> None:
    seen = []
    for page in (1, 2):
        request = DescribeInstancesRequest()
        request.set_Tags([{"Key": "env", "Value": "production"}, {"Key": "app"}])
        request.set_PageSize(2)
        request.set_PageNumber(page)
        body = legacy_call(demo, request)
        assert (body["TotalCount"], body["PageNumber"], body["PageSize"]) == (3, page, 2)
        seen += body["Instances"]["Instance"]
    assert [i["InstanceId"] for i in seen] == [WEB_PROD_1, WEB_PROD_2, DB_PROD_1]
    assert all(i["Tags"]["Tag"] and {"TagKey": "env", "TagValue": "production"} in i["Tags"]["Tag"] for i in seen)
    first = seen[0]
    assert first["DeletionProtection"] is True and first["EipAddress"]["IpAddress"] == "47.96.10.11"
    assert first["VpcAttributes"]["PrivateIpAddress"]["IpAddress"]
    params = last_params(demo, "DescribeInstances")
    # Tag.N flattened as the legacy SDK writes it; a key without a value selects any value.
    assert params["Tag.1.Key"] == "env" and params["Tag.1.Value"] == "production"
    assert params["Tag.2.Key"] == "app" and "Tag.2.Value" not in params
    assert (params["PageSize"], params["PageNumber"]) == ("2", "2")


def test_describe_instances_with_tokens_ids_and_status(demo: Emulator) -> None:
    request = DescribeInstancesRequest()
    request.set_MaxResults(4)
    first = legacy_call(demo, request)
    assert first["NextToken"] and len(first["Instances"]["Instance"]) == 4
    request = DescribeInstancesRequest()
    request.set_MaxResults(100)
    request.set_NextToken(first["NextToken"])
    rest = legacy_call(demo, request)
    listed = [i["InstanceId"] for i in first["Instances"]["Instance"] + rest["Instances"]["Instance"]]
    assert sorted(listed) == sorted(instances(demo)) and len(listed) == 10
    assert not rest.get("NextToken")

    request = DescribeInstancesRequest()
    request.set_InstanceIds(json.dumps([REPORT_LEGACY, WEB_PROD_2]))
    request.set_Status("Running")
    (shown,) = legacy_call(demo, request)["Instances"]["Instance"]
    assert shown["InstanceId"] == WEB_PROD_2 and shown["PublicIpAddress"]["IpAddress"] == ["47.96.10.12"]
    assert last_params(demo, "DescribeInstances")["InstanceIds"] == json.dumps([REPORT_LEGACY, WEB_PROD_2])

    request = DescribeInstancesRequest()
    request.set_InstanceIds(json.dumps([REPORT_LEGACY]))
    (lapsed,) = legacy_call(demo, request)["Instances"]["Instance"]
    assert [lock["LockReason"] for lock in lapsed["OperationLocks"]["LockReason"]] == ["financial"]
    assert lapsed["InstanceChargeType"] == "PrePaid"


def test_describe_instances_refuses_an_unknown_status(demo: Emulator) -> None:
    request = DescribeInstancesRequest()
    request.set_Status("Sleeping")
    expect_refusal(demo, request, 404, "InvalidStatus.NotFound")


def test_describe_instance_attribute(demo: Emulator) -> None:
    request = DescribeInstanceAttributeRequest()
    request.set_InstanceId(WEB_PROD_2)
    body = legacy_call(demo, request)
    assert (body["InstanceId"], body["InstanceName"], body["Status"]) == (WEB_PROD_2, "web-prod-2", "Running")
    assert body["PublicIpAddress"]["IpAddress"] == ["47.96.10.12"] and body["ZoneId"] == "cn-hangzhou-i"
    assert last_params(demo, "DescribeInstanceAttribute") == {"RegionId": REGION, "InstanceId": WEB_PROD_2}
    request = DescribeInstanceAttributeRequest()
    request.set_InstanceId("i-bpnosuchinstance000")
    expect_refusal(demo, request, 404, "InvalidInstanceId.NotFound")


def test_describe_instance_status_with_instance_id_list(demo: Emulator) -> None:
    request = DescribeInstanceStatusRequest()
    request.set_InstanceIds([WEB_PROD_1, BATCH_OLD_1, REPORT_LEGACY])
    body = legacy_call(demo, request)
    statuses = [(s["InstanceId"], s["Status"]) for s in body["InstanceStatuses"]["InstanceStatus"]]
    assert statuses == [(WEB_PROD_1, "Running"), (BATCH_OLD_1, "Stopped"), (REPORT_LEGACY, "Stopped")]
    assert body["TotalCount"] == 3
    params = last_params(demo, "DescribeInstanceStatus")
    assert (params["InstanceId.1"], params["InstanceId.2"], params["InstanceId.3"]) == (WEB_PROD_1, BATCH_OLD_1, REPORT_LEGACY)
    request = DescribeInstanceStatusRequest()
    request.set_PageSize(51)
    expect_refusal(demo, request, 400, "InvalidParameter")


# ----- start and stop ------------------------------------------------------------------------------------


def test_start_instance_and_stop_instance(demo: Emulator) -> None:
    request = StartInstanceRequest()
    request.set_InstanceId(BATCH_OLD_1)
    assert legacy_call(demo, request)["RequestId"]
    request = StopInstanceRequest()
    request.set_InstanceId(WEB_PROD_2)
    request.set_ForceStop(False)
    request.set_StoppedMode("StopCharging")
    assert legacy_call(demo, request)["RequestId"]
    assert instances(demo)[BATCH_OLD_1]["status"] == "Starting"
    assert instances(demo)[WEB_PROD_2]["status"] == "Stopping"
    assert last_params(demo, "StopInstance")["ForceStop"] == "False"
    demo.advance(60)
    assert instances(demo)[BATCH_OLD_1]["status"] == "Running"
    assert instances(demo)[WEB_PROD_2]["status"] == "Stopped"


def test_start_instances_and_stop_instances(demo: Emulator) -> None:
    request = StartInstancesRequest()
    request.set_InstanceIds([BATCH_OLD_1, BATCH_OLD_2])
    started = legacy_call(demo, request)["InstanceResponses"]["InstanceResponse"]
    assert [(r["InstanceId"], r["PreviousStatus"], r["CurrentStatus"], r["Code"]) for r in started] == [
        (BATCH_OLD_1, "Stopped", "Starting", "200"), (BATCH_OLD_2, "Stopped", "Starting", "200")]
    params = last_params(demo, "StartInstances")
    assert (params["InstanceId.1"], params["InstanceId.2"]) == (BATCH_OLD_1, BATCH_OLD_2)

    request = StopInstancesRequest()
    request.set_InstanceIds([BATCH_OLD_4, LOADTEST])
    request.set_ForceStop(True)
    stopped = legacy_call(demo, request)["InstanceResponses"]["InstanceResponse"]
    assert [(r["InstanceId"], r["CurrentStatus"]) for r in stopped] == [(BATCH_OLD_4, "Stopping"), (LOADTEST, "Stopping")]
    params = last_params(demo, "StopInstances")
    assert (params["InstanceId.1"], params["InstanceId.2"], params["ForceStop"]) == (BATCH_OLD_4, LOADTEST, "True")
    demo.advance(60)
    state = instances(demo)
    statuses = [state[i]["status"] for i in (BATCH_OLD_1, BATCH_OLD_2, BATCH_OLD_4, LOADTEST)]
    assert statuses == ["Running", "Running", "Stopped", "Stopped"]


def test_start_and_stop_refusals(demo: Emulator) -> None:
    request = StartInstanceRequest()
    request.set_InstanceId(REPORT_LEGACY)
    expect_refusal(demo, request, 403, "InstanceExpiredOrInArrears")
    request = StopInstancesRequest()
    request.set_InstanceIds([BATCH_OLD_4])
    request.set_DryRun(True)
    expect_refusal(demo, request, 400, "DryRunOperation")
    assert last_params(demo, "StopInstances")["DryRun"] == "True"
    assert instances(demo)[REPORT_LEGACY]["status"] == "Stopped"
    assert instances(demo)[BATCH_OLD_4]["status"] == "Running"


# ----- release ----------------------------------------------------------------------------------------


def test_delete_instances_refused_for_a_protected_instance_releases_nothing(demo: Emulator) -> None:
    request = DeleteInstancesRequest()
    request.set_InstanceIds([BATCH_OLD_1, WEB_PROD_1])
    request.set_Force(True)
    expect_refusal(demo, request, 403, "InvalidOperation.DeletionProtection")
    params = last_params(demo, "DeleteInstances")
    assert (params["InstanceId.1"], params["InstanceId.2"], params["Force"]) == (BATCH_OLD_1, WEB_PROD_1, "True")
    assert {BATCH_OLD_1, WEB_PROD_1} <= set(instances(demo)) and region_state(demo)["released"] == []


def test_delete_instance(demo: Emulator) -> None:
    running = DeleteInstanceRequest()
    running.set_InstanceId(BATCH_OLD_4)
    expect_refusal(demo, running, 403, "IncorrectInstanceStatus")
    request = DeleteInstanceRequest()
    request.set_InstanceId(BATCH_OLD_1)
    assert legacy_call(demo, request)["RequestId"]
    state = region_state(demo)
    assert BATCH_OLD_1 not in state["instances"] and BATCH_OLD_4 in state["instances"]
    (entry,) = [e for e in state["released"] if e["kind"] == "instance"]
    assert (entry["id"], entry["how"], entry["lost_public_ip"]) == (BATCH_OLD_1, "manual", "47.96.20.21")
    assert not any(d.get("name") == "batch-old-1-scratch" for d in state["disks"].values())  # DeleteWithInstance
    # A lapsed subscription goes only with TerminateSubscription, sent as the SDK's boolean.
    lapsed = DeleteInstanceRequest()
    lapsed.set_InstanceId(REPORT_LEGACY)
    expect_refusal(demo, lapsed, 403, "ChargeTypeViolation")
    assert REPORT_LEGACY in instances(demo)
    lapsed.set_TerminateSubscription(True)
    legacy_call(demo, lapsed)
    assert last_params(demo, "DeleteInstance")["TerminateSubscription"] == "True"
    assert REPORT_LEGACY not in instances(demo)


def test_delete_instances_with_force_and_client_token(demo: Emulator) -> None:
    request = DeleteInstancesRequest()
    request.set_InstanceIds([BATCH_OLD_2, BATCH_OLD_4])
    request.set_Force(True)
    request.set_ClientToken("legacy-release-1")
    assert legacy_call(demo, request)["RequestId"]
    params = last_params(demo, "DeleteInstances")
    assert (params["InstanceId.1"], params["InstanceId.2"], params["Force"], params["ClientToken"]) == (
        BATCH_OLD_2, BATCH_OLD_4, "True", "legacy-release-1")
    state = region_state(demo)
    assert not {BATCH_OLD_2, BATCH_OLD_4} & set(state["instances"])
    assert [e["id"] for e in state["released"] if e["kind"] == "instance"] == [BATCH_OLD_2, BATCH_OLD_4]
    kept = disk_named(demo, "batch-old-2-results")
    assert (kept["status"], kept["instance_id"]) == ("Available", "")
    # The same token and parameters again: the first answer (not 404 for the ids now gone), nothing twice.
    again = DeleteInstancesRequest()
    again.set_InstanceIds([BATCH_OLD_2, BATCH_OLD_4])
    again.set_Force(True)
    again.set_ClientToken("legacy-release-1")
    assert set(legacy_call(demo, again)) == {"RequestId"}
    assert len([e for e in region_state(demo)["released"] if e["kind"] == "instance"]) == 2
    # The same token with another id list is a mismatch, not a release.
    other = DeleteInstancesRequest()
    other.set_InstanceIds([BATCH_OLD_2])
    other.set_Force(True)
    other.set_ClientToken("legacy-release-1")
    expect_refusal(demo, other, 400, "IdempotentParameterMismatch")


# ----- instance attributes --------------------------------------------------------------------------------


def test_modify_instance_attribute(demo: Emulator) -> None:
    request = ModifyInstanceAttributeRequest()
    request.set_InstanceId(WEB_PROD_2)
    request.set_DeletionProtection(False)
    request.set_InstanceName("web-prod-2b")
    request.set_Description("drained")
    assert legacy_call(demo, request)["RequestId"]
    changed = instances(demo)[WEB_PROD_2]
    assert (changed["deletion_protection"], changed["name"]) == (False, "web-prod-2b")
    assert last_params(demo, "ModifyInstanceAttribute")["DeletionProtection"] == "False"
    request = ModifyInstanceAttributeRequest()
    request.set_InstanceId(BATCH_OLD_1)
    request.set_DeletionProtection(True)
    legacy_call(demo, request)
    assert instances(demo)[BATCH_OLD_1]["deletion_protection"] is True
    # Release protection does not apply to subscriptions.
    request = ModifyInstanceAttributeRequest()
    request.set_InstanceId(DB_PROD_1)
    request.set_DeletionProtection(True)
    expect_refusal(demo, request, 400, "ChargeTypeViolation")
    assert instances(demo)[DB_PROD_1]["deletion_protection"] is False


def test_modify_instance_auto_release_time(demo: Emulator) -> None:
    when = time.strftime("%Y-%m-%dT%H:%M:00Z", time.gmtime(demo.clock()["now"] + 86400))
    request = ModifyInstanceAutoReleaseTimeRequest()
    request.set_InstanceId(BATCH_OLD_4)
    request.set_AutoReleaseTime(when)
    assert legacy_call(demo, request)["RequestId"]
    assert instances(demo)[BATCH_OLD_4]["auto_release_time"] == when
    cancel = ModifyInstanceAutoReleaseTimeRequest()
    cancel.set_InstanceId(LOADTEST)
    legacy_call(demo, cancel)
    assert instances(demo)[LOADTEST]["auto_release_time"] is None
    assert last_params(demo, "ModifyInstanceAutoReleaseTime") == {"RegionId": REGION, "InstanceId": LOADTEST}
    demo.advance(3 * 3600)  # the load-test box's old release time has passed: it stays
    assert LOADTEST in instances(demo)
    subscription = ModifyInstanceAutoReleaseTimeRequest()
    subscription.set_InstanceId(DB_PROD_1)
    subscription.set_AutoReleaseTime(when)
    expect_refusal(demo, subscription, 403, "ChargeTypeViolation")
    too_soon = ModifyInstanceAutoReleaseTimeRequest()
    too_soon.set_InstanceId(BATCH_OLD_1)
    too_soon.set_AutoReleaseTime(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(demo.clock()["now"] + 600)))
    expect_refusal(demo, too_soon, 400, "InvalidAutoReleaseTime.Malformed")
    assert instances(demo)[DB_PROD_1]["auto_release_time"] is None
    assert instances(demo)[BATCH_OLD_1]["auto_release_time"] is None


def test_modify_instance_charge_type(demo: Emulator) -> None:
    request = ModifyInstanceChargeTypeRequest()
    request.set_InstanceIds(json.dumps([DB_PROD_1]))
    request.set_InstanceChargeType("PostPaid")
    request.set_AutoPay(True)
    body = legacy_call(demo, request)
    assert body["OrderId"] and body["FeeOfInstances"]["FeeOfInstance"][0]["InstanceId"] == DB_PROD_1
    assert instances(demo)[DB_PROD_1]["charge_type"] == "PostPaid"
    params = last_params(demo, "ModifyInstanceChargeType")
    assert (params["InstanceIds"], params["AutoPay"]) == (json.dumps([DB_PROD_1]), "True")
    # No InstanceChargeType means PrePaid: a month for a pay-as-you-go box, its auto-release cleared.
    request = ModifyInstanceChargeTypeRequest()
    request.set_InstanceIds(json.dumps([LOADTEST]))
    request.set_Period(1)
    legacy_call(demo, request)
    converted = instances(demo)[LOADTEST]
    assert (converted["charge_type"], converted["auto_release_time"]) == ("PrePaid", None) and converted["expired_time"]
    lapsed = ModifyInstanceChargeTypeRequest()
    lapsed.set_InstanceIds(json.dumps([REPORT_LEGACY]))
    lapsed.set_InstanceChargeType("PostPaid")
    expect_refusal(demo, lapsed, 400, "ExpiredInstance")
    same = ModifyInstanceChargeTypeRequest()
    same.set_InstanceIds(json.dumps([WEB_PROD_1]))
    same.set_InstanceChargeType("PostPaid")
    expect_refusal(demo, same, 403, "ChargeTypeViolation")
    assert instances(demo)[REPORT_LEGACY]["charge_type"] == "PrePaid"


# ----- disks ----------------------------------------------------------------------------------------------


def test_describe_disks(demo: Emulator) -> None:
    request = DescribeDisksRequest()
    request.set_InstanceId(WEB_PROD_1)
    system, data = legacy_call(demo, request)["Disks"]["Disk"]
    assert (system["Type"], system["Portable"], system["DeleteWithInstance"]) == ("system", False, True)
    assert (data["DiskName"], data["Size"], data["DeleteWithInstance"]) == ("web-prod-1-static", 200, False)
    assert data["Attachments"]["Attachment"][0]["InstanceId"] == WEB_PROD_1
    request = DescribeDisksRequest()
    request.set_DiskIds(json.dumps([ORPHAN_DISK, data["DiskId"]]))
    request.set_Portable(True)
    listed = legacy_call(demo, request)["Disks"]["Disk"]
    assert sorted(d["DiskId"] for d in listed) == sorted([ORPHAN_DISK, data["DiskId"]])
    assert last_params(demo, "DescribeDisks")["Portable"] == "True"
    request = DescribeDisksRequest()
    request.set_MaxResults(3)
    page = legacy_call(demo, request)
    assert page["NextToken"] and len(page["Disks"]["Disk"]) == 3
    request = DescribeDisksRequest()
    request.set_DiskType("scratch")
    expect_refusal(demo, request, 400, "InvalidDiskType.ValueNotSupported")


def test_modify_disk_attribute_with_disk_id_list(demo: Emulator) -> None:
    first = disk_named(demo, "web-prod-1-static")["id"]
    second = disk_named(demo, "web-prod-2-static")["id"]
    request = ModifyDiskAttributeRequest()
    request.set_DiskIdss([first, second])
    request.set_DeleteWithInstance(True)
    assert legacy_call(demo, request)["RequestId"] is not None
    params = last_params(demo, "ModifyDiskAttribute")
    assert (params["DiskIds.1"], params["DiskIds.2"], params["DeleteWithInstance"]) == (first, second, "True")
    disks = region_state(demo)["disks"]
    assert disks[first]["delete_with_instance"] is True and disks[second]["delete_with_instance"] is True
    request = ModifyDiskAttributeRequest()
    request.set_DiskId(ORPHAN_DISK)
    request.set_DiskName("orphan-logs-old")
    legacy_call(demo, request)
    assert region_state(demo)["disks"][ORPHAN_DISK]["name"] == "orphan-logs-old"
    # A system disk cannot be kept past its instance.
    system = next(d["id"] for d in disks_of(demo, WEB_PROD_1) if d["type"] == "system")
    request = ModifyDiskAttributeRequest()
    request.set_DiskId(system)
    request.set_DeleteWithInstance(False)
    expect_refusal(demo, request, 403, "DiskNotPortable")
    assert region_state(demo)["disks"][system]["delete_with_instance"] is True


# ----- snapshots ------------------------------------------------------------------------------------------


def test_create_describe_and_delete_snapshot(demo: Emulator) -> None:
    disk_id = disk_named(demo, "web-prod-1-static")["id"]
    request = CreateSnapshotRequest()
    request.set_DiskId(disk_id)
    request.set_SnapshotName("pre-release")
    request.set_Tags([{"Key": "purpose", "Value": "release"}])
    snapshot_id = legacy_call(demo, request)["SnapshotId"]
    recorded = region_state(demo)["snapshots"][snapshot_id]
    assert (recorded["disk_id"], recorded["name"], recorded["status"]) == (disk_id, "pre-release", "progressing")
    demo.advance(60)
    request = DescribeSnapshotsRequest()
    request.set_SnapshotIds(json.dumps([snapshot_id]))
    (snapshot,) = legacy_call(demo, request)["Snapshots"]["Snapshot"]
    assert (snapshot["Status"], snapshot["Progress"], snapshot["SourceDiskId"]) == ("accomplished", "100%", disk_id)
    assert snapshot["SnapshotName"] == "pre-release"
    assert last_params(demo, "DescribeSnapshots")["SnapshotIds"] == json.dumps([snapshot_id])
    by_tag = DescribeSnapshotsRequest()
    by_tag.set_Tags([{"Key": "purpose", "Value": "release"}])
    assert [s["SnapshotId"] for s in legacy_call(demo, by_tag)["Snapshots"]["Snapshot"]] == [snapshot_id]
    request = DeleteSnapshotRequest()
    request.set_SnapshotId(snapshot_id)
    request.set_Force(False)
    legacy_call(demo, request)
    assert snapshot_id not in region_state(demo)["snapshots"]
    assert last_params(demo, "DeleteSnapshot")["Force"] == "False"
    left = DescribeSnapshotsRequest()
    left.set_DiskId(disk_id)
    assert legacy_call(demo, left)["TotalCount"] == 0
    expect_refusal(demo, request, 404, "InvalidSnapshotId.NotFound")


def test_create_snapshot_refusals(demo: Emulator) -> None:
    local = next(d["id"] for d in disks_of(demo, BATCH_OLD_3) if d["category"] == "ephemeral_ssd")
    request = CreateSnapshotRequest()
    request.set_DiskId(local)
    expect_refusal(demo, request, 403, "InvalidDiskCategory.NotSupported")
    request = CreateSnapshotRequest()
    request.set_DiskId("d-bpnosuchdisk0000001")
    expect_refusal(demo, request, 404, "InvalidDiskId.NotFound")
    assert not any(s["disk_id"] == local for s in region_state(demo)["snapshots"].values())


def test_snapshot_groups(demo: Emulator) -> None:
    disks = [d for d in disks_of(demo, BATCH_OLD_3) if d["category"] != "ephemeral_ssd"]
    system = next(d["id"] for d in disks if d["type"] == "system")
    request = CreateSnapshotGroupRequest()
    request.set_InstanceId(BATCH_OLD_3)
    request.set_ExcludeDiskIds([system])
    request.set_Name("batch-old-3-final")
    group_id = legacy_call(demo, request)["SnapshotGroupId"]
    assert last_params(demo, "CreateSnapshotGroup")["ExcludeDiskId.1"] == system
    group = region_state(demo)["snapshot_groups"][group_id]
    assert (group["instance_id"], group["name"], len(group["snapshot_ids"])) == (BATCH_OLD_3, "batch-old-3-final", 1)
    only = CreateSnapshotGroupRequest()
    only.set_InstanceId(BATCH_OLD_2)
    data = disk_named(demo, "batch-old-2-results")["id"]
    only.set_DiskIds([data])
    other_id = legacy_call(demo, only)["SnapshotGroupId"]
    assert last_params(demo, "CreateSnapshotGroup")["DiskId.1"] == data
    (snapshot_id,) = region_state(demo)["snapshot_groups"][other_id]["snapshot_ids"]
    assert region_state(demo)["snapshots"][snapshot_id]["disk_id"] == data

    describe = DescribeSnapshotGroupsRequest()
    describe.set_SnapshotGroupIds([group_id, other_id])
    describe.set_Statuss(["progressing"])
    progressing = legacy_call(demo, describe)["SnapshotGroups"]["SnapshotGroup"]
    assert sorted(g["SnapshotGroupId"] for g in progressing) == sorted([group_id, other_id])
    params = last_params(demo, "DescribeSnapshotGroups")
    assert (params["SnapshotGroupId.1"], params["SnapshotGroupId.2"], params["Status.1"]) == (group_id, other_id, "progressing")
    demo.advance(60)
    describe = DescribeSnapshotGroupsRequest()
    describe.set_SnapshotGroupIds([group_id])
    describe.set_Statuss(["accomplished"])
    (done,) = legacy_call(demo, describe)["SnapshotGroups"]["SnapshotGroup"]
    assert done["Status"] == "accomplished" and done["Name"] == "batch-old-3-final"
    assert [s["SnapshotId"] for s in done["Snapshots"]["Snapshot"]] == group["snapshot_ids"]
    # Every disk of the instance excluded: nothing left to snapshot, and no group made.
    empty = CreateSnapshotGroupRequest()
    empty.set_InstanceId(BATCH_OLD_2)
    empty.set_ExcludeDiskIds([d["id"] for d in disks_of(demo, BATCH_OLD_2)])
    expect_refusal(demo, empty, 400, "InvalidParameter.DiskId")
    assert len(region_state(demo)["snapshot_groups"]) == 2


# ----- images ---------------------------------------------------------------------------------------------


def test_create_and_describe_images(demo: Emulator) -> None:
    request = CreateImageRequest()
    request.set_InstanceId(BATCH_OLD_2)
    request.set_ImageName("batch-old-2-final")
    request.set_ClientToken("legacy-image-1")
    image_id = legacy_call(demo, request)["ImageId"]
    image = region_state(demo)["images"][image_id]
    assert image["name"] == "batch-old-2-final" and image["status"] == "Creating" and image["mappings"]
    hidden = DescribeImagesRequest()
    hidden.set_ImageId(image_id)
    assert legacy_call(demo, hidden)["TotalCount"] == 0  # only Available by default
    demo.advance(120)
    request = DescribeImagesRequest()
    request.set_ImageId(f"{image_id},m-bpnosuchimage00000")
    request.set_ImageOwnerAlias("self")
    (shown,) = legacy_call(demo, request)["Images"]["Image"]
    assert (shown["ImageId"], shown["Status"], shown["ImageOwnerAlias"]) == (image_id, "Available", "self")
    mapping = shown["DiskDeviceMappings"]["DiskDeviceMapping"][0]
    assert mapping["SnapshotId"] == region_state(demo)["images"][image_id]["mappings"][0][1]
    system = DescribeImagesRequest()
    system.set_ImageOwnerAlias("system")
    assert legacy_call(demo, system)["TotalCount"] >= 1
    duplicate = CreateImageRequest()
    duplicate.set_InstanceId(BATCH_OLD_1)
    duplicate.set_ImageName("batch-old-2-final")
    expect_refusal(demo, duplicate, 400, "InvalidImageName.Duplicated")
    state = region_state(demo)
    assert list(state["images"]) == [image_id]  # the refused call made no image ...
    batch_old_1_disks = {d["id"] for d in disks_of(demo, BATCH_OLD_1)}
    assert batch_old_1_disks and not any(s["disk_id"] in batch_old_1_disks for s in state["snapshots"].values())  # nor snapshots


# ----- EIPs -----------------------------------------------------------------------------------------------


def test_convert_describe_and_release_eips(demo: Emulator) -> None:
    request = ConvertNatPublicIpToEipRequest()
    request.set_InstanceId(WEB_PROD_2)
    assert legacy_call(demo, request)["RequestId"]
    converted = instances(demo)[WEB_PROD_2]
    assert converted["public_ip"] == "" and converted["eip_id"]
    eip = region_state(demo)["eips"][converted["eip_id"]]
    assert (eip["ip"], eip["status"], eip["instance_id"]) == ("47.96.10.12", "InUse", WEB_PROD_2)

    request = DescribeEipAddressesRequest()
    request.set_Status("Available")
    body = legacy_call(demo, request)
    assert body["TotalCount"] == 1
    spare = body["EipAddresses"]["EipAddress"][0]
    assert (spare["AllocationId"], spare["IpAddress"], spare["Status"]) == (SPARE_EIP, "47.96.30.31", "Available")
    request = DescribeEipAddressesRequest()
    request.set_AssociatedInstanceId(WEB_PROD_2)
    (bound,) = legacy_call(demo, request)["EipAddresses"]["EipAddress"]
    assert (bound["IpAddress"], bound["InstanceId"]) == ("47.96.10.12", WEB_PROD_2)

    request = ReleaseEipAddressRequest()
    request.set_AllocationId(SPARE_EIP)
    legacy_call(demo, request)
    assert SPARE_EIP not in region_state(demo)["eips"]
    assert [(e["kind"], e["id"], e["how"]) for e in region_state(demo)["released"]] == [("eip", SPARE_EIP, "manual")]
    assert last_params(demo, "ReleaseEipAddress") == {"RegionId": REGION, "AllocationId": SPARE_EIP}


def test_eip_refusals(demo: Emulator) -> None:
    in_use = ReleaseEipAddressRequest()
    in_use.set_AllocationId(WEB_PROD_1_EIP)
    expect_refusal(demo, in_use, 403, "IncorrectEipStatus")
    has_eip = ConvertNatPublicIpToEipRequest()
    has_eip.set_InstanceId(WEB_PROD_1)
    expect_refusal(demo, has_eip, 403, "OperationDenied")
    assert region_state(demo)["eips"][WEB_PROD_1_EIP]["status"] == "InUse"
    assert instances(demo)[WEB_PROD_1]["eip_id"] == WEB_PROD_1_EIP


# ----- a fleet outside the demo: another region through the client's RegionId ------------------------------


def test_the_client_region_scopes_every_call(emu: Emulator) -> None:
    emu.load_fleet(small_fleet(3, region="cn-shanghai"))
    emu.clear_calls()
    request = DescribeInstancesRequest()
    assert legacy_call(emu, request)["TotalCount"] == 0  # the client's region is cn-hangzhou
    request = DescribeInstancesRequest()
    request.set_Tags([{"Key": "suite", "Value": "emulator"}])
    request.add_query_param("RegionId", "cn-shanghai")
    body = legacy_call(emu, request)
    assert body["TotalCount"] == 3
    assert [i["InstanceName"] for i in body["Instances"]["Instance"]] == ["test-001", "test-002", "test-003"]
    assert [c["region"] for c in emu.calls()] == [REGION, "cn-shanghai"]
    request = StopInstancesRequest()
    request.set_InstanceIds([body["Instances"]["Instance"][0]["InstanceId"]])
    request.add_query_param("RegionId", "cn-hangzhou")
    error = refused(emu, request)
    assert (error.get_http_status(), error.get_error_code()) == (404, "InvalidInstanceId.NotFound")
    assert emu.calls()[-1]["params"]["RegionId"] == "cn-hangzhou"
    shanghai = emu.state("cn-shanghai")["regions"]["cn-shanghai"]["instances"]
    assert len(shanghai) == 3 and all(i["status"] == "Running" for i in shanghai.values())
