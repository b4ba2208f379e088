"""``ecs-emulator serve``: build the world, start the HTTP server, announce the address, stop on a signal."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from .auth import Authenticator, parse_access_key
from .clock import VirtualClock
from .faults import FaultInjector
from .server import EmulatorServer, World

# Requests still running when a stop signal arrives get this long to finish.
SHUTDOWN_GRACE_SECONDS = 2.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ecs-emulator", description="Emulate the Alibaba Cloud ECS OpenAPI on loopback.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the ECS API until SIGTERM or Ctrl-C")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; the admin routes are unauthenticated)")
    serve.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    serve.add_argument("--fleet", help="fleet file (YAML) to load when the state is new")
    serve.add_argument("--state", help="SQLite file that keeps the world across restarts")
    serve.add_argument(
        "--access-key",
        action="append",
        default=[],
        metavar="ID:SECRET[:STS_TOKEN]",
        help="accepted credential; repeatable; replaces the default key pair",
    )
    serve.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every API request")
    serve.add_argument("--seed", type=int, default=0, help="seed for the world's and the faults' random choices")
    serve.add_argument("--clock-speed", type=float, default=1.0, help="virtual seconds per real second")
    serve.add_argument("--faults", metavar="JSON_OR_FILE", help='fault plan, e.g. \'{"actions": {"*": {"throttle": 0.1}}}\'')
    return parser


def load_faults(text: str) -> dict[str, Any]:
    """Inline JSON when it looks like an object, else a JSON or YAML file."""
    if text.lstrip().startswith("{"):
        data = json.loads(text)
    else:
        data = yaml.safe_load(Path(text).read_text())
    if not isinstance(data, dict):
        raise ValueError("--faults must be a JSON object or a file holding one")
    return data


def create_world(clock: VirtualClock, rng: random.Random, state_path: str | None) -> World:
    from .world import World as RealWorld

    return RealWorld(clock, rng, state_path=state_path)


def build_server(args: argparse.Namespace) -> EmulatorServer:
    keys = [parse_access_key(text) for text in args.access_key]
    clock = VirtualClock(speed=args.clock_speed)
    # A fleet seeds a new world; a state file that already holds one wins over it.
    fresh = args.state is None or not os.path.exists(args.state) or os.path.getsize(args.state) == 0
    world = create_world(clock, random.Random(args.seed), args.state)
    if args.fleet and fresh:
        world.load_fleet(args.fleet)
    server = EmulatorServer(world, clock, Authenticator(keys or None), FaultInjector(args.seed), args.latency_ms)
    if args.faults:
        server.apply_fault_settings(load_faults(args.faults))
    return server


async def run(server: EmulatorServer, host: str, port: int) -> None:
    # Handlers first: whoever reads the address line may signal at once.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(server.build_app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
    await site.start()
    bound_port = runner.addresses[0][1]
    print(f"listening on http://{host}:{bound_port}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def serve(args: argparse.Namespace) -> int:
    try:
        server = build_server(args)
    except (OSError, ValueError) as error:
        print(f"ecs-emulator: {error}", file=sys.stderr)
        return 2
    try:
        asyncio.run(run(server, args.host, args.port))
    except OSError as error:
        print(f"ecs-emulator: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    finally:
        server.world.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2
