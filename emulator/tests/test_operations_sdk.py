"""Every operation end to end: the official SDK (v3 signature) over HTTP against the real server and world.

Each test proves the SDK parses the world's answer into its models with the fields populated.
"""

from __future__ import annotations

import json

import pytest
from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_ecs20140526.client import Client
from ecs_emulator import Emulator
from emulator_clients import ecs_client
from Tea.exceptions import TeaException
from world_support import (
    BATCH_OLD_1,
    BATCH_OLD_2,
    BATCH_OLD_4,
    DB_PROD_1,
    DEMO,
    LOADTEST,
    REPORT_LEGACY,
    WEB_PROD_1,
    WEB_PROD_2,
)

REGION = "cn-hangzhou"


@pytest.fixture
def client(emu: Emulator) -> Client:
    emu.load_fleet(DEMO)
    return ecs_client(emu)


def hz_instances(emu: Emulator) -> dict:
    return emu.state(REGION)["regions"][REGION]["instances"]


def disks_of(client: Client, instance_id: str) -> list[ecs.DescribeDisksResponseBodyDisksDisk]:
    body = client.describe_disks(ecs.DescribeDisksRequest(region_id=REGION, instance_id=instance_id)).body
    return body.disks.disk


def test_describe_regions(client: Client) -> None:
    regions = client.describe_regions(ecs.DescribeRegionsRequest()).body.regions.region
    assert "cn-shanghai" in {r.region_id for r in regions}
    assert all(r.region_endpoint and r.local_name for r in regions)


def test_describe_instances_with_tags_and_paging(client: Client) -> None:
    request = ecs.DescribeInstancesRequest(
        region_id=REGION, page_size=2, tag=[ecs.DescribeInstancesRequestTag(key="env", value="production")])
    body = client.describe_instances(request).body
    assert body.total_count == 3 and body.page_size == 2 and len(body.instances.instance) == 2
    first = body.instances.instance[0]
    assert first.instance_id == WEB_PROD_1
    assert first.deletion_protection is True
    assert first.eip_address.ip_address == "47.96.10.11"
    assert first.tags.tag[0].tag_key and first.vpc_attributes.private_ip_address.ip_address
    token_page = client.describe_instances(ecs.DescribeInstancesRequest(region_id=REGION, max_results=5)).body
    assert token_page.next_token
    rest = client.describe_instances(
        ecs.DescribeInstancesRequest(region_id=REGION, max_results=100, next_token=token_page.next_token)).body
    assert len(token_page.instances.instance) + len(rest.instances.instance) == token_page.total_count
    ids = client.describe_instances(ecs.DescribeInstancesRequest(
        region_id=REGION, instance_ids=json.dumps([REPORT_LEGACY]))).body.instances.instance
    assert ids[0].operation_locks.lock_reason[0].lock_reason == "financial"


def test_describe_instance_attribute_and_status(client: Client) -> None:
    attribute = client.describe_instance_attribute(ecs.DescribeInstanceAttributeRequest(instance_id=WEB_PROD_2)).body
    assert attribute.instance_name == "web-prod-2" and attribute.public_ip_address.ip_address == ["47.96.10.12"]
    statuses = client.describe_instance_status(ecs.DescribeInstanceStatusRequest(
        region_id=REGION, instance_id=[WEB_PROD_1, BATCH_OLD_1])).body.instance_statuses.instance_status
    assert [(s.instance_id, s.status) for s in statuses] == [(WEB_PROD_1, "Running"), (BATCH_OLD_1, "Stopped")]


def test_start_and_stop(client: Client, emu: Emulator) -> None:
    client.start_instance(ecs.StartInstanceRequest(instance_id=BATCH_OLD_1))
    stopped = client.stop_instances(ecs.StopInstancesRequest(region_id=REGION, instance_id=[BATCH_OLD_4])).body
    response = stopped.instance_responses.instance_response[0]
    assert (response.previous_status, response.current_status) == ("Running", "Stopping")
    client.stop_instance(ecs.StopInstanceRequest(instance_id=WEB_PROD_2))
    started = client.start_instances(ecs.StartInstancesRequest(region_id=REGION, instance_id=[BATCH_OLD_2])).body
    assert started.instance_responses.instance_response[0].code == "200"
    emu.advance(60)
    assert hz_instances(emu)[BATCH_OLD_4]["status"] == "Stopped"
    assert hz_instances(emu)[BATCH_OLD_1]["status"] == "Running"


def test_release_refusal_codes_reach_the_sdk(client: Client) -> None:
    with pytest.raises(TeaException) as caught:
        client.delete_instances(ecs.DeleteInstancesRequest(region_id=REGION, instance_id=[WEB_PROD_1], force=True))
    assert caught.value.code == "InvalidOperation.DeletionProtection"
    assert caught.value.status_code == 403
    with pytest.raises(TeaException) as dry:
        client.delete_instances(ecs.DeleteInstancesRequest(region_id=REGION, instance_id=[BATCH_OLD_1], dry_run=True))
    assert dry.value.code == "DryRunOperation"


