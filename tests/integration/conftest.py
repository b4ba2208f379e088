"""Integration tests: the real modules, through ``ansible``, over HTTP, against the ECS emulator.

``ecs`` gives each test a fresh emulated world and a way to run modules and playbooks at it.
Tests assert on the module result *and* on the emulator's recorded calls and state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import yaml

from ecs_emulator import Emulator

from collection_link import COLLECTIONS, REPO

EXAMPLES = REPO / "emulator" / "examples"
REGION = "cn-hangzhou"


class AnsibleRun(t.NamedTuple):
    rc: int
    tasks: t.List[t.Dict[str, t.Any]]  # {"task", "host", "status", "result"} per task result, in order
    stdout: str
    stderr: str

    @property
    def result(self) -> t.Dict[str, t.Any]:
        """The last task's result: the module's, for an ad hoc run."""
        return self.tasks[-1]["result"] if self.tasks else {}

    def task(self, name: str, host: t.Optional[str] = None) -> t.Dict[str, t.Any]:
        """The result of the task ``name``; ``host`` is required when it ran on several hosts, whose results
        arrive in whatever order the hosts finish."""
        found = [e for e in self.tasks if e["task"] == name and host in (None, e["host"])]
        hosts = {e["host"] for e in found}
        assert len(hosts) == 1, f"task {name!r} ran on {sorted(hosts) or 'no host'}: name one of them"
        return found[0]["result"]


class Testbed:
    """A fresh emulated world, and the collection pointed at it through the environment."""

    def __init__(self, emu: Emulator, tmp_path: Path) -> None:
        self.emu = emu
        self.tmp_path = tmp_path
        self.env = dict(os.environ)
        self.env.update(emu.env())
        self.env.update({
            "ALIBABA_CLOUD_REGION_ID": REGION,
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_DEPRECATION_WARNINGS": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            # The modules run with the test's Python, which has the SDK, wherever localhost is named.
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            # pytest-ansible points this at a tree of its own; the tests want the work tree.
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
            "ANSIBLE_CALLBACK_PLUGINS": str(Path(__file__).parent / "callback_plugins"),
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "true",  # ad hoc runs load callbacks only when told
        })
        self._runs = 0

    def load(self, fleet: t.Union[str, t.Dict[str, t.Any]]) -> None:
        """A fleet dict, or the name of a file in emulator/examples (``demo``, ``tags-1k``)."""
        if isinstance(fleet, str):
            fleet = str(EXAMPLES / f"{fleet}.yaml")
        self.emu.load_fleet(fleet)
        self.emu.clear_calls()

    def module(self, module: str, check: bool = False, diff: bool = False, **args: t.Any) -> AnsibleRun:
        """Run ``alicloud_ecs.lifecycle.<module>`` ad hoc with ``ansible``, and return its JSON result."""
        command = ["ansible", "localhost", "-m", f"alicloud_ecs.lifecycle.{module}"]
        if args:  # "-a {}" would be taken as raw parameters
            command += ["-a", json.dumps(args)]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        return self._run(command)

    def playbook(self, plays: t.Union[str, t.List[t.Dict[str, t.Any]]], check: bool = False,
                 extra_vars: t.Optional[t.Dict[str, t.Any]] = None, verbosity: int = 0,
                 inventory: str = "localhost,", extra_var_files: t.Sequence[str] = ()) -> AnsibleRun:
        """Run a playbook (a path, a collection playbook's FQCN, or plays to write to one) with ``ansible-playbook``."""
        if isinstance(plays, list):
            path = self.tmp_path / "playbook.yml"
            path.write_text(yaml.safe_dump(plays, sort_keys=False))
            plays = str(path)
        command = ["ansible-playbook", "-i", inventory, plays]
        if inventory == "localhost,":
            command += ["-c", "local"]
        for path in extra_var_files:
            command += ["-e", "@" + path]
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        if check:
            command.append("--check")
        if verbosity:
            command.append("-" + "v" * verbosity)
        return self._run(command)

    def _run(self, command: t.List[str]) -> AnsibleRun:
        self._runs += 1
        results = self.tmp_path / f"results-{self._runs}.jsonl"
        env = dict(self.env, ECS_TEST_RESULTS=str(results))
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800, check=False)
        tasks = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
        return AnsibleRun(done.returncode, tasks, done.stdout, done.stderr)

    # What the emulator saw.

    def calls(self, action: t.Optional[str] = None) -> t.List[t.Dict[str, t.Any]]:
        return self.emu.calls(action=action)

    def write_calls(self) -> t.List[t.Dict[str, t.Any]]:
        return self.emu.write_calls()

    def count(self, action: str) -> int:
        return len([c for c in self.emu.calls(action=action) if c["status"] == 200])

    def instances(self, region: str = REGION) -> t.Dict[str, t.Dict[str, t.Any]]:
        return self.emu.state(region)["regions"][region]["instances"]


@pytest.fixture(scope="session")
def emulator() -> t.Iterator[Emulator]:
    with Emulator(seed=11) as emu:
        yield emu


@pytest.fixture
def ecs(emulator: Emulator, tmp_path: Path) -> Testbed:
    emulator.reset()
    return Testbed(emulator, tmp_path)
