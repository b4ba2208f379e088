"""ecs_image through ``ansible`` against the emulator: check mode, the real run, idempotency by name."""

from __future__ import annotations

import pytest

REGION = "cn-hangzhou"
RETIRED = ["i-bpbatchold100000001", "i-bpbatchold200000002"]


def images_named(ecs, prefix):
    return {i["name"]: i for i in ecs.emu.state(REGION)["regions"][REGION]["images"].values()
            if i["name"].startswith(prefix)}


@pytest.fixture
def demo(ecs):
    ecs.load("demo")
    ecs.emu.configure(snapshot_seconds=2, image_seconds=2)
    return ecs


def test_check_then_create_then_rerun(demo):
    check = demo.module("ecs_image", check=True, diff=True, instance_ids=RETIRED, name_prefix="retire")
    assert check.rc == 0, check.stdout + check.stderr
    assert check.result["changed"] is True
    assert check.result["actions"] == [f"create image retire-{i} of {i}" for i in RETIRED]
    assert [i["status"] for i in check.result["instances"]] == ["Planned", "Planned"]
    assert check.result["diff"]["after"] == {i: {"image": f"retire-{i}"} for i in RETIRED}
    assert demo.write_calls() == []

    demo.emu.clear_calls()
    run = demo.module("ecs_image", instance_ids=RETIRED, name_prefix="retire", image_tags={"ticket": "CHG-1"})
    assert run.rc == 0, run.stdout
    images = images_named(demo, "retire-")
    assert sorted(images) == [f"retire-{i}" for i in RETIRED]
    assert all(i["status"] == "Available" and i["tags"] == {"ticket": "CHG-1"} for i in images.values())
    assert all(i["source_instance_id"] in RETIRED for i in images.values())
    assert run.result["changed"] is True
    assert sorted(run.result["created_image_ids"]) == sorted(i["id"] for i in images.values())
    assert [i["status"] for i in run.result["instances"]] == ["Available", "Available"]
    calls = [c for c in demo.calls("CreateImage") if c["status"] == 200]
    assert [c["params"]["InstanceId"] for c in sorted(calls, key=lambda c: c["params"]["InstanceId"])] == RETIRED
    assert all(c["params"]["ClientToken"] for c in calls)
    # The name lookup asks for every status, so an image still being created is seen.
    lookups = [c for c in demo.calls("DescribeImages") if "ImageName" in c["params"]]
    assert len(lookups) == 2 and all("Creating" in c["params"]["Status"] for c in lookups)

    demo.emu.clear_calls()
    again = demo.module("ecs_image", instance_ids=RETIRED, name_prefix="retire")
    assert again.rc == 0, again.stdout
    assert again.result["changed"] is False and again.result["actions"] == []
    assert [i["image_id"] for i in again.result["instances"]] == [i["image_id"] for i in run.result["instances"]]
    assert demo.write_calls() == []
    assert len(images_named(demo, "retire-")) == 2


def test_an_image_still_creating_is_reused_and_waited_for(demo):
    demo.emu.configure(image_seconds=3600)
    first = demo.module("ecs_image", instance_ids=RETIRED[:1], name_prefix="slow", wait=False)
    assert first.rc == 0, first.stdout
    assert first.result["instances"][0]["status"] == "Creating"

    demo.emu.clear_calls()
    timed_out = demo.module("ecs_image", instance_ids=RETIRED[:1], name_prefix="slow", wait_timeout=2)
    assert timed_out.rc != 0
    assert timed_out.result["msg"].startswith("Timed out after 2s waiting for images to become Available")
    assert demo.write_calls() == []

    demo.emu.advance(3600)
    again = demo.module("ecs_image", instance_ids=RETIRED[:1], name_prefix="slow")
    assert again.rc == 0 and again.result["changed"] is False
    assert again.result["instances"][0]["status"] == "Available"
    assert again.result["instances"][0]["image_id"] == first.result["instances"][0]["image_id"]
    assert demo.write_calls() == []
    assert len(images_named(demo, "slow-")) == 1


def test_refused_create_fails_naming_the_instance(demo):
    demo.emu.set_faults({"CreateImage": {"internal_error": 1.0}})
    run = demo.module("ecs_image", instance_ids=RETIRED[:1], name_prefix="broken", api_retries=0)
    assert run.rc != 0
    assert RETIRED[0] in run.result["msg"] and "InternalError" in run.result["msg"]
    assert run.result["instances"][0]["status"] == "NotCreated"
    assert images_named(demo, "broken-") == {}


def test_bad_name_prefix_is_refused_before_any_call(demo):
    run = demo.module("ecs_image", instance_ids=RETIRED[:1], name_prefix="aliyun-x")
    assert run.rc != 0
    assert run.result["msg"].startswith("name_prefix: ")
    assert demo.calls() == []
