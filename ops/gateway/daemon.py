"""Starting, reloading, finding and stopping the local gateway (ops/gateway/server.py), as
ops/local_aws.py does for the emulator.

`up` after every `make up`: a gateway already serving this emulator and stack re-reads what was
deployed (SIGHUP, and `up` waits until it has); any other (another emulator, a dead process, a
damaged record) is replaced by a new one, on the ports the last one had while they are free,
else API_PORT and CDN_PORT, else any free ones. Its record is <run-dir>/gateway/{pid,api_port,
cdn_port,serves,loaded}; the process also carries its run directory in its environment, so
`down` finds it without a record (ops/processes.py, GATEWAY_MARKER), and it exits by itself when
its emulator stops: never orphaned.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ops import local_aws, processes
from ops.gateway.server import EXIT_PORT_TAKEN, HOST
from ops.processes import GATEWAY_MARKER, wait_until
from ops.toolchain import ROOT
from stacks.errors import ImageServiceError

API_PORT, CDN_PORT = 5051, 5052
# What `make up` writes to .run/local-aws/env besides the emulator's client settings.
API_URL_ENV, CDN_URL_ENV = "IMAGE_SERVICE_API_URL", "IMAGE_SERVICE_CDN_URL"
START_TIMEOUT = 20.0


class GatewayError(ImageServiceError):
    """The gateway could not be started or reloaded; the message names the fix."""


@dataclass(frozen=True)
class Gateway:
    pid: int
    api_port: int
    cdn_port: int

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def cdn_url(self) -> str:
        return f"http://{HOST}:{self.cdn_port}"

    def env(self) -> dict[str, str]:
        return {API_URL_ENV: self.api_url, CDN_URL_ENV: self.cdn_url}


def _dir(run_dir: Path) -> Path:
    return run_dir / "gateway"


def _read(path: Path) -> str:
    return processes.read_record(path)


def _answers(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((HOST, port)) == 0


def _is_gateway(pid: int, run_dir: Path) -> bool:
    return processes.started_for(pid, GATEWAY_MARKER, run_dir)


def find_unrecorded(run_dir: Path) -> list[int]:
    """Gateways started for run_dir that still run, found by their environment's marker."""
    return processes.processes_started_for(GATEWAY_MARKER, run_dir)


def status(run_dir: Path = local_aws.DEFAULT_RUN_DIR) -> Gateway | None:
    """The run directory's gateway if it is alive and listening, else None."""
    directory = _dir(run_dir)
    try:
        gateway = Gateway(
            int(_read(directory / "pid")),
            int(_read(directory / "api_port")),
            int(_read(directory / "cdn_port")),
        )
    except ValueError:
        return None
    if (
        processes.alive(gateway.pid)
        and _is_gateway(gateway.pid, run_dir)
        and _answers(gateway.api_port)
        and _answers(gateway.cdn_port)
    ):
        return gateway
    return None


def serving(endpoint: str, run_dir: Path = local_aws.DEFAULT_RUN_DIR) -> Gateway | None:
    """The run directory's gateway if it runs and serves the emulator at `endpoint`."""
    found = status(run_dir)
    return found if found and _serves(run_dir).get("endpoint") == endpoint else None


def _serves(run_dir: Path) -> dict[str, object]:
    try:
        found: dict[str, object] = json.loads(_read(_dir(run_dir) / "serves"))
    except ValueError:
        return {}
    return found


def _generation(run_dir: Path) -> tuple[int, str]:
    try:
        loaded = json.loads(_read(_dir(run_dir) / "loaded"))
        return int(loaded["generation"]), str(loaded.get("error", ""))
    except (ValueError, KeyError, TypeError):
        return 0, ""


def up(
    emulator: local_aws.Emulator,
    stack_dir: Path,
    stage: str,
    run_dir: Path = local_aws.DEFAULT_RUN_DIR,
    preferred: tuple[int, int] = (API_PORT, CDN_PORT),
) -> Gateway:
    """The gateway of this emulator and stack, serving what is deployed now (a new one on the
    last one's ports while free, else on `preferred`, else on any free ones)."""
    running = status(run_dir)
    wanted = {"emulator_pid": emulator.pid, "stack_dir": str(stack_dir), "stage": stage}
    serves = _serves(run_dir)
    if running and all(serves.get(k) == v for k, v in wanted.items()):
        _reload(running, run_dir)
        return running
    processes.wait_recorded_exited(_dir(run_dir) / "pid")  # one killed a moment ago: its ports
    previous = (_read(_dir(run_dir) / "api_port"), _read(_dir(run_dir) / "cdn_port"))
    down(run_dir)
    for attempt in range(3):
        ports = _ports(previous if attempt == 0 else ("", ""), preferred)
        started = _start(emulator, stack_dir, stage, run_dir, ports)
        if started:
            return started
    raise GatewayError(
        "the local gateway could not bind its ports three times in a row (another program "
        f"took each free port first). Fix: run `make up` again; read {_dir(run_dir) / 'log'}"
    )


