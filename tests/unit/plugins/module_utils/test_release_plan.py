"""release_plan: what goes, what stays, every refusal at once, batches and tokens; no network."""

from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.alicloud_ecs.lifecycle.plugins.module_utils.release_plan import (
    PROTECTION_MODULE,
    ReleaseOptions,
    client_token,
    delete_batches,
    diff_before,
    disk_attribute_changes,
    refusal_message,
    release_plan,
    retained_disks,
    still_billing,
)

NOW = datetime(2026, 11, 26, 4, 0, tzinfo=timezone.utc)


def instance(instance_id, status="Stopped", charge_type="PostPaid", **fields):
    record = {"InstanceId": instance_id, "InstanceName": instance_id[2:], "Status": status,
              "InstanceChargeType": charge_type, "ExpiredTime": "2099-12-31T15:59Z", "DeletionProtection": False,
              "PublicIpAddress": {"IpAddress": []}, "InternetChargeType": "PayByTraffic",
              "EipAddress": {"AllocationId": "", "IpAddress": "", "InternetChargeType": ""},
              "OperationLocks": {"LockReason": []}}
    record.update(fields)
    return record


def disk(disk_id, instance_id, kind="data", category="cloud_essd", size=100, dwi=True, das=False, portable=None):
    return {"DiskId": disk_id, "InstanceId": instance_id, "Type": kind, "Category": category, "Size": size,
            "Portable": (kind == "data" and not category.startswith(("ephemeral", "local_"))) if portable is None
            else portable,
            "DeleteWithInstance": dwi, "DeleteAutoSnapshot": das, "DiskChargeType": "PostPaid"}


def snapshot(snapshot_id, disk_id, kind="user", size=100):
    return {"SnapshotId": snapshot_id, "SnapshotName": snapshot_id, "SnapshotType": kind,
            "SourceDiskId": disk_id, "SourceDiskSize": str(size)}


def one_machine():
    """A stopped pay-as-you-go machine with every kind of disk and snapshot."""
    inst = instance("i-one", EipAddress={"AllocationId": "eip-one", "IpAddress": "47.0.0.2", "InternetChargeType": "PayByTraffic"},
                    PublicIpAddress={"IpAddress": []})
    disks = {"i-one": [disk("d-sys", "i-one", kind="system", size=40, das=True),
                       disk("d-goes", "i-one", dwi=True, das=False),
                       disk("d-stays", "i-one", dwi=False, size=300),
                       disk("d-local", "i-one", category="ephemeral_ssd", size=447)]}
    snapshots = {"d-sys": [snapshot("s-sysauto", "d-sys", "auto", 40)],
                 "d-goes": [snapshot("s-goesauto", "d-goes", "auto"), snapshot("s-goesuser", "d-goes")],
                 "d-stays": [snapshot("s-staysauto", "d-stays", "auto", 300)]}
    eips = {"eip-one": {"AllocationId": "eip-one", "ChargeType": "PostPaid", "InternetChargeType": "PayByTraffic"}}
    return [inst], disks, snapshots, eips


def kinds(items):
    return {(item["kind"], item["id"]) for item in items}


def test_as_configured_follows_each_disks_flags_and_changes_nothing():
    plan = release_plan(*one_machine(), ReleaseOptions(), NOW)
    assert plan.refusals == []
    (entry,) = plan.instances
    assert kinds(entry.goes) == {("system_disk", "d-sys"), ("auto_snapshot", "s-sysauto"), ("data_disk", "d-goes"),
                                 ("local_disk", "d-local")}
    assert kinds(entry.stays) == {("auto_snapshot", "s-goesauto"), ("manual_snapshot", "s-goesuser"),
                                  ("data_disk", "d-stays"), ("auto_snapshot", "s-staysauto"), ("eip", "eip-one")}
    assert entry.disk_changes == []
    assert not (entry.force or entry.stop or entry.switch_to_postpaid or entry.terminate_subscription)
    reasons = {item["id"]: item["reason"] for item in entry.goes + entry.stays}
    assert reasons["d-stays"] == "DeleteWithInstance is false (data_disks=as_configured)"
    assert reasons["s-goesuser"] == "manual snapshots are never released with their disk"
    assert reasons["s-staysauto"] == "its disk stays"


