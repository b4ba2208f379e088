"""How resources look in API responses and in ``World.state()``.

Response shapes follow the SDK models (``alibabacloud_ecs20140526.models``): empty values are ``""``
or ``[]`` inside their wrapper objects, never missing keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecs_emulator.world.model import (
    KINDS,
    NEVER_EXPIRES,
    PAY_AS_YOU_GO,
    Disk,
    Eip,
    Image,
    Instance,
    Snapshot,
    SnapshotGroup,
    minute_time,
    second_time,
    to_record,
)

if TYPE_CHECKING:
    from ecs_emulator.world.regions import RegionState
    from ecs_emulator.world.world import World

_LOCK_MESSAGES = {"financial": "The instance is locked because the subscription has expired.",
                  "security": "The instance is locked for security reasons."}


def tags_view(tags: dict[str, str], *, key: str = "TagKey", value: str = "TagValue") -> dict[str, Any]:
    return {"Tag": [{key: k, value: v} for k, v in tags.items()]}


def _eip_view(region: RegionState, instance: Instance) -> dict[str, Any]:
    eip = region.eips.get(instance.eip_id) if instance.eip_id else None
    if eip is None:
        return {"AllocationId": "", "IpAddress": "", "InternetChargeType": ""}
    return {"AllocationId": eip.id, "IpAddress": eip.ip, "InternetChargeType": eip.internet_charge_type,
            "Bandwidth": eip.bandwidth, "IsSupportUnassociate": True}


def _instance_common(world: World, region: RegionState, instance: Instance) -> dict[str, Any]:
    """Fields DescribeInstances and DescribeInstanceAttribute share."""
    return {
        "InstanceId": instance.id,
        "InstanceName": instance.name,
        "Description": instance.description,
        "HostName": instance.host_name or instance.name,
        "Status": instance.status,
        "InstanceChargeType": instance.charge_type,
        "ExpiredTime": NEVER_EXPIRES if instance.charge_type == PAY_AS_YOU_GO else minute_time(instance.expired_time),
        "CreationTime": minute_time(instance.creation_time),
        "RegionId": instance.region,
        "ZoneId": instance.zone,
        "InstanceType": instance.instance_type,
        "Cpu": instance.cpu,
        "Memory": instance.memory,
        "ImageId": instance.image_id,
        "InstanceNetworkType": "vpc",
        "IoOptimized": True,
        "InternetChargeType": instance.internet_charge_type,
        "InternetMaxBandwidthIn": 100,
        "InternetMaxBandwidthOut": instance.bandwidth_out if instance.public_ip else 0,
        "PublicIpAddress": {"IpAddress": [instance.public_ip] if instance.public_ip else []},
        "InnerIpAddress": {"IpAddress": []},
        "EipAddress": _eip_view(region, instance),
        "VpcAttributes": {"VpcId": instance.vpc_id, "VSwitchId": instance.vswitch_id, "NatIpAddress": "",
                          "PrivateIpAddress": {"IpAddress": [instance.private_ip] if instance.private_ip else []}},
        "SecurityGroupIds": {"SecurityGroupId": [instance.security_group_id] if instance.security_group_id else []},
        "OperationLocks": {"LockReason": [{"LockReason": lock, "LockMsg": _LOCK_MESSAGES.get(lock, "")}
                                          for lock in instance.locks]},
        "StoppedMode": instance.stopped_mode if instance.status == "Stopped" else "Not-applicable",
        "SerialNumber": f"{instance.id[2:10]}-0000-4000-8000-{instance.id[-12:]:0>12}",
        "VlanId": "",
        "ClusterId": "",
        "CreditSpecification": "",
    }


def render_instance(world: World, region: RegionState, instance: Instance, now: float) -> dict[str, Any]:
    view = _instance_common(world, region, instance)
    view.update({
        "AutoReleaseTime": minute_time(instance.auto_release_time),
        "DeletionProtection": instance.deletion_protection,
        "Tags": tags_view(instance.tags),
        "StartTime": minute_time(instance.start_time),
        "OSName": instance.os_name,
        "OSNameEn": instance.os_name,
        "OSType": "windows" if "windows" in instance.os_name.lower() else "linux",
        "InstanceTypeFamily": instance.instance_type.rsplit(".", 1)[0],
        "ResourceGroupId": "",
        "KeyPairName": "",
        "DeploymentSetId": "",
        "SpotStrategy": "NoSpot",
        "SpotPriceLimit": 0.0,
        "SaleCycle": "",
        "Recyclable": False,
        "DeviceAvailable": True,
        "GPUAmount": 0,
        "GPUSpec": "",
        "LocalStorageAmount": 0,
        "LocalStorageCapacity": 0,
        "HpcClusterId": "",
        "NetworkInterfaces": {"NetworkInterface": [{
            "NetworkInterfaceId": f"eni-{instance.id[2:]}", "Type": "Primary", "MacAddress": "",
            "PrimaryIpAddress": instance.private_ip,
            "PrivateIpSets": {"PrivateIpSet": [{"PrivateIpAddress": instance.private_ip, "Primary": True}]
                              if instance.private_ip else []},
        }]},
    })
    return view


def render_instance_attribute(world: World, region: RegionState, instance: Instance, now: float) -> dict[str, Any]:
    """DescribeInstanceAttribute: flat fields; no DeletionProtection, AutoReleaseTime or Tags (as the real API)."""
    return _instance_common(world, region, instance)


def render_disk(disk: Disk) -> dict[str, Any]:
    attached = disk.status == "In_use" and disk.instance_id
    attachment = {"InstanceId": disk.instance_id, "Device": disk.device, "AttachedTime": second_time(disk.attached_time)}
    return {
        "DiskId": disk.id,
        "DiskName": disk.name,
        "Description": disk.description,
        "Type": disk.type,
        "Category": disk.category,
        "Size": disk.size,
        "Status": disk.status,
        "InstanceId": disk.instance_id,
        "Device": disk.device,
        "Portable": disk.portable,
        "DeleteWithInstance": disk.delete_with_instance,
        "DeleteAutoSnapshot": disk.delete_auto_snapshot,
        "EnableAutoSnapshot": disk.enable_auto_snapshot,
        "EnableAutomatedSnapshotPolicy": False,
        "AutoSnapshotPolicyId": "",
        "DiskChargeType": disk.charge_type,
        "RegionId": disk.region,
        "ZoneId": disk.zone,
        "CreationTime": second_time(disk.creation_time),
        "AttachedTime": second_time(disk.attached_time) if attached else "",
        "DetachedTime": second_time(disk.detached_time),
        "ExpiredTime": "2999-09-08T16:00Z" if disk.charge_type == PAY_AS_YOU_GO else "",
        "ImageId": disk.image_id,
        "SourceSnapshotId": disk.source_snapshot_id,
        "Encrypted": False,
        "KMSKeyId": "",
        "PerformanceLevel": "PL1" if disk.category == "cloud_essd" else "",
        "IOPS": 0,
        "MultiAttach": "Disabled",
        "SerialNumber": disk.id[2:],
        "ResourceGroupId": "",
        "StorageSetId": "",
        "BdfId": "",
        "ProductCode": "",
        "Tags": tags_view(disk.tags),
        "OperationLocks": {"OperationLock": []},
        "Attachments": {"Attachment": [attachment] if attached else []},
        "MountInstances": {"MountInstance": []},
    }


def snapshot_status(snapshot: Snapshot, now: float) -> str:
    if now < snapshot.done_time:
        return "progressing"
    return "failed" if snapshot.fails else "accomplished"


def snapshot_progress(snapshot: Snapshot, now: float) -> str:
    """Progress grows with the clock; a failing snapshot stops short of 100%."""
    span = max(snapshot.done_time - snapshot.creation_time, 1e-9)
    percent = int(min(1.0, max(0.0, (now - snapshot.creation_time) / span)) * 100)
    if snapshot.fails:
        percent = min(percent, 60)
    return f"{percent}%"


def render_snapshot(snapshot: Snapshot, now: float) -> dict[str, Any]:
    status = snapshot_status(snapshot, now)
    return {
        "SnapshotId": snapshot.id,
        "SnapshotName": snapshot.name,
        "Description": snapshot.description,
        "Status": status,
        "Progress": snapshot_progress(snapshot, now),
        "Available": status == "accomplished",
        "SourceDiskId": snapshot.disk_id,
        "SourceDiskType": snapshot.disk_type.capitalize(),
        "SourceDiskSize": str(snapshot.disk_size),
        "SourceStorageType": "disk",
        "SnapshotType": snapshot.snapshot_type,
        "Usage": snapshot.usage,
        "Category": "standard",
        "CreationTime": second_time(snapshot.creation_time),
        "LastModifiedTime": second_time(min(now, snapshot.done_time)),
        "RetentionDays": snapshot.retention_days if snapshot.retention_days is not None else 0,
        "RemainTime": max(0, int(snapshot.done_time - now)),
        "RegionId": snapshot.region,
        "Encrypted": False,
        "KMSKeyId": "",
        "InstantAccess": False,
        "InstantAccessRetentionDays": 0,
        "ProductCode": "",
        "ResourceGroupId": "",
        "SnapshotSN": snapshot.id[2:],
        "SourceSnapshotId": "",
        "SourceRegionId": "",
        "Tags": tags_view(snapshot.tags),
    }


def snapshot_group_status(region: RegionState, group: SnapshotGroup, now: float) -> str:
    statuses = {snapshot_status(s, now) for s in (region.snapshots.get(i) for i in group.snapshot_ids) if s}
    if "failed" in statuses:
        return "failed"
    if "progressing" in statuses:
        return "progressing"
    return "accomplished"


def render_snapshot_group(region: RegionState, group: SnapshotGroup, now: float) -> dict[str, Any]:
    members = [s for s in (region.snapshots.get(i) for i in group.snapshot_ids) if s]
    return {
        "SnapshotGroupId": group.id,
        "Name": group.name,
        "Description": group.description,
        "InstanceId": group.instance_id,
        "CreationTime": second_time(group.creation_time),
        "Status": snapshot_group_status(region, group, now),
        "ProgressStatus": "",
        "ResourceGroupId": "",
        "Tags": tags_view(group.tags, key="Key", value="Value"),
        "Snapshots": {"Snapshot": [{
            "SnapshotId": s.id, "SourceDiskId": s.disk_id, "SourceDiskType": s.disk_type.capitalize(),
            "Progress": snapshot_progress(s, now), "Available": snapshot_status(s, now) == "accomplished",
            "InstantAccess": False, "InstantAccessRetentionDays": 0,
            "Tags": tags_view(s.tags, key="Key", value="Value"),
        } for s in members]},
    }


def image_status(image: Image, now: float) -> str:
    return "Available" if now >= image.done_time else "Creating"


def render_image(image: Image, now: float) -> dict[str, Any]:
    span = max(image.done_time - image.creation_time, 1e-9)
    progress = int(min(1.0, max(0.0, (now - image.creation_time) / span)) * 100)
    return {
        "ImageId": image.id,
        "ImageName": image.name,
        "Description": image.description,
        "Status": image_status(image, now),
        "Progress": f"{progress}%",
        "ImageOwnerAlias": image.owner,
        "ImageOwnerId": 0,
        "IsPublic": image.owner == "system",
        "IsSelfShared": "",
        "IsSubscribed": False,
        "IsCopied": False,
        "IsSupportCloudinit": True,
        "IsSupportIoOptimized": True,
        "Usage": "instance" if image.owner == "self" else "none",
        "Architecture": "x86_64",
        "BootMode": "BIOS",
        "Platform": "Aliyun",
        "OSName": image.os_name,
        "OSNameEn": image.os_name,
        "OSType": "linux",
        "Size": image.size,
        "CreationTime": second_time(image.creation_time),
        "ImageFamily": "",
        "ImageVersion": "",
        "ProductCode": "",
        "ResourceGroupId": "",
        "SupplierName": "",
        "LicenseType": "",
        "LoginAsNonRootSupported": False,
        "DiskDeviceMappings": {"DiskDeviceMapping": [
            {"Device": device, "SnapshotId": snapshot_id, "Size": str(size), "Type": "system" if n == 0 else "data",
             "Format": "", "ImportOSSBucket": "", "ImportOSSObject": "", "Progress": f"{progress}%", "RemainTime": 0,
             "Encrypted": "false"}
            for n, (device, snapshot_id, size) in enumerate(image.mappings)]},
        "Tags": tags_view(image.tags),
    }


def render_eip(eip: Eip) -> dict[str, Any]:
    return {
        "AllocationId": eip.id,
        "IpAddress": eip.ip,
        "Status": eip.status,
        "InstanceId": eip.instance_id,
        "InstanceType": "EcsInstance" if eip.instance_id else "",
        "Bandwidth": str(eip.bandwidth),
        "EipBandwidth": "",
        "InternetChargeType": eip.internet_charge_type,
        "ChargeType": eip.charge_type,
        "AllocationTime": second_time(eip.allocation_time),
        "ExpiredTime": "",
        "RegionId": eip.region,
        "OperationLocks": {"LockReason": []},
    }


# ----------------------------------------------------------------- World.state()

_TIME_FIELDS = ("creation_time", "expired_time", "auto_release_time", "status_due", "start_time", "charge_switch_due",
                "released_at", "attached_time", "detached_time", "done_time", "allocation_time")


def _state_record(resource: Any) -> dict[str, Any]:
    record = to_record(resource)
    for name in _TIME_FIELDS:
        if name in record:
            record[name] = second_time(record[name]) if record[name] is not None else None
    return record


def region_state(world: World, region: RegionState) -> dict[str, Any]:
    """One region for ``World.state()``: ``{kind: {id: record}}`` plus ``released``; see the README."""
    now = world.now()
    view: dict[str, Any] = {}
    for kind in KINDS:
        view[kind] = {rid: _state_record(r) for rid, r in region.table(kind).rows.items()}
    for snapshot_id, record in view["snapshots"].items():
        snapshot = region.snapshots.rows[snapshot_id]
        record["status"] = snapshot_status(snapshot, now)
        record["progress"] = snapshot_progress(snapshot, now)
    for group_id, record in view["snapshot_groups"].items():
        record["status"] = snapshot_group_status(region, region.snapshot_groups.rows[group_id], now)
    for image_id, record in view["images"].items():
        record["status"] = image_status(region.images.rows[image_id], now)
    region_id = region.info.region_id
    view["released"] = [entry for entry in world.released if entry["region"] == region_id]
    return view
