"""The emulated ECS world: ``World(clock, rng, state_path)`` answers ``call(action, params)``.

Importing the operation modules registers their operations and event handlers.
"""

from ecs_emulator.world import disks, eips, images, instances, snapshots  # noqa: F401 - registration
from ecs_emulator.world.registry import OPERATIONS
from ecs_emulator.world.settings import Settings
from ecs_emulator.world.world import World

World.ACTIONS = frozenset(OPERATIONS)

__all__ = ["Settings", "World"]
