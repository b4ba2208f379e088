"""With --state, every answered write survives a kill -9; a restart never reapplies the fleet over it."""

from __future__ import annotations

import threading
from pathlib import Path

from alibabacloud_ecs20140526 import models
from emulator_clients import REGION, ecs_client, small_fleet

from ecs_emulator import Emulator

WRITERS = 4


def descriptions(emu: Emulator) -> dict[str, str]:
    """Instance id -> Description, over every page."""
    client = ecs_client(emu)
    found: dict[str, str] = {}
    page = 1
    while True:
        body = client.describe_instances(models.DescribeInstancesRequest(region_id=REGION, page_size=100, page_number=page)).body
        found.update({i.instance_id: i.description for i in body.instances.instance})
        if page * 100 >= body.total_count:
            return found
        page += 1


class Writers:
    """Threads that keep rewriting the descriptions of their own instances until the server dies.

    Per instance it remembers the last description the server acknowledged and the one in flight: a
    write the server committed but could not answer before the kill may legitimately survive too.
    """

    def __init__(self, emu: Emulator, instance_ids: list[str]) -> None:
        self.emu = emu
        self.owned = [instance_ids[w::WRITERS] for w in range(WRITERS)]
        self.acknowledged: dict[str, str] = {}
        self.in_flight: dict[str, str] = {}
        self.count = 0
        self.enough = threading.Event()
        self.threads = [threading.Thread(target=self._write, args=(w,)) for w in range(WRITERS)]

    def _write(self, worker: int) -> None:
        client = ecs_client(self.emu)
        round_number = 0
        while True:
            for instance_id in self.owned[worker]:
                text = f"writer {worker} round {round_number}"
                self.in_flight[instance_id] = text
                try:
                    client.modify_instance_attribute(models.ModifyInstanceAttributeRequest(instance_id=instance_id, description=text))
                except Exception:  # noqa: BLE001 - the server was killed under us: that is the test
                    return
                self.acknowledged[instance_id] = text
                self.count += 1
                if self.count >= 150:
                    self.enough.set()
            round_number += 1

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(60)


def test_kill_9_loses_no_answered_write(tmp_path: Path) -> None:
    emu = Emulator(state_file=tmp_path / "world.db", fleet=small_fleet(12)).start()
    try:
        writers = Writers(emu, sorted(descriptions(emu)))
        writers.start()
        assert writers.enough.wait(120)
        emu.kill()
        writers.join()
        emu.restart()
        after = descriptions(emu)
        assert len(after) == 12
        for instance_id, text in writers.acknowledged.items():
            assert after[instance_id] in (text, writers.in_flight[instance_id]), instance_id
    finally:
        emu.stop()


def test_a_restart_keeps_the_world_and_the_clock_and_ignores_the_fleet(tmp_path: Path) -> None:
    state = tmp_path / "world.db"
    with Emulator(state_file=state, fleet=small_fleet(3)) as emu:
        instance_id = sorted(descriptions(emu))[0]
        ecs_client(emu).modify_instance_attribute(models.ModifyInstanceAttributeRequest(instance_id=instance_id, description="kept"))
        offset = emu.advance(7200)["offset"]
    with Emulator(state_file=state, fleet=small_fleet(5)) as emu:
        after = descriptions(emu)
        assert len(after) == 3 and after[instance_id] == "kept"
        assert emu.clock()["offset"] == offset
        emu.kill()