def test_still_billing_lists_disks_eips_and_snapshots_left_behind():
    plan = release_plan(*one_machine(), ReleaseOptions(), NOW)
    billing = still_billing(plan)
    assert billing["disks"] == [{"id": "d-stays", "size": 300, "category": "cloud_essd", "charge_type": "PostPaid",
                                 "charge_type_before": "PostPaid", "instance_id": "i-one"}]
    assert billing["eips"] == [{"allocation_id": "eip-one", "ip_address": "47.0.0.2", "charge_type": "PostPaid",
                                "internet_charge_type": "PayByTraffic", "instance_id": "i-one"}]
    assert {(s["id"], s["type"], s["size"], s["source_disk_id"]) for s in billing["snapshots"]} == {
        ("s-goesauto", "auto", 100, "d-goes"), ("s-goesuser", "manual", 100, "d-goes"),
        ("s-staysauto", "auto", 300, "d-stays")}
    assert still_billing(plan, []) == {"disks": [], "eips": [], "snapshots": []}
    assert [d["id"] for d in retained_disks(plan)] == ["d-stays"]


def test_retain_keeps_every_cloud_data_disk_and_release_releases_all_but_retain_disk_ids():
    instances, disks, snapshots, eips = one_machine()
    disks["i-one"] = [d for d in disks["i-one"] if d["DiskId"] != "d-local"]
    retain = release_plan(instances, disks, snapshots, eips, ReleaseOptions(data_disks="retain"), NOW)
    assert retain.refusals == []
    assert retain.instances[0].disk_changes == [("d-goes", "DeleteWithInstance", False)]
    assert {d["id"] for d in retained_disks(retain)} == {"d-goes", "d-stays"}

    release = release_plan(instances, disks, snapshots, eips,
                           ReleaseOptions(data_disks="release", retain_disk_ids=("d-goes",)), NOW)
    assert release.refusals == []
    assert release.instances[0].disk_changes == [("d-goes", "DeleteWithInstance", False),
                                                 ("d-stays", "DeleteWithInstance", True)]
    assert [d["id"] for d in retained_disks(release)] == ["d-goes"]
    assert {i["id"]: i["reason"] for i in release.instances[0].stays}["d-goes"] == "listed in retain_disk_ids"


def test_auto_snapshot_choices_set_delete_auto_snapshot_on_disks_that_go_only():
    keep = release_plan(*one_machine(), ReleaseOptions(auto_snapshots="retain"), NOW).instances[0]
    assert keep.disk_changes == [("d-sys", "DeleteAutoSnapshot", False)]
    assert ("auto_snapshot", "s-sysauto") in kinds(keep.stays)
    drop = release_plan(*one_machine(), ReleaseOptions(auto_snapshots="release"), NOW).instances[0]
    # d-goes gets the flag; d-stays stays with its automatic snapshots; local disks have none.
    assert drop.disk_changes == [("d-goes", "DeleteAutoSnapshot", True)]
    assert ("auto_snapshot", "s-goesauto") in kinds(drop.goes)
    assert ("manual_snapshot", "s-goesuser") in kinds(drop.stays)
    assert ("auto_snapshot", "s-staysauto") in kinds(drop.stays)