def _ports(previous: tuple[str, str], preferred: tuple[int, int]) -> tuple[int, int]:
    """The last gateway's ports while free, else the preferred ones, else any."""
    chosen: list[int] = []
    for last, wanted in zip(previous, preferred, strict=True):
        for port in (int(last) if last.isdigit() else 0, wanted):
            if port and port not in chosen and local_aws.port_is_free(port):
                chosen.append(port)
                break
        else:
            port = local_aws.free_port()
            while port in chosen:
                port = local_aws.free_port()
            chosen.append(port)
    return chosen[0], chosen[1]


def _start(
    emulator: local_aws.Emulator,
    stack_dir: Path,
    stage: str,
    run_dir: Path,
    ports: tuple[int, int],
) -> Gateway | None:
    """A new gateway on `ports`; None if a port was taken meanwhile."""
    directory = _dir(run_dir)
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("pid", "loaded", "serves"):
        (directory / name).unlink(missing_ok=True)
    args = _command(emulator, stack_dir, stage, run_dir, ports)
    with open(directory / "log", "ab") as log:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(os.environ, **dict([processes.marker_entry(GATEWAY_MARKER, run_dir)])),
            start_new_session=True,
        )
    started: list[Gateway] = []

    def answered() -> bool:
        found = status(run_dir)
        if found and found.pid == proc.pid:
            started.append(found)
        return proc.poll() is not None or bool(started)

    wait_until(answered, START_TIMEOUT, interval=0.1)
    code = proc.poll()
    if code == EXIT_PORT_TAKEN:
        return None
    if code is not None and not started:
        raise GatewayError(
            f"the local gateway exited at once with code {code}. Fix: read "
            f"{directory / 'log'}, then run `make up` again"
        )
    if started:
        _check_loaded(run_dir)
        return started[0]
    processes.stop(proc.pid, timeout=0)
    raise GatewayError(
        f"the local gateway did not start within {START_TIMEOUT:.0f} s. Fix: read "
        f"{directory / 'log'}, then run `make up` again"
    )


def _command(
    emulator: local_aws.Emulator,
    stack_dir: Path,
    stage: str,
    run_dir: Path,
    ports: tuple[int, int],
) -> list[str]:
    options = {
        "--run-dir": str(run_dir.resolve()),
        "--stack-dir": str(stack_dir),
        "--stage": stage,
        "--endpoint": emulator.endpoint,
        "--emulator-pid": str(emulator.pid),
        "--api-port": str(ports[0]),
        "--cdn-port": str(ports[1]),
    }
    return [sys.executable, "-m", "ops.gateway", "serve", *(x for o in options.items() for x in o)]


def _check_loaded(run_dir: Path) -> None:
    generation, error = _generation(run_dir)
    if error:
        raise GatewayError(
            f"the local gateway runs but cannot read the deployed API: {error}. Fix: run "
            "`make up` again"
        )


def _reload(gateway: Gateway, run_dir: Path) -> None:
    """Have it read the deployment again, and wait until it has."""
    before, _ = _generation(run_dir)
    os.kill(gateway.pid, signal.SIGHUP)
    reloaded = wait_until(
        lambda: _generation(run_dir)[0] > before or not processes.alive(gateway.pid),
        START_TIMEOUT,
    )
    if reloaded and _generation(run_dir)[0] > before:
        _check_loaded(run_dir)
        return
    raise GatewayError(
        f"the local gateway (pid {gateway.pid}) did not reload what `make up` deployed. Fix: "
        "run `make up` again (it starts a new one)"
    )


def down(run_dir: Path = local_aws.DEFAULT_RUN_DIR) -> bool:
    """Stop the run directory's gateway, recorded or not; True if one was running."""
    pids = set(find_unrecorded(run_dir))
    recorded = processes.recorded_pid(_dir(run_dir) / "pid")
    if recorded and processes.alive(recorded) and _is_gateway(recorded, run_dir):
        pids.add(recorded)
    for pid in pids:
        processes.stop(pid)
    for name in ("pid", "loaded", "serves"):
        (_dir(run_dir) / name).unlink(missing_ok=True)
    return bool(pids)
