"""One emulator for the whole session, reset before each test that asks for ``emu``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulator_clients import SESSION_KEYS, key_spec

from ecs_emulator import Emulator
from ecs_emulator.world import World
from world_support import make_world


@pytest.fixture(scope="session")
def emulator_session() -> Iterator[Emulator]:
    with Emulator(access_keys=[key_spec(key) for key in SESSION_KEYS], seed=7) as emu:
        yield emu


@pytest.fixture
def emu(emulator_session: Emulator) -> Emulator:
    emulator_session.reset()
    return emulator_session


@pytest.fixture
def world() -> World:
    """A World on the demo fleet, called directly (no server), for the world unit tests."""
    return make_world()
