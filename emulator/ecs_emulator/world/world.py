"""The emulated ECS account: every region's resources, the virtual clock's events, and persistence."""

from __future__ import annotations

import gc
import json
import random
import string
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ecs_emulator.clock import VirtualClock
from ecs_emulator.errors import ApiError
from ecs_emulator.world.events import EventQueue
from ecs_emulator.world.model import (
    FIELD_NAMES,
    KINDS,
    Instance,
    from_values,
    second_time,
    values_of,
)
from ecs_emulator.world.params import Params
from ecs_emulator.world.regions import (
    STANDARD_REGIONS,
    RegionInfo,
    RegionState,
    custom_region,
    unknown_region,
)
from ecs_emulator.world.registry import EVENT_HANDLERS, OPERATIONS, Operation
from ecs_emulator.world.settings import Settings
from ecs_emulator.world.store import Changes, Store

_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID_PREFIXES = {"instances": "i-", "disks": "d-", "snapshots": "s-", "snapshot_groups": "ssg-", "images": "m-",
                "eips": "eip-"}


class World:
    def __init__(self, clock: VirtualClock, rng: random.Random, state_path: str | None = None) -> None:
        self.clock = clock
        self.rng = rng
        self.settings = Settings()
        self.regions: dict[str, RegionState] = {}
        self.events = EventQueue()
        self.released: list[dict[str, Any]] = []
        # "Action\0token" -> {"params": the request's parameters, "result": the first response}
        self.tokens: dict[str, dict[str, Any]] = {}
        self._dirty: set[tuple[str, str, str]] = set()
        self._pending = Changes()
        self._store = Store(state_path) if state_path else None
        self._install_regions(STANDARD_REGIONS)
        if self._store is not None:
            saved = self._store.load()
            if saved is not None:
                with _bulk_load():
                    self._restore(saved)

    # ----------------------------------------------------------------- the API

    # Filled by the package ``__init__`` once every operation module has registered itself.
    ACTIONS: frozenset[str] = frozenset()

    def is_write(self, action: str) -> bool:
        operation = OPERATIONS.get(action)
        return operation.write if operation else not action.startswith("Describe")

    def call(self, action: str, params: dict[str, str]) -> dict[str, Any]:
        operation = OPERATIONS.get(action)
        if operation is None:
            raise ApiError(404, "InvalidAction.NotFound", f"Specified api \"{action}\" is not found, please check your url and method.")
        self.fire_due_events()
        try:
            return self._dispatch(operation, Params(params))
        finally:
            self.flush()

    def _dispatch(self, operation: Operation, params: Params) -> dict[str, Any]:
        token = params.str("ClientToken")
        if not (operation.client_token and token):
            return operation.handler(self, params)
        if len(token) > 64 or not token.isascii():
            raise ApiError(400, "InvalidParameter", "The specified parameter \"ClientToken\" is not valid.")
        key = f"{operation.name}\0{token}"
        request = {k: v for k, v in params.raw.items() if k != "ClientToken"}
        previous = self.tokens.get(key)
        if previous is not None:
            if previous["params"] != request:
                raise ApiError(400, "IdempotentParameterMismatch",
                               "The request uses the same client token as a previous, but non-identical request.")
            return json.loads(json.dumps(previous["result"]))
        result = operation.handler(self, params)
        self.tokens[key] = {"params": request, "result": result}
        self._pending.tokens[key] = self.tokens[key]
        return result

    # ------------------------------------------------------- control surface

    def configure(self, **settings: Any) -> None:
        self.settings.update(**settings)
        self._pending.meta["settings"] = self.settings.as_dict()
        self.flush()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.fire_due_events()
        self._pending.meta["clock_offset"] = self.clock.offset
        self.flush()

    def reset(self) -> None:
        self._clear()
        self._install_regions(STANDARD_REGIONS)
        self._save_everything()

    def load_fleet(self, fleet: dict[str, Any] | str) -> dict[str, dict[str, int]]:
        """Replace the world with a fleet; returns how many resources of each kind each region got."""
        from ecs_emulator.world.fleet import build_fleet, read_fleet

        spec = read_fleet(fleet)
        self._clear()
        self._install_regions(STANDARD_REGIONS)
        with _bulk_load():
            build_fleet(self, spec)
        self.fire_due_events()
        self._save_everything()
        return {region: {kind: len(state.table(kind)) for kind in KINDS} for region, state in self.regions.items()
                if any(len(state.table(kind)) for kind in KINDS)}

    def state(self, region: str | None = None) -> dict[str, Any]:
        from ecs_emulator.world.views import region_state

        names = [region] if region is not None else list(self.regions)
        return {
            "now": second_time(self.now()),
            "settings": self.settings.as_dict(),
            "regions": {name: region_state(self, self.regions[name]) for name in names if name in self.regions},
        }

    def close(self) -> None:
        self.flush()
        if self._store is not None:
            self._store.close()
            self._store = None

    # ------------------------------------------------- helpers for operations

    def now(self) -> float:
        return self.clock.now()

    def region(self, params: Params) -> RegionState:
        region_id = params.str("RegionId", required=True)
        state = self.regions.get(region_id)
        if state is None:
            raise unknown_region(region_id)
        return state

    def add_region(self, region_id: str, zones: list[str] | None = None) -> RegionState:
        if region_id not in self.regions:
            self._install_regions((custom_region(region_id, zones),))
        return self.regions[region_id]

    def find_instance(self, region: RegionState, instance_id: str) -> Instance:
        instance = region.instances.get(instance_id)
        if instance is None or instance.released_at is not None:
            raise instance_not_found(instance_id)
        return instance

    def locate_instance(self, instance_id: str) -> tuple[RegionState, Instance]:
        """DeleteInstance carries no RegionId: the instance is found in whichever region holds it."""
        for region in self.regions.values():
            if instance_id in region.instances:
                return region, self.find_instance(region, instance_id)
        raise instance_not_found(instance_id)

    def new_id(self, kind: str, region: RegionState) -> str:
        table = region.table(kind)
        while True:
            suffix = "".join(self.rng.choices(_ID_ALPHABET, k=18))
            candidate = f"{_ID_PREFIXES[kind]}{region.info.id_prefix}{suffix}"
            if candidate not in table:
                return candidate

    def touch(self, kind: str, region: str, resource_id: str) -> None:
        """Mark a resource as changed (or deleted) so the next flush writes it."""
        self._dirty.add((kind, region, resource_id))

    def log_release(self, kind: str, region: str, resource_id: str, how: str, **details: Any) -> None:
        entry = {"id": resource_id, "kind": kind, "region": region, "at": second_time(self.now()), "how": how,
                 **details}
        self.released.append(entry)
        self._pending.released.append(entry)

    def schedule(self, due: float, kind: str, region: str, resource_id: str) -> None:
        self.events.schedule(due, kind, region, resource_id)

    def fire_due_events(self) -> None:
        now = self.now()
        for due, kind, region, resource_id in self.events.pop_due(now):
            EVENT_HANDLERS[kind](self, region, resource_id, due)

    def flush(self) -> None:
        if self._store is None:
            self._dirty.clear()
            self._pending = Changes()
            return
        changes = self._pending
        for kind, region, resource_id in self._dirty:
            resource = self.regions[region].table(kind).get(resource_id) if region in self.regions else None
            changes.resources.append((kind, resource_id, region, values_of(resource) if resource else None))
        if changes:
            changes.meta["clock_offset"] = self.clock.offset
            changes.meta["fields"] = _field_names()
            self._store.write(changes)
        self._dirty.clear()
        self._pending = Changes()

    # -------------------------------------------------------------- internals

    def _install_regions(self, infos: tuple[RegionInfo, ...]) -> None:
        for info in infos:
            self.regions.setdefault(info.region_id, RegionState(info))

    def _clear(self) -> None:
        # A reset or a new fleet starts from the default settings: nothing a previous test or
        # fleet configured (a snapshot failure rate, say) may leak into the next world.
        self.settings = Settings()
        self.regions.clear()
        self.events.clear()
        self.released.clear()
        self.tokens.clear()
        self._dirty.clear()
        self._pending = Changes()

    def _all_resources(self) -> Iterator[tuple[str, RegionState, Any]]:
        for region in self.regions.values():
            for kind in KINDS:
                for resource in region.table(kind).rows.values():
                    yield kind, region, resource

    def _save_everything(self) -> None:
        if self._store is None:
            return
        changes = Changes(
            resources=[(kind, r.id, region.info.region_id, values_of(r)) for kind, region, r in self._all_resources()],
            released=list(self.released),
            tokens=dict(self.tokens),
            meta={"clock_offset": self.clock.offset, "settings": self.settings.as_dict(),
                  "custom_regions": self._custom_regions(), "fields": _field_names()},
        )
        self._store.write(changes, replace=True)
        self._dirty.clear()
        self._pending = Changes()

    def _custom_regions(self) -> dict[str, list[str]]:
        standard = {info.region_id for info in STANDARD_REGIONS}
        return {name: list(r.info.zones) for name, r in self.regions.items() if name not in standard}

    def _restore(self, saved: Any) -> None:
        from ecs_emulator.world.instances import schedule_instance_events

        self.clock.offset = float(saved.meta.get("clock_offset", self.clock.offset))
        self.settings.update(**saved.meta.get("settings", {}))
        for name, zones in saved.meta.get("custom_regions", {}).items():
            self.add_region(name, zones)
        saved_fields = saved.meta.get("fields", {})
        for kind, rows in saved.resources.items():
            cls = KINDS[kind]
            names = saved_fields.get(kind, FIELD_NAMES[cls])
            for values in rows:
                resource = from_values(cls, names, values)
                self.add_region(resource.region).table(kind).add(resource)
        self.released = saved.released
        self.tokens = saved.tokens
        for region in self.regions.values():
            for instance in region.instances.rows.values():
                schedule_instance_events(self, instance)
        self.fire_due_events()
        self.flush()


@contextmanager
def _bulk_load() -> Iterator[None]:
    """Hundreds of thousands of new objects trigger the cyclic GC over and over; none of them form cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _field_names() -> dict[str, list[str]]:
    return {kind: list(FIELD_NAMES[cls]) for kind, cls in KINDS.items()}


def instance_not_found(instance_id: str) -> ApiError:
    return ApiError(404, "InvalidInstanceId.NotFound", f"The specified InstanceId \"{instance_id}\" does not exist.")