def test_every_refusal_is_found_at_once_with_every_instance():
    instances = [
        instance("i-prot1", DeletionProtection=True),
        instance("i-prot2", status="Running", DeletionProtection=True),
        instance("i-run", status="Running"),
        instance("i-sub", charge_type="PrePaid", ExpiredTime="2027-06-01T00:00Z"),
        instance("i-lock", OperationLocks={"LockReason": [{"LockReason": "security"}]}),
        instance("i-start", status="Starting"),
        instance("i-fine"),
    ]
    disks = {"i-fine": [disk("d-sysfine", "i-fine", kind="system"), disk("d-localfine", "i-fine", category="local_ssd_pro")]}
    options = ReleaseOptions(retain_disk_ids=("d-sysfine", "d-localfine", "d-elsewhere"))
    plan = release_plan(instances, disks, {}, {}, options, NOW)
    by_reason = {r.reason: r.ids for r in plan.refusals}
    assert plan.refusals[0].reason == "retain_disk_ids: not attached to any selected instance"
    assert plan.refusals[0].ids == ["d-elsewhere"]
    protected = next(ids for reason, ids in by_reason.items() if PROTECTION_MODULE in reason)
    assert protected == ["i-prot1", "i-prot2"]
    not_stopped = next(ids for reason, ids in by_reason.items() if "running_instances=fail" in reason)
    assert not_stopped == ["i-prot2", "i-run"]
    assert next(ids for reason, ids in by_reason.items() if "not expired" in reason) == ["i-sub"]
    assert next(ids for reason, ids in by_reason.items() if "security" in reason) == ["i-lock"]
    assert next(ids for reason, ids in by_reason.items() if "starting" in reason) == ["i-start"]
    cannot_keep = [ids for reason, ids in by_reason.items() if reason.startswith("disks that cannot be kept")]
    assert sorted(i for ids in cannot_keep for i in ids) == ["d-localfine (i-fine)", "d-sysfine (i-fine)"]
    message = refusal_message(plan.refusals)
    assert message.startswith("Nothing was released or changed. ")
    for instance_id in ("i-prot1", "i-prot2", "i-run", "i-sub", "i-lock", "i-start", "d-elsewhere", "d-sysfine"):
        assert instance_id in message


def test_running_and_subscription_choices_set_the_right_flags():
    now_running = [instance("i-run", status="Running"), instance("i-stopping", status="Stopping")]
    stop = release_plan(now_running, {}, {}, {}, ReleaseOptions(running_instances="stop"), NOW)
    assert stop.refusals == []
    assert [(p.stop, p.wait_for_stopped, p.force) for p in stop.instances] == [(True, True, False), (False, True, False)]
    force = release_plan(now_running, {}, {}, {}, ReleaseOptions(running_instances="force"), NOW)
    assert [(p.stop, p.wait_for_stopped, p.force) for p in force.instances] == [(False, False, True), (False, False, True)]

    subs = [instance("i-unexpired", charge_type="PrePaid", ExpiredTime="2027-06-01T00:00Z"),
            instance("i-expired", charge_type="PrePaid", ExpiredTime="2026-11-01T00:00Z")]
    expired_only = release_plan(subs, {}, {}, {}, ReleaseOptions(), NOW)
    assert [r.ids for r in expired_only.refusals] == [["i-unexpired"]]
    assert "first switch its billing method to pay-as-you-go" in expired_only.refusals[0].reason
    convert = release_plan(subs, {}, {}, {}, ReleaseOptions(subscription_instances="convert_to_postpaid"), NOW)
    assert convert.refusals == []
    assert [(p.switch_to_postpaid, p.terminate_subscription) for p in convert.instances] == [(True, False), (False, True)]


def test_retain_public_ip_converts_only_pay_by_traffic_static_ips():
    instances = [instance("i-nat", PublicIpAddress={"IpAddress": ["47.0.0.1"]}),
                 instance("i-bw", PublicIpAddress={"IpAddress": ["47.0.0.3"]}, InternetChargeType="PayByBandwidth")]
    lose = release_plan(instances[:1], {}, {}, {}, ReleaseOptions(), NOW)
    assert kinds(lose.instances[0].goes) == {("static_ip", "47.0.0.1")}
    assert still_billing(lose)["eips"] == []
    keep = release_plan(instances, {}, {}, {}, ReleaseOptions(retain_public_ip=True), NOW)
    assert keep.instances[0].convert_public_ip == "47.0.0.1"
    assert kinds(keep.instances[0].stays) == {("static_ip", "47.0.0.1")}
    assert [r.ids for r in keep.refusals] == [["i-bw"]]
    assert "not billed by traffic" in keep.refusals[0].reason


