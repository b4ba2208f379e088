"""The admin routes, the harness that drives them, and the command line."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from alibabacloud_ecs20140526 import models
from emulator_clients import REGION, SECOND_KEY, ecs_client, key_spec, small_fleet, v3_request

from ecs_emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, Emulator, EmulatorError
from ecs_emulator.harness import PACKAGE_ROOT


def describe(emu: Emulator, region: str = REGION) -> None:
    ecs_client(emu, region=region).describe_instances(models.DescribeInstancesRequest(region_id=region))


def admin_get(emu: Emulator, route: str) -> tuple[int, dict]:
    with urllib.request.urlopen(f"{emu.url}/_emulator{route}") as response:
        return response.status, json.loads(response.read())


# ----- calls -----------------------------------------------------------------------------------


def test_calls_are_recorded_in_order_with_their_fields(emu: Emulator) -> None:
    describe(emu)
    v3_request(emu, "DescribeInstanceStatus", {"RegionId": REGION}, key=SECOND_KEY)
    first, second = emu.calls()
    assert [first["seq"], second["seq"]] == [1, 2]
    assert first["action"] == "DescribeInstances" and second["action"] == "DescribeInstanceStatus"
    assert second["access_key_id"] == SECOND_KEY.id
    assert set(first) == {
        "seq", "action", "region", "access_key_id", "params", "status", "code", "request_id", "time", "write", "reached_world"
    }
    assert first["region"] == REGION and first["params"] == {"RegionId": REGION}
    assert first["time"] <= second["time"]


def test_calls_since_and_by_action(emu: Emulator) -> None:
    describe(emu)
    describe(emu)
    v3_request(emu, "DescribeInstanceStatus", {"RegionId": REGION})
    assert [call["seq"] for call in emu.calls(since=1)] == [2, 3]
    assert [call["seq"] for call in emu.calls(action="DescribeInstanceStatus")] == [3]
    status, body = admin_get(emu, "/calls?since=2")
    assert status == 200 and body["next"] == 3 and [call["seq"] for call in body["calls"]] == [3]


def test_write_calls_are_the_world_writes_whatever_the_outcome(emu: Emulator) -> None:
    describe(emu)
    status, _ = v3_request(emu, "ModifyInstanceAttribute", {"InstanceId": "i-missing", "InstanceName": "x"})
    assert status == 404
    (write,) = emu.write_calls()
    assert write["action"] == "ModifyInstanceAttribute" and write["code"] == "InvalidInstanceId.NotFound"
    assert write["reached_world"] is True


def test_clear_calls_restarts_the_sequence(emu: Emulator) -> None:
    describe(emu)
    emu.clear_calls()
    assert emu.calls() == []
    describe(emu)
    assert [call["seq"] for call in emu.calls()] == [1]


def test_admin_routes_are_not_recorded(emu: Emulator) -> None:
    emu.state()
    emu.clock()
    assert emu.calls() == []


def test_a_bad_since_is_a_400(emu: Emulator) -> None:
    with pytest.raises(urllib.error.HTTPError) as raised:
        admin_get(emu, "/calls?since=abc")
    assert raised.value.code == 400


# ----- state, clock, settings, fleet, reset ------------------------------------------------------


def test_state_is_the_worlds_view(emu: Emulator) -> None:
    state = emu.state()
    assert REGION in state["regions"]
    assert list(emu.state(region=REGION)["regions"]) == [REGION]


def test_clock_advances_and_reset_rewinds_it(emu: Emulator) -> None:
    before = emu.clock()
    assert set(before) == {"now", "iso", "offset", "speed"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", before["iso"])
    after = emu.advance(3600)
    assert after["offset"] == before["offset"] + 3600
    assert after["now"] >= before["now"] + 3600
    emu.reset()
    assert emu.clock()["offset"] == 0


def test_the_clock_only_moves_forward(emu: Emulator) -> None:
    with pytest.raises(EmulatorError, match="HTTP 400"):
        emu.advance(-1)


def test_configure_reaches_the_world_and_the_server(emu: Emulator) -> None:
    emu.configure(status_seconds=0, latency_ms=0)
    assert emu.state()["settings"]["status_seconds"] == 0
    assert emu.info()["latency_ms"] == 0
    with pytest.raises(EmulatorError, match="HTTP 400"):
        emu.configure(no_such_setting=1)


def test_load_fleet_from_a_dict_and_from_a_file(emu: Emulator, tmp_path: Path) -> None:
    emu.load_fleet(small_fleet(3))
    assert len(emu.state(region=REGION)["regions"][REGION]["instances"]) == 3
    path = tmp_path / "fleet.yaml"
    path.write_text(json.dumps(small_fleet(2)))  # JSON is YAML
    emu.load_fleet(path)
    assert len(emu.state(region=REGION)["regions"][REGION]["instances"]) == 2


def test_a_bad_fleet_is_a_400(emu: Emulator) -> None:
    with pytest.raises(EmulatorError, match="HTTP 400"):
        emu.load_fleet({"path": "/no/such/fleet.yaml"})


def test_reset_clears_calls_faults_and_clock(emu: Emulator) -> None:
    describe(emu)
    emu.set_faults(actions={"*": {"throttle": 1.0}})
    emu.advance(60)
    emu.reset()
    assert emu.calls() == [] and emu.clock()["offset"] == 0
    assert emu._admin("GET", "/faults") == {"actions": {}}


def test_info_lists_actions_and_keys(emu: Emulator) -> None:
    info = emu.info()
    assert "DescribeInstances" in info["actions"] and info["version"] == "2014-05-26"
    assert DEFAULT_ACCESS_KEY_ID in info["access_key_ids"]


def test_harness_environment_points_the_collection_here(emu: Emulator) -> None:
    env = emu.env()
    assert env["ALIBABA_CLOUD_ECS_ENDPOINT"] == emu.endpoint
    assert env["ALIBABA_CLOUD_ACCESS_KEY_ID"] == emu.access_key_id == DEFAULT_ACCESS_KEY_ID
    assert emu.url == f"http://{emu.endpoint}"


# ----- lifecycle and command line --------------------------------------------------------------


def serve(*args: str) -> subprocess.Popen[str]:
    env_path = {"PYTHONPATH": PACKAGE_ROOT}
    return subprocess.Popen(
        [sys.executable, "-m", "ecs_emulator", "serve", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_path
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_announces_its_address_and_stops_cleanly(signum: int) -> None:
    process = serve("--port", "0")
    try:
        first = process.stdout.readline()
        assert re.fullmatch(r"listening on http://127\.0\.0\.1:\d+\n", first)
        port = int(first.strip().rsplit(":", 1)[1])
        assert port > 0
        process.send_signal(signum)
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
        process.communicate()


def test_cli_loads_a_fleet_file(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(json.dumps(small_fleet(4)))
    process = serve("--fleet", str(fleet), "--latency-ms", "1", "--seed", "5", "--clock-speed", "2")
    try:
        address = process.stdout.readline().strip().removeprefix("listening on ")
        with urllib.request.urlopen(f"{address}/_emulator/state?region={REGION}") as response:
            assert len(json.loads(response.read())["regions"][REGION]["instances"]) == 4
        with urllib.request.urlopen(f"{address}/_emulator/clock") as response:
            assert json.loads(response.read())["speed"] == 2
        process.terminate()
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
        process.communicate()


def test_cli_refuses_a_malformed_access_key() -> None:
    process = serve("--access-key", "no-secret")
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 2 and "ID:SECRET" in stderr


def test_default_keys_work_without_flags_and_access_keys_replace_them() -> None:
    with Emulator() as emu:
        assert (emu.access_key_id, emu.access_key_secret) == (DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
        describe(emu)
    with Emulator(access_keys=[key_spec(SECOND_KEY)]) as emu:
        assert emu.access_key_id == SECOND_KEY.id
        status, body = v3_request(emu, "DescribeInstances", {"RegionId": REGION})
        assert (status, body["Code"]) == (404, "InvalidAccessKeyId.NotFound")
        assert v3_request(emu, "DescribeInstances", {"RegionId": REGION}, key=SECOND_KEY)[0] == 200


def test_stop_kill_and_restart_keep_the_port() -> None:
    emu = Emulator().start()
    try:
        port = emu.port
        assert emu.stop() == 0 and not emu.running
        emu.restart()
        assert emu.port == port
        describe(emu)
        assert emu.kill() == -signal.SIGKILL
        emu.restart()
        assert emu.port == port and emu.running
    finally:
        emu.stop()


def test_a_fleet_that_cannot_load_leaves_no_server_behind() -> None:
    emu = Emulator(fleet={"regions": {REGION: {"instances": [{"count": "many"}]}}})
    with pytest.raises(EmulatorError, match="HTTP 400"):
        emu.start()
    assert not emu.running and emu.process is None


def test_reset_and_new_fleet_restore_default_settings(emu: Emulator) -> None:
    defaults = emu.state()["settings"]
    emu.set_faults(actions={}, snapshot_fail_rate=0.5, release_lag_seconds=9)
    emu.reset()
    assert emu.state()["settings"] == defaults
    emu.set_faults(actions={}, snapshot_fail_rate=0.5)
    emu.load_fleet({"regions": {"cn-hangzhou": {"instances": []}}})
    assert emu.state()["settings"] == defaults
