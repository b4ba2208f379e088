"""ecs_instance_info through ``ansible`` against the emulator: results, recorded calls, failures."""

from __future__ import annotations

import json
import math

from collection_link import REPO

import pytest

PRODUCTION = ["i-bpwebprod1000000001", "i-bpwebprod2000000002", "i-bpdbprod10000000001"]


def test_reports_instances_selected_by_tag(ecs):
    ecs.load("demo")
    run = ecs.module("ecs_instance_info", tags={"env": "production"})
    assert run.rc == 0, run.stdout + run.stderr
    reported = {i["id"]: i for i in run.result["instances"]}
    assert sorted(reported) == sorted(PRODUCTION)
    state = ecs.instances()
    for instance_id, report in reported.items():
        assert report["name"] == state[instance_id]["name"]
        assert report["deletion_protection"] is state[instance_id]["deletion_protection"]
        assert report["tags"] == state[instance_id]["tags"]
        assert report["disks"][0]["type"] == "system"
    web1 = reported["i-bpwebprod1000000001"]
    assert web1["eip"] == {"allocation_id": "eip-bpwebprod10000001", "ip_address": "47.96.10.11"}
    assert reported["i-bpwebprod2000000002"]["public_ips"] == ["47.96.10.12"]
    assert reported["i-bpdbprod10000000001"]["charge_type"] == "PrePaid"
    assert reported["i-bpdbprod10000000001"]["expired"] is False
    kept = [d for d in web1["disks"] if d["type"] == "data"]
    assert kept and all(d["delete_with_instance"] is False and d["portable"] for d in kept)
    # One listing, then one disk listing per instance (3 instances is a small selection); nothing written.
    assert ecs.count("DescribeInstances") == 1
    assert ecs.count("DescribeDisks") == 3
    assert ecs.write_calls() == []


def test_explicit_ids_are_anded_with_filters_and_missing_ids_reported(ecs):
    ecs.load("demo")
    run = ecs.module("ecs_instance_info", include_disks=False, name="web-*",
                     instance_ids=["i-bpwebprod1000000001", "i-bpdbprod10000000001", "i-doesnotexist000001"])
    assert run.rc == 0, run.stdout
    assert [i["id"] for i in run.result["instances"]] == ["i-bpwebprod1000000001"]
    assert run.result["missing_instance_ids"] == ["i-doesnotexist000001"]
    assert run.result["unmatched_instance_ids"] == ["i-bpdbprod10000000001"]
    assert "disks" not in run.result["instances"][0]
    assert [c["action"] for c in ecs.calls()] == ["DescribeInstances"]


def test_ad_hoc_through_pytest_ansible(ecs, localhost, monkeypatch):
    ecs.load("demo")
    for name, value in ecs.env.items():
        if name.startswith(("ALIBABA_CLOUD_", "ANSIBLE_")):
            monkeypatch.setenv(name, value)
    run = getattr(localhost, "alicloud_ecs.lifecycle.ecs_instance_info")(name="batch-old-*", include_disks=False)
    result = run["localhost"]
    assert not result.get("failed"), result
    expected = sorted(i["name"] for i in ecs.instances().values() if i["name"].startswith("batch-old-"))
    assert len(expected) >= 3
    assert sorted(i["name"] for i in result["instances"]) == expected
    assert all(c["params"]["InstanceName"] == "batch-old-*" for c in ecs.calls("DescribeInstances"))


def test_playbook_with_module_defaults_group(ecs):
    ecs.load("demo")
    endpoint = ecs.env.pop("ALIBABA_CLOUD_ECS_ENDPOINT")
    region = ecs.env.pop("ALIBABA_CLOUD_REGION_ID")
    run = ecs.playbook([{
        "name": "Report the Shanghai branch",
        "hosts": "localhost",
        "gather_facts": False,
        "module_defaults": {"group/alicloud_ecs.lifecycle.ecs": {"region": "cn-shanghai", "ecs_endpoint": endpoint}},
        "tasks": [
            {"name": "Report", "alicloud_ecs.lifecycle.ecs_instance_info": {}, "register": "shanghai"},
            {"name": "Check", "ansible.builtin.assert": {"that": ["shanghai.instances | length > 0"]}},
        ],
    }])
    assert run.rc == 0, run.stdout + run.stderr
    assert region == "cn-hangzhou"  # the environment said Hangzhou; module_defaults won
    report = run.task("Report")
    expected = sorted(ecs.instances("cn-shanghai"))
    assert expected and sorted(i["id"] for i in report["instances"]) == expected
    assert {c["region"] for c in ecs.calls()} == {"cn-shanghai"}


def test_thousand_instances_take_ten_listings_and_bounded_disk_calls(ecs):
    ecs.load("tags-1k")
    run = ecs.module("ecs_instance_info", tags={"team": "retire"})
    assert run.rc == 0, run.stdout
    assert len(run.result["instances"]) == 1000
    assert all(len(i["disks"]) >= 1 for i in run.result["instances"])
    disks_in_region = len(ecs.emu.state("cn-hangzhou")["regions"]["cn-hangzhou"]["disks"])
    # The stated bound: ceil(disks in the region / 500) DescribeDisks for a selection over 10 instances.
    assert ecs.count("DescribeInstances") <= 10
    assert ecs.count("DescribeDisks") <= math.ceil(disks_in_region / 500)
    assert ecs.write_calls() == []


def test_thirty_percent_throttling_is_retried(ecs):
    ecs.load("tags-1k")
    ecs.emu.set_faults({"*": {"throttle": 0.3}}, seed=3)
    run = ecs.module("ecs_instance_info", tags={"team": "retire"}, include_disks=True)
    assert run.rc == 0, run.stdout
    assert len(run.result["instances"]) == 1000
    throttled = [c for c in ecs.calls() if c["code"] == "Throttling.User"]
    assert throttled, "the fault plan should have throttled some calls"