def test_delete_instance_and_instances(client: Client, emu: Emulator) -> None:
    client.delete_instance(ecs.DeleteInstanceRequest(instance_id=BATCH_OLD_1))
    client.delete_instances(ecs.DeleteInstancesRequest(
        region_id=REGION, instance_id=[BATCH_OLD_2, BATCH_OLD_4], force=True, client_token="sdk-release"))
    released = [e["id"] for e in emu.state(REGION)["regions"][REGION]["released"] if e["kind"] == "instance"]
    assert released == [BATCH_OLD_1, BATCH_OLD_2, BATCH_OLD_4]


def test_modify_instance_attribute_and_auto_release_time(client: Client, emu: Emulator) -> None:
    client.modify_instance_attribute(ecs.ModifyInstanceAttributeRequest(
        instance_id=WEB_PROD_2, deletion_protection=False, instance_name="web-prod-2b"))
    assert hz_instances(emu)[WEB_PROD_2]["deletion_protection"] is False
    client.modify_instance_auto_release_time(ecs.ModifyInstanceAutoReleaseTimeRequest(
        region_id=REGION, instance_id=LOADTEST))
    shown = client.describe_instances(ecs.DescribeInstancesRequest(
        region_id=REGION, instance_ids=json.dumps([LOADTEST]))).body.instances.instance[0]
    assert shown.auto_release_time == ""


def test_modify_instance_charge_type(client: Client, emu: Emulator) -> None:
    body = client.modify_instance_charge_type(ecs.ModifyInstanceChargeTypeRequest(
        region_id=REGION, instance_ids=json.dumps([DB_PROD_1]), instance_charge_type="PostPaid")).body
    assert body.order_id and body.fee_of_instances.fee_of_instance[0].instance_id == DB_PROD_1
    assert hz_instances(emu)[DB_PROD_1]["charge_type"] == "PostPaid"


def test_describe_and_modify_disks(client: Client) -> None:
    system, data = disks_of(client, WEB_PROD_1)
    assert (system.type, system.portable, data.delete_with_instance) == ("system", False, False)
    assert data.attachments.attachment[0].instance_id == WEB_PROD_1
    client.modify_disk_attribute(ecs.ModifyDiskAttributeRequest(region_id=REGION, disk_id=data.disk_id,
                                                                delete_with_instance=True))
    assert disks_of(client, WEB_PROD_1)[1].delete_with_instance is True
    page = client.describe_disks(ecs.DescribeDisksRequest(region_id=REGION, max_results=3)).body
    assert page.next_token and len(page.disks.disk) == 3


def test_snapshots_and_groups(client: Client, emu: Emulator) -> None:
    data = disks_of(client, WEB_PROD_1)[1]
    snapshot_id = client.create_snapshot(ecs.CreateSnapshotRequest(
        disk_id=data.disk_id, snapshot_name="pre-release")).body.snapshot_id
    group_id = client.create_snapshot_group(ecs.CreateSnapshotGroupRequest(
        region_id=REGION, instance_id=BATCH_OLD_2, name="final")).body.snapshot_group_id
    emu.advance(60)
    snapshot = client.describe_snapshots(ecs.DescribeSnapshotsRequest(
        region_id=REGION, snapshot_ids=json.dumps([snapshot_id]))).body.snapshots.snapshot[0]
    assert (snapshot.status, snapshot.progress, snapshot.source_disk_id) == ("accomplished", "100%", data.disk_id)
    group = client.describe_snapshot_groups(ecs.DescribeSnapshotGroupsRequest(
        region_id=REGION, snapshot_group_id=[group_id])).body.snapshot_groups.snapshot_group[0]
    assert group.status == "accomplished" and len(group.snapshots.snapshot) == 2
    client.delete_snapshot(ecs.DeleteSnapshotRequest(snapshot_id=snapshot_id))
    left = client.describe_snapshots(ecs.DescribeSnapshotsRequest(region_id=REGION, disk_id=data.disk_id)).body
    assert left.total_count == 0


def test_images(client: Client, emu: Emulator) -> None:
    image_id = client.create_image(ecs.CreateImageRequest(
        region_id=REGION, instance_id=BATCH_OLD_2, image_name="batch-old-2-final")).body.image_id
    hidden = client.describe_images(ecs.DescribeImagesRequest(region_id=REGION, image_id=image_id)).body
    assert hidden.total_count == 0
    emu.advance(120)
    image = client.describe_images(ecs.DescribeImagesRequest(region_id=REGION, image_id=image_id)).body.images.image[0]
    assert (image.status, image.image_owner_alias) == ("Available", "self")
    assert image.disk_device_mappings.disk_device_mapping[0].snapshot_id


def test_eips(client: Client, emu: Emulator) -> None:
    client.convert_nat_public_ip_to_eip(ecs.ConvertNatPublicIpToEipRequest(region_id=REGION, instance_id=WEB_PROD_2))
    eips = client.describe_eip_addresses(ecs.DescribeEipAddressesRequest(region_id=REGION, status="Available")).body
    spare = eips.eip_addresses.eip_address[0]
    assert spare.ip_address == "47.96.30.31" and eips.total_count == 1
    client.release_eip_address(ecs.ReleaseEipAddressRequest(region_id=REGION, allocation_id=spare.allocation_id))
    in_use = client.describe_eip_addresses(ecs.DescribeEipAddressesRequest(region_id=REGION)).body.eip_addresses.eip_address
    assert "47.96.10.12" in {e.ip_address for e in in_use}
    assert hz_instances(emu)[WEB_PROD_2]["public_ip"] == ""
