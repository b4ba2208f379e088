"""Fifty SDK clients at once: the single-threaded world loses no update and hands out no id twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from alibabacloud_ecs20140526 import models
from emulator_clients import REGION, ecs_client, small_fleet

from ecs_emulator import Emulator

CLIENTS = 50
ROUNDS = 8
SNAPSHOTS_EACH = 3


def test_fifty_concurrent_clients_lose_no_update(emu: Emulator) -> None:
    emu.load_fleet(small_fleet(CLIENTS))
    emu.configure(snapshot_seconds=0)
    setup = ecs_client(emu)
    instances = setup.describe_instances(models.DescribeInstancesRequest(region_id=REGION, page_size=100)).body.instances.instance
    instance_ids = sorted(i.instance_id for i in instances)
    disks = setup.describe_disks(models.DescribeDisksRequest(region_id=REGION, disk_type="system", page_size=100)).body.disks.disk
    system_disk = {d.instance_id: d.disk_id for d in disks}
    emu.clear_calls()
    start = threading.Barrier(CLIENTS)

    def work(index: int) -> list[str]:
        client = ecs_client(emu)
        instance_id = instance_ids[index]
        start.wait()
        for round_number in range(ROUNDS):
            client.modify_instance_attribute(
                models.ModifyInstanceAttributeRequest(
                    instance_id=instance_id, description=f"client {index} round {round_number}", deletion_protection=round_number % 2 == 0
                )
            )
        return [
            client.create_snapshot(models.CreateSnapshotRequest(disk_id=system_disk[instance_id])).body.snapshot_id
            for _ in range(SNAPSHOTS_EACH)
        ]

    with ThreadPoolExecutor(CLIENTS) as pool:
        created = [snapshot_id for ids in pool.map(work, range(CLIENTS)) for snapshot_id in ids]
    calls = emu.calls()

    final = setup.describe_instances(models.DescribeInstancesRequest(region_id=REGION, page_size=100)).body.instances.instance
    last_round = ROUNDS - 1
    assert {i.instance_id: (i.description, i.deletion_protection) for i in final} == {
        instance_id: (f"client {index} round {last_round}", last_round % 2 == 0) for index, instance_id in enumerate(instance_ids)
    }
    assert len(set(created)) == CLIENTS * SNAPSHOTS_EACH
    listed = setup.describe_snapshots(models.DescribeSnapshotsRequest(region_id=REGION, page_size=100, page_number=1)).body.total_count
    assert listed == CLIENTS * SNAPSHOTS_EACH
    assert [call["seq"] for call in calls] == list(range(1, CLIENTS * (ROUNDS + SNAPSHOTS_EACH) + 1))
    assert all(call["status"] == 200 and call["write"] for call in calls)