def test_full_throttling_fails_within_the_retry_budget(ecs):
    ecs.load("demo")
    ecs.emu.set_faults({"DescribeInstances": {"throttle": 1.0}})
    run = ecs.module("ecs_instance_info", tags={"env": "production"}, api_retries=2)
    assert run.rc != 0
    assert run.tasks[-1]["status"] == "failed"
    assert run.result["msg"].startswith("DescribeInstances failed: Throttling.User: ")
    assert "(request id " in run.result["msg"]
    assert run.result["error"]["attempts"] == 3
    assert len(ecs.calls("DescribeInstances")) == 3


def test_wrong_secret_is_a_clear_signature_error(ecs):
    ecs.load("demo")
    ecs.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = "not-the-secret"
    run = ecs.module("ecs_instance_info", name="web-*")
    assert run.rc != 0
    assert run.result["msg"].startswith("DescribeInstances failed: SignatureDoesNotMatch: ")
    assert run.result["error"]["attempts"] == 1  # not retried


@pytest.mark.parametrize("args, option", [
    ({"ecs_endpoint": "http://192.0.2.10:8042"}, "ecs_endpoint"),
    ({"instance_ids": ["web-prod-1"]}, "instance_ids"),
    ({"api_retries": -1}, "api_retries"),
    ({"region": "Hangzhou"}, "region"),
])
def test_bad_input_fails_naming_the_option_with_no_call(ecs, args, option):
    ecs.load("demo")
    run = ecs.module("ecs_instance_info", **args)
    assert run.rc != 0
    assert run.result["msg"].startswith(f"{option}: "), run.result["msg"]
    assert ecs.calls() == []


def test_secrets_are_never_printed(ecs):
    ecs.load("demo")
    secret = ecs.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]
    ecs.env.pop("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
    run = ecs.module("ecs_instance_info", name="web-*", access_key_secret=secret, security_token="sts-token-value")
    # A security token with a plain key pair is refused by the emulator, which is fine: the point is the output.
    verbose = ecs.playbook([{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "Report", "alicloud_ecs.lifecycle.ecs_instance_info": {
            "name": "web-*", "access_key_secret": secret}}],
    }], verbosity=4)
    assert "ecs_instance_info" in verbose.stdout
    for text in (run.stdout, run.stderr, str(run.result), verbose.stdout, verbose.stderr):
        assert secret not in text
        assert "sts-token-value" not in text


def test_fleet_report_runbook_fans_out_over_regions(ecs):
    ecs.load("demo")
    ecs.env.pop("ALIBABA_CLOUD_REGION_ID")  # each inventory host is its region
    run = ecs.playbook("alicloud_ecs.lifecycle.fleet_report", inventory=str(REPO / "inventory" / "demo.yml"))
    assert run.rc == 0, run.stdout + run.stderr
    lines = {entry["host"]: entry["result"]["msg"] for entry in run.tasks if entry["task"] == "Show one line per instance"}
    assert set(lines) == {"cn-hangzhou", "cn-shanghai"}
    for region, shown in lines.items():
        names = sorted(line.split()[0] for line in shown)
        assert names == sorted(i["name"] for i in ecs.instances(region).values())
    web1 = next(line for line in lines["cn-hangzhou"] if line.startswith("web-prod-1 "))
    assert "protected" in web1.split() and "EIP 47.96.10.11" in web1
    assert ecs.write_calls() == []


def _aliyun_cli_profiles(ecs, current):
    """An aliyun CLI config in a private HOME, with the emulator's key and a wrong one; no keys in the environment."""
    home = ecs.tmp_path / "home"
    (home / ".aliyun").mkdir(parents=True)
    (home / ".aliyun" / "config.json").write_text(json.dumps({"current": current, "profiles": [
        {"name": "emulator", "mode": "AK", "region_id": "cn-hangzhou",
         "access_key_id": ecs.emu.access_key_id, "access_key_secret": ecs.emu.access_key_secret},
        {"name": "stale", "mode": "AK", "region_id": "cn-hangzhou",
         "access_key_id": "LTAI5tStaleKey0000000000", "access_key_secret": "stale"},
    ]}))
    ecs.env["HOME"] = str(home)
    ecs.env.pop("ALIBABA_CLOUD_ACCESS_KEY_ID")
    ecs.env.pop("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
    # Never reach for the instance metadata service from a test.
    ecs.env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"


def test_named_aliyun_cli_profile_supplies_the_credentials(ecs):
    ecs.load("demo")
    _aliyun_cli_profiles(ecs, current="stale")
    run = ecs.module("ecs_instance_info", name="web-*", include_disks=False, profile="emulator")
    assert run.rc == 0, run.stdout + run.stderr
    assert {c["access_key_id"] for c in ecs.calls()} == {ecs.emu.access_key_id}


def test_default_credential_chain_is_used_without_keys(ecs):
    ecs.load("demo")
    _aliyun_cli_profiles(ecs, current="emulator")
    run = ecs.module("ecs_instance_info", name="web-*", include_disks=False)
    assert run.rc == 0, run.stdout + run.stderr
    assert {c["access_key_id"] for c in ecs.calls()} == {ecs.emu.access_key_id}


def test_a_profile_with_a_stale_key_fails_clearly(ecs):
    ecs.load("demo")
    _aliyun_cli_profiles(ecs, current="emulator")
    run = ecs.module("ecs_instance_info", name="web-*", profile="stale")
    assert run.rc != 0
    assert run.result["msg"].startswith("DescribeInstances failed: InvalidAccessKeyId.NotFound: ")
