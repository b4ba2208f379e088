"""Disks attributes, snapshots and snapshot groups, images, EIPs."""

from __future__ import annotations

import json

from ecs_emulator.world import World
from world_support import (
    BATCH_OLD_1,
    BATCH_OLD_2,
    BATCH_OLD_4,
    HZ,
    WEB_PROD_1,
    WEB_PROD_2,
    refused,
)


def disks_of(world: World, instance_id: str) -> list[dict]:
    return world.call("DescribeDisks", {**HZ, "InstanceId": instance_id})["Disks"]["Disk"]


def snapshot(world: World, snapshot_id: str) -> dict:
    body = world.call("DescribeSnapshots", {**HZ, "SnapshotIds": json.dumps([snapshot_id])})
    return body["Snapshots"]["Snapshot"][0]


def test_modify_disk_attribute(world: World) -> None:
    system, data = disks_of(world, BATCH_OLD_1)
    world.call("ModifyDiskAttribute", {**HZ, "DiskIds.1": data["DiskId"], "DeleteWithInstance": "false",
                                       "DeleteAutoSnapshot": "true"})
    changed = disks_of(world, BATCH_OLD_1)[1]
    assert (changed["DeleteWithInstance"], changed["DeleteAutoSnapshot"]) == (False, True)
    world.call("ModifyDiskAttribute", {**HZ, "DiskId": data["DiskId"], "DiskName": "keep-me"})
    assert disks_of(world, BATCH_OLD_1)[1]["DiskName"] == "keep-me"
    error = refused(world, "ModifyDiskAttribute", {**HZ, "DiskId": system["DiskId"], "DeleteWithInstance": "false"})
    assert (error.status, error.code) == (403, "DiskNotPortable")
    assert refused(world, "ModifyDiskAttribute", {**HZ, "DiskId": data["DiskId"]}).code == "NoAttributeToModify"
    error = refused(world, "ModifyDiskAttribute", {**HZ, "DiskId": "d-nope", "DeleteWithInstance": "true"})
    assert (error.status, error.code) == (404, "InvalidDiskId.NotFound")
    assert refused(world, "ModifyDiskAttribute", {**HZ, "DiskId": data["DiskId"], "DiskIds.1": data["DiskId"],
                                                  "DiskName": "x-y"}).code == "InvalidParameter"
    assert refused(world, "ModifyDiskAttribute", HZ).code == "MissingParameter"


def test_snapshot_progresses_with_the_clock(world: World) -> None:
    world.configure(snapshot_seconds=100)
    data = disks_of(world, WEB_PROD_1)[1]
    snapshot_id = world.call("CreateSnapshot", {**HZ, "DiskId": data["DiskId"], "SnapshotName": "before-release"})["SnapshotId"]
    assert (snapshot(world, snapshot_id)["Status"], snapshot(world, snapshot_id)["Progress"]) == ("progressing", "0%")
    error = refused(world, "CreateSnapshot", {**HZ, "DiskId": data["DiskId"]})
    assert (error.status, error.code) == (403, "IncorrectDiskStatus.CreatingSnapshot")
    world.advance(50)
    assert snapshot(world, snapshot_id)["Progress"] == "50%"
    world.advance(50)
    done = snapshot(world, snapshot_id)
    assert (done["Status"], done["Progress"], done["SourceDiskId"], done["SnapshotType"]) == (
        "accomplished", "100%", data["DiskId"], "user")
    listed = world.call("DescribeSnapshots", {**HZ, "DiskId": data["DiskId"], "Status": "accomplished"})
    assert [s["SnapshotId"] for s in listed["Snapshots"]["Snapshot"]] == [snapshot_id]


