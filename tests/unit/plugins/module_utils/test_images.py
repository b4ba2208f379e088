from __future__ import annotations

import pytest

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.ecs_client import EcsClient
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.errors import EcsError, InvalidOptionError
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.images import ALL_STATUSES, image_instances
from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.retries import RetryPolicy

INSTANCES = [{"InstanceId": "i-aa", "InstanceName": "a"}, {"InstanceId": "i-bb", "InstanceName": "b"}]


class FakeEcs:
    def __init__(self, images=()):
        self.images = {i["ImageName"]: dict(i) for i in images}
        self.sent = []

    def __call__(self, action, request):
        self.sent.append((action, dict(request)))
        if action == "DescribeInstances":
            return {"Instances": {"Instance": INSTANCES}, "NextToken": ""}
        if action == "DescribeImages":
            assert request["Status"] == ALL_STATUSES
            found = [i for i in self.images.values()
                     if request.get("ImageName") in (None, i["ImageName"])
                     and (not request.get("ImageId") or i["ImageId"] in request["ImageId"].split(","))]
            for image in found:
                image["Status"] = "Available" if image["Status"] == "Creating" else image["Status"]
            return {"Images": {"Image": found}, "TotalCount": len(found)}
        if action == "CreateImage":
            image_id = f"m-{request['InstanceId']}"
            self.images[request["ImageName"]] = {"ImageId": image_id, "ImageName": request["ImageName"],
                                                 "Status": "Creating"}
            return {"ImageId": image_id}
        raise AssertionError(action)

    def actions(self, name):
        return [r for a, r in self.sent if a == name]


def run(fake, check_mode=False, **params):
    base = {"name_prefix": "keep", "description": None, "image_tags": {}, "wait": True, "wait_timeout": 30,
            "instance_ids": ["i-aa", "i-bb"], "tags": None, "name": None}
    base.update(params)
    return image_instances(EcsClient(fake, "cn-hangzhou", RetryPolicy(retries=0)), base, check_mode, diff=True)


def test_reuses_an_image_by_name_and_creates_the_other():
    fake = FakeEcs([{"ImageId": "m-old", "ImageName": "keep-i-aa", "Status": "Creating"}])
    result = run(fake)
    assert [r["InstanceId"] for r in fake.actions("CreateImage")] == ["i-bb"]
    assert fake.actions("CreateImage")[0]["ClientToken"].startswith("lifecycle-")
    assert [(i["image_id"], i["status"], i["created"]) for i in result["instances"]] == [
        ("m-old", "Available", False), ("m-i-bb", "Available", True)]
    assert result["changed"] is True and result["created_image_ids"] == ["m-i-bb"]
    assert result["diff"] == {"before": {"i-bb": {"image": None}}, "after": {"i-bb": {"image": "keep-i-bb"}}}


def test_check_mode_creates_nothing():
    fake = FakeEcs()
    result = run(fake, check_mode=True)
    assert fake.actions("CreateImage") == []
    assert result["changed"] is True and [i["status"] for i in result["instances"]] == ["Planned", "Planned"]


def test_a_failed_image_of_the_name_fails_the_task():
    fake = FakeEcs([{"ImageId": "m-bad", "ImageName": "keep-i-aa", "Status": "CreateFailed"}])
    with pytest.raises(EcsError) as raised:
        run(fake, instance_ids=["i-aa"])
    assert "i-aa" in raised.value.message and "CreateFailed" in raised.value.message
    assert fake.actions("CreateImage") == []  # the name is taken: nothing to create, nothing to reuse


@pytest.mark.parametrize("params, option", [
    ({"name_prefix": "acs:x"}, "name_prefix"),
    ({"image_tags": {"": "v"}}, "image_tags"),
    ({"wait_timeout": 0}, "wait_timeout"),
])
def test_bad_options_name_the_option(params, option):
    fake = FakeEcs()
    with pytest.raises(InvalidOptionError) as raised:
        run(fake, **params)
    assert raised.value.option == option and fake.sent == []
