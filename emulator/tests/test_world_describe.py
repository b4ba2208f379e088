"""DescribeRegions, DescribeInstances (filters, both pagings), DescribeInstanceAttribute/Status, DescribeDisks."""

from __future__ import annotations

import json

import pytest
from ecs_emulator.world import World
from world_support import (
    BATCH_OLD_1,
    DB_PROD_1,
    HZ,
    REPORT_LEGACY,
    TAGS_1K,
    WEB_PROD_1,
    WEB_PROD_2,
    make_world,
    refused,
)


def names(body: dict) -> list[str]:
    return [i["InstanceName"] for i in body["Instances"]["Instance"]]


def test_describe_regions_lists_standard_regions_even_after_reset(world: World) -> None:
    world.reset()
    regions = {r["RegionId"]: r for r in world.call("DescribeRegions", {})["Regions"]["Region"]}
    assert {"cn-hangzhou", "cn-shanghai", "cn-beijing", "ap-southeast-1", "us-west-1", "eu-central-1"} <= set(regions)
    assert regions["cn-hangzhou"]["RegionEndpoint"] == "ecs-cn-hangzhou.aliyuncs.com"
    assert world.call("DescribeInstances", HZ)["TotalCount"] == 0


def test_unknown_and_missing_region(world: World) -> None:
    assert refused(world, "DescribeInstances", {"RegionId": "mars-1"}).code == "InvalidRegionId.NotFound"
    error = refused(world, "DescribeInstances", {})
    assert (error.status, error.code) == (400, "MissingParameter")


def test_instance_fields_and_empty_values(world: World) -> None:
    body = world.call("DescribeInstances", {**HZ, "InstanceIds": json.dumps([WEB_PROD_1, WEB_PROD_2])})
    first, second = body["Instances"]["Instance"]
    assert first["DeletionProtection"] is True
    assert first["EipAddress"]["IpAddress"] == "47.96.10.11"
    assert first["PublicIpAddress"] == {"IpAddress": []}
    assert first["AutoReleaseTime"] == ""
    assert first["ExpiredTime"] == "2099-12-31T15:59Z"
    assert {"TagKey": "env", "TagValue": "production"} in first["Tags"]["Tag"]
    assert second["PublicIpAddress"] == {"IpAddress": ["47.96.10.12"]}
    assert second["EipAddress"] == {"AllocationId": "", "IpAddress": "", "InternetChargeType": ""}
    assert first["OperationLocks"] == {"LockReason": []}


def test_expired_subscription_shows_financial_lock(world: World) -> None:
    body = world.call("DescribeInstances", {**HZ, "InstanceIds": json.dumps([REPORT_LEGACY])})
    legacy = body["Instances"]["Instance"][0]
    assert legacy["Status"] == "Stopped"
    assert legacy["InstanceChargeType"] == "PrePaid"
    assert legacy["OperationLocks"]["LockReason"][0]["LockReason"] == "financial"


@pytest.mark.parametrize(("params", "expected"), [
    ({"Tag.1.Key": "env", "Tag.1.Value": "production"}, {"web-prod-1", "web-prod-2", "db-prod-1"}),
    ({"Tag.1.Key": "team", "Tag.1.Value": "retire", "Status": "Running"}, {"batch-old-4"}),
    ({"Tag.1.Key": "team", "Tag.2.Key": "role", "Tag.2.Value": "report"}, {"report-legacy-1"}),
    ({"InstanceChargeType": "PrePaid"}, {"db-prod-1", "report-legacy-1"}),
    ({"InstanceName": "batch-old-*"}, {"batch-old-1", "batch-old-2", "batch-old-3", "batch-old-4"}),
    ({"InstanceName": "web-prod-1"}, {"web-prod-1"}),
    ({"ZoneId": "cn-hangzhou-i"}, {"web-prod-2"}),
    ({"InstanceId.1": "ignored", "InstanceIds": json.dumps([DB_PROD_1, BATCH_OLD_1])}, {"db-prod-1", "batch-old-1"}),
])
def test_describe_instances_filters(world: World, params: dict[str, str], expected: set[str]) -> None:
    body = world.call("DescribeInstances", {**HZ, "PageSize": "100", **params})
    assert set(names(body)) == expected
    assert body["TotalCount"] == len(expected)


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"Status": "Sleeping"}, 404, "InvalidStatus.NotFound"),
    ({"InstanceChargeType": "Free"}, 404, "InvalidInstanceChargeType.NotFound"),
    ({f"Tag.{n}.Key": f"k{n}" for n in range(1, 22)}, 400, "InvalidTagCount"),
    ({"PageSize": "101"}, 400, "InvalidParameter"),
    ({"PageSize": "ten"}, 400, "InvalidParameter"),
    ({"MaxResults": "101"}, 400, "InvalidParameter"),
    ({"NextToken": "garbage!"}, 400, "InvalidParameter"),
    ({"InstanceIds": "i-not-json"}, 400, "InvalidParameter"),
    ({"InstanceIds": json.dumps([f"i-{n}" for n in range(101)])}, 400, "InvalidParameter"),
])
def test_describe_instances_refusals(world: World, params: dict[str, str], status: int, code: str) -> None:
    error = refused(world, "DescribeInstances", {**HZ, **params})
    assert (error.status, error.code) == (status, code)