def test_snapshot_failures_by_disk_and_rate(world: World) -> None:
    system, data = disks_of(world, WEB_PROD_2)
    world.configure(fail_snapshot_disk_ids=[data["DiskId"]], snapshot_seconds=10)
    failing = world.call("CreateSnapshot", {**HZ, "DiskId": data["DiskId"]})["SnapshotId"]
    fine = world.call("CreateSnapshot", {**HZ, "DiskId": system["DiskId"]})["SnapshotId"]
    world.advance(10)
    assert snapshot(world, failing)["Status"] == "failed"
    assert snapshot(world, fine)["Status"] == "accomplished"
    world.configure(snapshot_fail_rate=1.0, fail_snapshot_disk_ids=[])
    doomed = world.call("CreateSnapshot", {**HZ, "DiskId": system["DiskId"]})["SnapshotId"]
    world.advance(10)
    assert snapshot(world, doomed)["Status"] == "failed"


def test_snapshot_refusals(world: World) -> None:
    assert refused(world, "CreateSnapshot", {**HZ, "DiskId": "d-nope"}).code == "InvalidDiskId.NotFound"
    data = disks_of(world, WEB_PROD_1)[1]
    assert refused(world, "CreateSnapshot", {**HZ, "DiskId": data["DiskId"], "SnapshotName": "auto-x"}).code == \
        "InvalidSnapshotName.Malformed"
    assert refused(world, "CreateSnapshot", {**HZ, "DiskId": data["DiskId"], "DryRun": "true"}).code == "DryRunOperation"
    assert refused(world, "CreateSnapshot", HZ).code == "MissingParameter"


def test_create_snapshot_client_token(world: World) -> None:
    data = disks_of(world, WEB_PROD_1)[1]
    params = {**HZ, "DiskId": data["DiskId"], "ClientToken": "snap-1"}
    first = world.call("CreateSnapshot", params)
    assert world.call("CreateSnapshot", params) == first
    assert world.call("DescribeSnapshots", {**HZ, "DiskId": data["DiskId"]})["TotalCount"] == 1
    assert refused(world, "CreateSnapshot", {**params, "SnapshotName": "other"}).code == "IdempotentParameterMismatch"


def test_snapshot_group(world: World) -> None:
    world.configure(snapshot_seconds=20)
    group_id = world.call("CreateSnapshotGroup", {**HZ, "InstanceId": BATCH_OLD_2, "Name": "final-backup",
                                                  "Tag.1.Key": "purpose", "Tag.1.Value": "release"})["SnapshotGroupId"]
    body = world.call("DescribeSnapshotGroups", {**HZ, "SnapshotGroupId.1": group_id})
    group = body["SnapshotGroups"]["SnapshotGroup"][0]
    assert (group["Status"], group["Name"], group["InstanceId"]) == ("progressing", "final-backup", BATCH_OLD_2)
    assert len(group["Snapshots"]["Snapshot"]) == 2
    assert group["Tags"]["Tag"] == [{"Key": "purpose", "Value": "release"}]
    assert refused(world, "CreateSnapshotGroup", {**HZ, "InstanceId": BATCH_OLD_2}).code == "IncorrectDiskStatus.CreatingSnapshot"
    world.advance(20)
    done = world.call("DescribeSnapshotGroups", {**HZ, "InstanceId": BATCH_OLD_2, "Status.1": "accomplished"})
    assert [g["SnapshotGroupId"] for g in done["SnapshotGroups"]["SnapshotGroup"]] == [group_id]
    world.call("StartInstance", {"InstanceId": BATCH_OLD_1})
    assert refused(world, "CreateSnapshotGroup", {**HZ, "InstanceId": BATCH_OLD_1}).code == "IncorrectInstanceStatus"


def test_delete_snapshot(world: World) -> None:
    manual = world.call("DescribeSnapshots", {**HZ, "SnapshotType": "user", "PageSize": "100"})["Snapshots"]["Snapshot"]
    target = next(s for s in manual if s["SnapshotName"] == "batch-results-final")
    world.call("DeleteSnapshot", {"SnapshotId": target["SnapshotId"]})
    error = refused(world, "DeleteSnapshot", {"SnapshotId": target["SnapshotId"]})
    assert (error.status, error.code) == (404, "InvalidSnapshotId.NotFound")


