"""Operations and timed-event handlers, registered by the resource modules.

The world dispatches through these tables, so adding an operation is one decorated function in the module
that owns its resource.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecs_emulator.world.params import Params
    from ecs_emulator.world.world import World

Handler = Callable[["World", "Params"], dict[str, Any]]
EventHandler = Callable[["World", str, str, float], None]


@dataclass(frozen=True)
class Operation:
    name: str
    handler: Handler
    write: bool
    # Operations whose ClientToken makes a retry return the first result instead of acting twice.
    client_token: bool


OPERATIONS: dict[str, Operation] = {}
EVENT_HANDLERS: dict[str, EventHandler] = {}


def operation(name: str, *, write: bool, client_token: bool = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        OPERATIONS[name] = Operation(name, handler, write, client_token)
        return handler
    return register


def on_event(kind: str) -> Callable[[EventHandler], EventHandler]:
    def register(handler: EventHandler) -> EventHandler:
        EVENT_HANDLERS[kind] = handler
        return handler
    return register
