"""What the collection's benchmarks share: the environment that points ``ansible`` at an emulator, and one
timed run of an ``ansible``/``ansible-playbook`` command with its API calls counted."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "emulator"))
sys.path.insert(0, str(REPO / "tests"))

from collection_link import COLLECTIONS  # noqa: E402
from ecs_emulator import Emulator  # noqa: E402


def ansible_environment(emu: Emulator, region: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(emu.env())
    env.update({
        "ALIBABA_CLOUD_REGION_ID": region,
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
    })
    env.update(extra)
    return env


def timed_release(emu: Emulator, command: list[str], region: str, timeout: float = 7200,
                  **extra_env: str) -> dict[str, object]:
    """Run ``command`` once against ``emu``; it must succeed and leave no instance in ``region``."""
    emu.clear_calls()
    started = time.perf_counter()
    done = subprocess.run(command, env=ansible_environment(emu, region, **extra_env), capture_output=True,
                          text=True, check=False, timeout=timeout)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[:4]} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    left = emu.state(region)["regions"][region]["instances"]
    if left:
        raise SystemExit(f"{len(left)} instances left after {command[:4]}")
    calls = collections.Counter(c["action"] for c in emu.calls())
    return {"seconds": round(seconds, 2), "calls": sum(calls.values()), "calls_by_action": dict(sorted(calls.items()))}