def test_page_number_paging() -> None:
    world = make_world(TAGS_1K)
    seen: list[str] = []
    for page in range(1, 12):
        body = world.call("DescribeInstances", {**HZ, "Tag.1.Key": "team", "Tag.1.Value": "retire",
                                                "PageNumber": str(page), "PageSize": "100"})
        assert body["TotalCount"] == 1000 and body["PageNumber"] == page and body["PageSize"] == 100
        seen += names(body)
    assert len(seen) == 1000 == len(set(seen))
    default = world.call("DescribeInstances", HZ)
    assert default["PageSize"] == 10 and len(default["Instances"]["Instance"]) == 10


def test_next_token_paging() -> None:
    world = make_world(TAGS_1K)
    seen: list[str] = []
    params = {**HZ, "Tag.1.Key": "shard", "Tag.1.Value": "s3", "MaxResults": "30"}
    calls = 0
    while True:
        body = world.call("DescribeInstances", params)
        calls += 1
        seen += names(body)
        if not body["NextToken"]:
            break
        params["NextToken"] = body["NextToken"]
    assert len(seen) == 100 == len(set(seen)) and calls == 4
    assert all(int(name.split("-")[1]) % 10 == 3 for name in seen)


def test_describe_instance_attribute_is_flat_without_protection_or_tags(world: World) -> None:
    body = world.call("DescribeInstanceAttribute", {"InstanceId": WEB_PROD_1})
    assert body["InstanceName"] == "web-prod-1"
    assert "DeletionProtection" not in body and "Tags" not in body and "AutoReleaseTime" not in body
    assert refused(world, "DescribeInstanceAttribute", {"InstanceId": "i-nope"}).code == "InvalidInstanceId.NotFound"


def test_describe_instance_status(world: World) -> None:
    body = world.call("DescribeInstanceStatus", {**HZ, "InstanceId.1": WEB_PROD_1, "InstanceId.2": BATCH_OLD_1})
    assert body["InstanceStatuses"]["InstanceStatus"] == [
        {"InstanceId": WEB_PROD_1, "Status": "Running"}, {"InstanceId": BATCH_OLD_1, "Status": "Stopped"}]
    assert refused(world, "DescribeInstanceStatus", {**HZ, "PageSize": "51"}).code == "InvalidParameter"


def test_describe_disks_filters(world: World) -> None:
    body = world.call("DescribeDisks", {**HZ, "InstanceId": WEB_PROD_1})
    disks = body["Disks"]["Disk"]
    assert [d["Type"] for d in disks] == ["system", "data"]
    system, data = disks
    assert (system["Portable"], system["DeleteWithInstance"], system["Device"]) == (False, True, "/dev/xvda")
    assert (data["Portable"], data["DeleteWithInstance"], data["DiskName"]) == (True, False, "web-prod-1-static")
    assert data["Attachments"]["Attachment"][0]["InstanceId"] == WEB_PROD_1
    kept = world.call("DescribeDisks", {**HZ, "DeleteWithInstance": "false", "DiskType": "data", "PageSize": "100"})
    assert {d["DiskName"] for d in kept["Disks"]["Disk"]} == {
        "web-prod-1-static", "web-prod-2-static", "db-prod-1-data", "batch-old-2-results", "orphan-logs"}
    available = world.call("DescribeDisks", {**HZ, "Status": "Available"})["Disks"]["Disk"]
    assert [(d["DiskName"], d["InstanceId"], d["Attachments"]) for d in available] == [
        ("orphan-logs", "", {"Attachment": []})]
    ids = [system["DiskId"], data["DiskId"]]
    assert world.call("DescribeDisks", {**HZ, "DiskIds": json.dumps(ids)})["TotalCount"] == 2
    assert world.call("DescribeDisks", {**HZ, "Portable": "FALSE", "InstanceId": WEB_PROD_1})["TotalCount"] == 1


def test_describe_disks_paging_limits(world: World) -> None:
    assert refused(world, "DescribeDisks", {**HZ, "DiskIds": "[1,2]"}).code == "InvalidParameter.DiskIds"
    assert refused(world, "DescribeDisks", {**HZ, "PageSize": "101"}).code == "InvalidParameter"
    assert refused(world, "DescribeDisks", {**HZ, "MaxResults": "501"}).code == "InvalidParameter"
    first = world.call("DescribeDisks", {**HZ, "MaxResults": "500"})
    assert first["NextToken"] == "" and first["TotalCount"] == len(first["Disks"]["Disk"])
    page = world.call("DescribeDisks", {**HZ, "MaxResults": "5"})
    rest = world.call("DescribeDisks", {**HZ, "MaxResults": "500", "NextToken": page["NextToken"]})
    assert len(page["Disks"]["Disk"]) + len(rest["Disks"]["Disk"]) == first["TotalCount"]


def test_booleans_are_case_insensitive_and_validated(world: World) -> None:
    assert world.call("DescribeDisks", {**HZ, "Portable": "True"})["TotalCount"] > 0
    assert refused(world, "DescribeDisks", {**HZ, "Portable": "yes"}).code == "InvalidParameter"
