"""Building worlds for the world unit tests: a seeded world, a call that must fail, the demo fleet's ids."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from ecs_emulator.clock import VirtualClock
from ecs_emulator.errors import ApiError
from ecs_emulator.world import World

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEMO = str(EXAMPLES / "demo.yaml")
TAGS_1K = str(EXAMPLES / "tags-1k.yaml")
HZ = {"RegionId": "cn-hangzhou"}

WEB_PROD_1 = "i-bpwebprod1000000001"
WEB_PROD_2 = "i-bpwebprod2000000002"
DB_PROD_1 = "i-bpdbprod10000000001"
BATCH_OLD_1 = "i-bpbatchold100000001"
BATCH_OLD_2 = "i-bpbatchold200000002"
BATCH_OLD_3 = "i-bpbatchold300000003"
BATCH_OLD_4 = "i-bpbatchold400000004"
LOADTEST = "i-bploadtest100000001"
REPORT_LEGACY = "i-bpreportleg00000001"
DEV_SANDBOX = "i-bpdevsandbox0000001"
CACHE_SUB_SH = "i-ufcachesubsh0000001"


def make_world(fleet: dict[str, Any] | str | None = DEMO, state_path: str | None = None, seed: int = 3) -> World:
    world = World(VirtualClock(), random.Random(seed), state_path=state_path)
    if fleet is not None:
        world.load_fleet(fleet)
    return world


def refused(world: World, action: str, params: dict[str, str]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        world.call(action, params)
    return caught.value


def instance(world: World, instance_id: str, region: str = "cn-hangzhou") -> dict[str, Any]:
    return world.state(region)["regions"][region]["instances"][instance_id]


def describe(world: World, instance_id: str, region: str = "cn-hangzhou") -> dict[str, Any]:
    body = world.call("DescribeInstances", {"RegionId": region, "InstanceIds": f'["{instance_id}"]'})
    return body["Instances"]["Instance"][0]
