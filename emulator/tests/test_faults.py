"""Injected faults: what the client sees, what the call log records, and that a seed fixes the sequence."""

from __future__ import annotations

import concurrent.futures
import http.client
import time

import pytest
from alibabacloud_ecs20140526 import models
from emulator_clients import REGION, ecs_client, v3_request
from Tea.exceptions import TeaException

from ecs_emulator import Emulator, EmulatorError


def describe(emu: Emulator) -> None:
    ecs_client(emu).describe_instances(models.DescribeInstancesRequest(region_id=REGION))


def outcomes(emu: Emulator, count: int) -> list[int]:
    """The status of ``count`` DescribeInstances calls, sent one after another."""
    return [v3_request(emu, "DescribeInstances", {"RegionId": REGION})[0] for _ in range(count)]


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("throttle", 400, "Throttling.User"),
        ("unavailable", 503, "ServiceUnavailable"),
        ("internal_error", 500, "InternalError"),
    ],
)
def test_error_faults_reach_the_sdk_and_the_log_but_not_the_world(emu: Emulator, fault: str, status: int, code: str) -> None:
    emu.set_faults(actions={"DescribeInstances": {fault: 1.0}})
    with pytest.raises(TeaException) as raised:
        describe(emu)
    assert (raised.value.code, raised.value.status_code) == (code, status)
    assert raised.value.data["RequestId"] and raised.value.data["HostId"] == emu.endpoint
    (call,) = emu.calls(action="DescribeInstances")
    assert (call["status"], call["code"], call["reached_world"]) == (status, code, False)
    assert call["request_id"] == raised.value.data["RequestId"]


def test_throttle_message_is_the_gateways(emu: Emulator) -> None:
    emu.set_faults(actions={"*": {"throttle": 1.0}})
    status, body = v3_request(emu, "DescribeInstances", {"RegionId": REGION})
    assert status == 400
    assert body["Message"] == "Request was denied due to user flow control."


def test_faults_apply_only_to_their_action(emu: Emulator) -> None:
    emu.set_faults(actions={"DescribeInstanceStatus": {"unavailable": 1.0}})
    describe(emu)
    assert emu.calls()[-1]["status"] == 200


def test_drop_closes_the_connection_without_an_answer(emu: Emulator) -> None:
    emu.set_faults(actions={"DescribeInstances": {"drop": 1.0}})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        v3_request(emu, "DescribeInstances", {"RegionId": REGION})
    (call,) = emu.calls()
    assert (call["status"], call["code"], call["reached_world"]) == (0, "ConnectionDropped", False)


def test_a_seed_fixes_the_sequence_of_outcomes(emu: Emulator) -> None:
    emu.set_faults(actions={"DescribeInstances": {"throttle": 0.5}})
    first = outcomes(emu, 24)
    emu.set_faults(actions={"DescribeInstances": {"throttle": 0.5}})
    assert outcomes(emu, 24) == first
    assert set(first) == {200, 400}
    emu.set_faults(actions={"DescribeInstances": {"throttle": 0.5}}, seed=12345)
    assert outcomes(emu, 24) != first


def test_probabilities_add_up_to_one_draw(emu: Emulator) -> None:
    emu.set_faults(actions={"*": {"throttle": 0.25, "unavailable": 0.25, "internal_error": 0.25}})
    statuses = outcomes(emu, 60)
    assert {400, 503, 500, 200} == set(statuses)
    assert [call["status"] for call in emu.calls()] == statuses


def test_latency_entries_merge_with_the_action_entry(emu: Emulator) -> None:
    plan = emu.set_faults(actions={"*": {"latency_ms": 5}, "DescribeInstances": {"throttle": 0.0}})
    assert plan["actions"] == {"*": {"latency_ms": 5.0}, "DescribeInstances": {"throttle": 0.0}}
    describe(emu)
    assert emu.calls()[-1]["status"] == 200


def test_other_keys_in_a_fault_plan_are_world_settings(emu: Emulator) -> None:
    emu.set_faults(actions={}, release_lag_seconds=7, snapshot_fail_rate=0.5)
    assert emu.state()["settings"]["release_lag_seconds"] == 7
    assert emu.state()["settings"]["snapshot_fail_rate"] == 0.5


@pytest.mark.parametrize(
    "plan",
    [{"*": {"throttle": 1.5}}, {"*": {"explode": 0.1}}, {"*": "throttle"}, {"*": {"latency_ms": -1}}],
)
def test_a_bad_plan_is_refused_and_changes_nothing(emu: Emulator, plan: dict) -> None:
    emu.set_faults(actions={"DescribeInstances": {"throttle": 1.0}})
    with pytest.raises(EmulatorError, match="HTTP 400"):
        emu.set_faults(actions=plan)
    assert emu._admin("GET", "/faults")["actions"] == {"DescribeInstances": {"throttle": 1.0}}


def test_clear_and_reset_remove_faults(emu: Emulator) -> None:
    emu.set_faults(actions={"*": {"throttle": 1.0}})
    emu.clear_faults()
    describe(emu)
    emu.set_faults(actions={"*": {"throttle": 1.0}})
    emu.reset()
    describe(emu)


def test_faults_given_at_start_apply_from_the_first_call() -> None:
    with Emulator(faults={"actions": {"DescribeInstances": {"unavailable": 1.0}}}, seed=3) as emu:
        with pytest.raises(TeaException) as raised:
            describe(emu)
        assert raised.value.code == "ServiceUnavailable"


def test_allow_lets_that_many_calls_through_then_throttles(emu: Emulator) -> None:
    emu.set_faults(actions={"DescribeInstances": {"allow": 2}})
    assert outcomes(emu, 4) == [200, 200, 400, 400]
    assert [c["code"] for c in emu.calls()][2:] == ["Throttling.User", "Throttling.User"]
    describe_status = v3_request(emu, "DescribeInstanceStatus", {"RegionId": REGION})[0]
    assert describe_status == 200, "allow counts and limits only its own action"
    emu.set_faults(actions={"DescribeInstances": {"allow": 2}})
    assert outcomes(emu, 3) == [200, 200, 400], "a new plan starts the count again"


def test_allow_counts_only_calls_the_draw_let_through(emu: Emulator) -> None:
    emu.set_faults(actions={"DescribeInstances": {"throttle": 0.5, "allow": 3}}, seed=4)
    statuses = outcomes(emu, 30)
    assert statuses.count(200) == 3 and set(statuses) == {200, 400}
    assert statuses.index(200) < len(statuses) - 1


@pytest.mark.parametrize("allow", [-1, 1.5])
def test_allow_must_be_a_whole_number(emu: Emulator, allow: float) -> None:
    with pytest.raises(EmulatorError, match="allow for 'DescribeInstances'"):
        emu.set_faults(actions={"DescribeInstances": {"allow": allow}})


def test_a_plan_set_during_the_delay_decides_the_outcome(emu: Emulator) -> None:
    emu.set_faults(actions={"DescribeInstances": {"latency_ms": 2000}})
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(v3_request, emu, "DescribeInstances", {"RegionId": REGION})
        time.sleep(0.3)
        emu.set_faults(actions={"*": {"throttle": 1.0}})
        status, body = pending.result(10)
    assert (status, body["Code"]) == (400, "Throttling.User")
    (call,) = emu.calls()
    assert call["reached_world"] is False