def test_delete_batches_are_uniform_and_at_most_100():
    instances = ([instance(f"i-stop{n:04d}") for n in range(250)]
                 + [instance(f"i-run{n:04d}", status="Running") for n in range(30)]
                 + [instance(f"i-exp{n:04d}", charge_type="PrePaid", ExpiredTime="2026-01-01T00:00Z") for n in range(5)])
    plan = release_plan(instances, {}, {}, {}, ReleaseOptions(running_instances="force"), NOW)
    found = delete_batches(plan)
    assert [(len(b.instance_ids), b.force, b.terminate_subscription) for b in found] == [
        (100, False, False), (100, False, False), (50, False, False), (5, False, True), (30, True, False)]
    assert sorted(i for b in found for i in b.instance_ids) == sorted(i["InstanceId"] for i in instances)
    assert all(i.startswith("i-run") for i in found[-1].instance_ids)


def test_disk_attribute_changes_group_by_flag_in_batches_of_100():
    instances = [instance(f"i-{n:04d}") for n in range(150)]
    disks = {f"i-{n:04d}": [disk(f"d-{n:04d}", f"i-{n:04d}", dwi=n % 2 == 0)] for n in range(150)}
    plan = release_plan(instances, disks, {}, {}, ReleaseOptions(data_disks="retain"), NOW)
    changes = disk_attribute_changes(plan)
    assert [(attribute, value, len(ids)) for attribute, value, ids in changes] == [("DeleteWithInstance", False, 75)]
    plan = release_plan(instances, disks, {}, {}, ReleaseOptions(data_disks="retain", auto_snapshots="release"), NOW)
    assert disk_attribute_changes(plan) == [("DeleteWithInstance", False, [f"d-{n:04d}" for n in range(0, 150, 2)])]
    instances = [instance(f"i-{n:04d}") for n in range(150)]
    plan = release_plan(instances, {i: [disk(f"d-s{i}", i, kind="system")] for i in disks}, {}, {},
                        ReleaseOptions(auto_snapshots="release"), NOW)
    assert [(a, v, len(ids)) for a, v, ids in disk_attribute_changes(plan)] == [
        ("DeleteAutoSnapshot", True, 100), ("DeleteAutoSnapshot", True, 50)]


def test_client_token_depends_on_ids_and_options_not_order():
    token = client_token("cn-hangzhou", "DeleteInstances", ["i-b", "i-a"], Force=False, TerminateSubscription=False)
    assert token == client_token("cn-hangzhou", "DeleteInstances", ["i-a", "i-b"], TerminateSubscription=False, Force=False)
    assert len(token) == 64 and token.isascii()
    assert token != client_token("cn-hangzhou", "DeleteInstances", ["i-a", "i-b"], Force=True, TerminateSubscription=False)
    assert token != client_token("cn-hangzhou", "DeleteInstances", ["i-a"], Force=False, TerminateSubscription=False)
    assert token != client_token("cn-shanghai", "DeleteInstances", ["i-a", "i-b"], Force=False, TerminateSubscription=False)


def test_report_and_diff_come_from_the_same_plan():
    plan = release_plan(*one_machine(), ReleaseOptions(data_disks="retain", retain_public_ip=True), NOW)
    (report,) = plan.report()
    assert report["instance_id"] == "i-one"
    assert report["before_release"] == ["set DeleteWithInstance=false on d-goes (ModifyDiskAttribute)"]
    assert report["goes"] == plan.instances[0].goes and report["stays"] == plan.instances[0].stays
    before = diff_before(plan)["instances"]["i-one"]
    assert before["status"] == "Stopped"
    assert before["disks"]["d-goes"] == {"type": "data", "delete_with_instance": True, "delete_auto_snapshot": False}
