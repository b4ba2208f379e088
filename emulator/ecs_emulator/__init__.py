"""An emulator of the Alibaba Cloud ECS OpenAPI (2014-05-26) for tests and benchmarks.

``ecs-emulator serve`` runs it; ``ecs_emulator.Emulator`` starts one in a subprocess and drives it.
"""

from __future__ import annotations

# The key pair the emulator accepts when no --access-key is given. Not a secret: it only opens a
# local emulator.
DEFAULT_ACCESS_KEY_ID = "LTAI5tEcsEmulatorDefault"
DEFAULT_ACCESS_KEY_SECRET = "EcsEmulatorDefaultSecret0000000000"

from .harness import Emulator, EmulatorError  # noqa: E402 - the harness reads the constants above

__all__ = ["DEFAULT_ACCESS_KEY_ID", "DEFAULT_ACCESS_KEY_SECRET", "Emulator", "EmulatorError"]
