"""Start an emulator in a subprocess and drive it through its admin routes.

Standard library only, and everything goes over HTTP, so a test, a benchmark and a separate process
such as ansible-playbook have the same powers over the emulator.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET

HOST = "127.0.0.1"
LISTENING_PREFIX = "listening on http://"
PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)

AccessKeySpec = str | Sequence[str]


class EmulatorError(RuntimeError):
    """The emulator did not start, or an admin route refused a request."""


def _key_text(spec: AccessKeySpec) -> str:
    """``"ID:SECRET[:TOKEN]"`` from that string or from an ``(id, secret[, token])`` tuple."""
    return spec if isinstance(spec, str) else ":".join(spec)


class Emulator:
    """An ``ecs-emulator serve`` subprocess on a free loopback port.

    ``with Emulator(fleet=...) as emu:`` starts it and stops it; SDK clients use ``emu.endpoint`` with
    protocol http and ``emu.access_key_id`` / ``emu.access_key_secret``.
    """

    def __init__(
        self,
        fleet: dict[str, Any] | str | os.PathLike[str] | None = None,
        state_file: str | os.PathLike[str] | None = None,
        access_keys: Iterable[AccessKeySpec] | None = None,
        seed: int = 0,
        latency_ms: float = 0,
        clock_speed: float = 1.0,
        faults: dict[str, Any] | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        self.fleet = fleet
        self.state_file = os.fspath(state_file) if state_file is not None else None
        self.access_keys = [_key_text(spec) for spec in access_keys] if access_keys else []
        self.seed = seed
        self.latency_ms = latency_ms
        self.clock_speed = clock_speed
        self.faults = faults
        self.start_timeout = start_timeout
        first = (self.access_keys[0] if self.access_keys else f"{DEFAULT_ACCESS_KEY_ID}:{DEFAULT_ACCESS_KEY_SECRET}").split(":", 2)
        self.access_key_id = first[0]
        self.access_key_secret = first[1]
        self.security_token = first[2] if len(first) == 3 else ""
        self.port = 0
        self.process: subprocess.Popen[str] | None = None

    # ----- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """``127.0.0.1:PORT``: what the SDKs take as their endpoint (no scheme)."""
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "ecs_emulator", "serve", "--host", HOST, "--port", str(self.port)]
        command += ["--seed", str(self.seed), "--latency-ms", str(self.latency_ms), "--clock-speed", str(self.clock_speed)]
        for key in self.access_keys:
            command += ["--access-key", key]
        if self.state_file:
            command += ["--state", self.state_file]
        if self.faults:
            command += ["--faults", json.dumps(self.faults)]
        return command

    def start(self) -> Emulator:
        """Start the server; load the fleet unless the state file already holds a world."""
        fresh = not self.state_file or not os.path.exists(self.state_file) or os.path.getsize(self.state_file) == 0
        self._spawn()
        if self.fleet is not None and fresh:
            try:
                self.load_fleet(self.fleet)
            except BaseException:
                self.kill()  # __exit__ will not run when __enter__ fails: leave no server behind
                raise
        return self

    def _spawn(self) -> None:
        if self.running:
            raise EmulatorError("the emulator is already running")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT, env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(self.command(), stdout=subprocess.PIPE, text=True, env=env)
        line = self._first_line()
        if not line.startswith(LISTENING_PREFIX):
            self.kill()
            raise EmulatorError(f"the emulator did not start: {line!r}")
        self.port = int(line.strip().rsplit(":", 1)[1])

    def _first_line(self) -> str:
        assert self.process is not None and self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(self.start_timeout):
                self.kill()
                raise EmulatorError(f"the emulator printed nothing in {self.start_timeout} s")
        return self.process.stdout.readline()

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait; the exit status (0 for a clean stop), or None when it was not running."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self._reap()

    def kill(self) -> int | None:
        """SIGKILL, as a crash would: nothing gets the chance to flush."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        return self._reap()

    def _reap(self) -> int | None:
        assert self.process is not None
        if self.process.stdout is not None:
            self.process.stdout.close()
        status = self.process.returncode
        self.process = None
        return status

    def restart(self) -> Emulator:
        """Stop if running, then serve again on the same port with the same options (and state file)."""
        self.stop()
        deadline = time.monotonic() + 10
        while True:
            try:
                self._spawn()
                return self
            except EmulatorError:
                # The port can linger for a moment after a kill; try again briefly.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def env(self) -> dict[str, str]:
        """Environment variables that point the collection (and ansible-playbook) at this emulator."""
        env = {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": self.access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": self.access_key_secret,
            "ALIBABA_CLOUD_ECS_ENDPOINT": self.endpoint,
        }
        if self.security_token:
            env["ALIBABA_CLOUD_SECURITY_TOKEN"] = self.security_token
        return env

    # ----- admin routes ------------------------------------------------------------------------

    def _admin(self, method: str, route: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        url = f"{self.url}/_emulator{route}"
        if query:
            url += "?" + urllib.parse.urlencode({name: value for name, value in query.items() if value is not None})
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise EmulatorError(f"{method} {route}: HTTP {error.code}: {error.read().decode(errors='replace')}") from None

    def info(self) -> dict[str, Any]:
        return self._admin("GET", "")

    def calls(self, since: int = 0, action: str | None = None) -> list[dict[str, Any]]:
        """Recorded API calls with ``seq > since`` (``seq`` restarts at 1 after a clear or reset)."""
        return self._admin("GET", "/calls", query={"since": since, "action": action})["calls"]

    def write_calls(self, since: int = 0) -> list[dict[str, Any]]:
        return [call for call in self.calls(since) if call["write"]]

    def clear_calls(self) -> None:
        self._admin("DELETE", "/calls")

    def state(self, region: str | None = None) -> dict[str, Any]:
        return self._admin("GET", "/state", query={"region": region})

    def clock(self) -> dict[str, Any]:
        """``{"now": epoch, "iso": "...Z", "offset": seconds, "speed": x}``."""
        return self._admin("GET", "/clock")

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the virtual clock forward and let the world fire what fell due; returns the clock."""
        return self._admin("POST", "/clock", {"advance": seconds})

    def set_faults(
        self, actions: dict[str, dict[str, float]] | None = None, seed: int | None = None, **world_settings: Any
    ) -> dict[str, Any]:
        """Replace the fault plan (and reseed it); extra keyword arguments are world settings."""
        body: dict[str, Any] = {"actions": actions or {}, **world_settings}
        if seed is not None:
            body["seed"] = seed
        return self._admin("POST", "/faults", body)

    def clear_faults(self) -> None:
        self._admin("DELETE", "/faults")

    def load_fleet(self, fleet: dict[str, Any] | str | os.PathLike[str]) -> Any:
        """Load a fleet given as a dict or as a path to a YAML file (read by the server)."""
        body = fleet if isinstance(fleet, dict) else {"path": os.path.abspath(os.fspath(fleet))}
        return self._admin("POST", "/fleet", body)

    def configure(self, **settings: Any) -> Any:
        """World settings (``world.configure``), plus ``latency_ms`` for the server's added delay."""
        return self._admin("POST", "/settings", settings)

    def reset(self) -> None:
        """Empty world, no calls, no faults, clock offset 0."""
        self._admin("POST", "/reset")