def test_image_is_creating_then_available(world: World) -> None:
    world.configure(image_seconds=60)
    image_id = world.call("CreateImage", {**HZ, "InstanceId": BATCH_OLD_2, "ImageName": "batch-old-2-final"})["ImageId"]
    assert world.call("DescribeImages", {**HZ, "ImageId": image_id})["TotalCount"] == 0  # default Status=Available
    creating = world.call("DescribeImages", {**HZ, "ImageId": image_id, "Status": "Creating,Available"})
    assert creating["Images"]["Image"][0]["Status"] == "Creating"
    world.advance(60)
    image = world.call("DescribeImages", {**HZ, "ImageOwnerAlias": "self"})["Images"]["Image"][0]
    assert (image["ImageId"], image["Status"], image["Progress"]) == (image_id, "Available", "100%")
    assert len(image["DiskDeviceMappings"]["DiskDeviceMapping"]) == 2
    error = refused(world, "CreateImage", {**HZ, "InstanceId": BATCH_OLD_4, "ImageName": "batch-old-2-final"})
    assert (error.status, error.code) == (400, "InvalidImageName.Duplicated")
    params = {**HZ, "InstanceId": BATCH_OLD_4, "ImageName": "b4", "ClientToken": "img"}
    assert world.call("CreateImage", params) == world.call("CreateImage", params)
    assert world.call("DescribeImages", {**HZ, "ImageOwnerAlias": "system"})["TotalCount"] >= 1


def test_convert_static_ip_to_eip_then_release_keeps_it(world: World) -> None:
    world.call("ConvertNatPublicIpToEip", {**HZ, "InstanceId": BATCH_OLD_1})
    shown = world.call("DescribeInstances", {**HZ, "InstanceIds": json.dumps([BATCH_OLD_1])})["Instances"]["Instance"][0]
    assert shown["PublicIpAddress"]["IpAddress"] == [] and shown["EipAddress"]["IpAddress"] == "47.96.20.21"
    eips = world.call("DescribeEipAddresses", {**HZ, "AssociatedInstanceId": BATCH_OLD_1})["EipAddresses"]["EipAddress"]
    assert [(e["IpAddress"], e["Status"], e["InstanceType"]) for e in eips] == [("47.96.20.21", "InUse", "EcsInstance")]
    error = refused(world, "ConvertNatPublicIpToEip", {**HZ, "InstanceId": BATCH_OLD_1})
    assert (error.status, error.code) == (403, "OperationDenied")
    assert refused(world, "ConvertNatPublicIpToEip", {**HZ, "InstanceId": BATCH_OLD_2}).code == "OperationDenied"
    allocation = eips[0]["AllocationId"]
    assert refused(world, "ReleaseEipAddress", {**HZ, "AllocationId": allocation}).code == "IncorrectEipStatus"
    world.call("DeleteInstance", {"InstanceId": BATCH_OLD_1})
    assert world.call("DescribeEipAddresses", {**HZ, "AllocationId": allocation})["EipAddresses"]["EipAddress"][0]["Status"] == "Available"
    world.call("ReleaseEipAddress", {**HZ, "AllocationId": allocation})
    assert refused(world, "ReleaseEipAddress", {**HZ, "AllocationId": allocation}).code == "InvalidAllocationId.NotFound"


def test_describe_eip_addresses_paging(world: World) -> None:
    body = world.call("DescribeEipAddresses", {**HZ, "PageSize": "2"})
    assert body["TotalCount"] == 3 and len(body["EipAddresses"]["EipAddress"]) == 2
    available = world.call("DescribeEipAddresses", {**HZ, "Status": "Available"})["EipAddresses"]["EipAddress"]
    assert [e["IpAddress"] for e in available] == ["47.96.30.31"]
