"""The local AWS emulator (moto server) on 127.0.0.1: up, down, status.

    python -m ops.local_aws up|down|status [--run-dir DIR]

`up` is idempotent: a running emulator recorded in the run directory is reused; a stale record
(process gone or not answering) is replaced. The record is <run-dir>/{pid,port,endpoint,log},
each file written atomically. The emulator process also carries its run directory in its
environment (ops/processes.py, EMULATOR_MARKER), so an emulator whose record was damaged or
deleted is still found: `status` and `up` adopt it, `down` stops it (and the local gateway
serving it); it is never orphaned.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops import processes
from ops.action_log import RECORD_ENV
from ops.processes import EMULATOR_MARKER, GATEWAY_MARKER, marker_entry, wait_until
from ops.toolchain import ROOT, RUN_DIR
from stacks.errors import ImageServiceError, report
from stacks.settings import (
    DEFAULT_LOCAL_ENDPOINT,
    EMULATOR_ACCESS_KEY,
    EMULATOR_SECRET_KEY,
    LOCAL_STATE,
)

DEFAULT_RUN_DIR = RUN_DIR / "local-aws"
HOST = "127.0.0.1"
PREFERRED_PORT = int(DEFAULT_LOCAL_ENDPOINT.rsplit(":", 1)[1])
# moto's own settings for the server: ACM issues a requested certificate at once (default: after
# 60 s), so DNS-validated certificates apply as on AWS without the wait.
MOTO_ENV = {"MOTO_ACM_VALIDATION_WAIT": "0"}


class EmulatorError(ImageServiceError):
    """The emulator could not be started; the message names the problem and the fix."""


@dataclass(frozen=True)
class Emulator:
    pid: int
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"


def client_env(endpoint: str) -> dict[str, str]:
    """The environment that points the AWS CLI and SDKs (boto3, AWS SDK for JavaScript v3, ...)
    at the emulator, with its fake credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": EMULATOR_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": EMULATOR_SECRET_KEY,
        "AWS_DEFAULT_REGION": LOCAL_STATE.region,
    }


def write_client_env(
    emulator: Emulator, run_dir: Path = DEFAULT_RUN_DIR, extra: dict[str, str] | None = None
) -> Path:
    """<run_dir>/env: `export` lines of client_env (and `extra`: the local gateway's URLs), for
    `source` in a developer's shell."""
    path = run_dir / "env"
    variables = {**client_env(emulator.endpoint), **(extra or {})}
    path.write_text("".join(f"export {name}={value}\n" for name, value in variables.items()))
    return path


def client(
    service: str, endpoint: str, region: str = LOCAL_STATE.region, agent: str | None = None
) -> Any:
    """A boto3 client for one service of the emulator at `endpoint` (S3 path-style: moto serves
    no bucket subdomains of 127.0.0.1); `agent` is added to its User-Agent (the project's own
    commands name themselves: ops/action_log.py records their calls as theirs)."""
    import boto3  # a dev dependency, only for the commands that talk to the emulator
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=EMULATOR_ACCESS_KEY,
        aws_secret_access_key=EMULATOR_SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}, user_agent_extra=agent),
    )


def _answers(port: int, timeout: float = 1.0) -> bool:
    # /moto-api/config is a constant-size answer. (Not /moto-api/data.json: it dumps every
    # model, grows with the deployment, and answers 500 once the AWS provider has looked up its
    # account with iam:GetUser, which leaves moto a user it cannot list.)
    try:
        with urllib.request.urlopen(
            f"http://{HOST}:{port}/moto-api/config", timeout=timeout
        ) as resp:
            return bool(200 <= resp.status < 300)  # moto answers 201
    except OSError:
        return False


# What the rest of ops/ and the tests ask of a process, from ops/processes.py.
alive = processes.alive
exiting = processes.exiting
wait_exited = processes.wait_exited
wait_recorded_exited = processes.wait_recorded_exited


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _record(run_dir: Path, emulator: Emulator) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    processes.write_record(run_dir / "port", str(emulator.port))
    processes.write_record(run_dir / "endpoint", emulator.endpoint)
    # Last: the record is complete once it exists.
    processes.write_record(run_dir / "pid", str(emulator.pid))


def _is_moto(pid: int) -> bool:
    command = " ".join(processes.command_line(pid))
    return "moto_server" in command or "ops.action_log" in command


def find_unrecorded(run_dir: Path) -> list[Emulator]:
    """Emulators started for run_dir that are still running, found by their environment's
    marker."""
    found = []
    for pid in processes.processes_started_for(EMULATOR_MARKER, run_dir):
        args = processes.command_line(pid)
        try:
            found.append(Emulator(pid, int(args[args.index("-p") + 1])))
        except (ValueError, IndexError):
            continue
    return found


def status(run_dir: Path = DEFAULT_RUN_DIR) -> Emulator | None:
    """The run directory's emulator if it is alive and answering, else None. A damaged or
    missing record of a running emulator is rewritten."""
    pid = processes.recorded_pid(run_dir / "pid") or 0
    port = processes.recorded_pid(run_dir / "port") or 0
    if pid > 0 and 0 < port < 65536 and alive(pid) and _is_moto(pid) and _answers(port):
        return Emulator(pid, port)
    for emulator in find_unrecorded(run_dir):
        if _answers(emulator.port):
            _record(run_dir, emulator)
            return emulator
    return None


def choose_port(preferred: int = PREFERRED_PORT) -> int:
    """The port a new emulator would use: the preferred one if free, else any free one."""
    return preferred if port_is_free(preferred) else free_port()


def up(
    run_dir: Path = DEFAULT_RUN_DIR,
    port: int | None = None,
    timeout: float = 30.0,
    record_to: Path | None = None,
) -> Emulator:
    """The run directory's emulator, started if none runs. `record_to` (default: the file
    IMAGE_SERVICE_RECORD_ACTIONS names, if set): a new emulator records every call it is sent
    there (ops/action_log.py)."""
    running = status(run_dir)
    if running:
        return running
    for stuck in find_unrecorded(run_dir):  # alive but not answering: replaced
        processes.stop(stuck.pid)
    if port is None:
        wait_recorded_exited(run_dir / "pid")  # one killed a moment ago: its port, once free
        port = choose_port()
    _clear(run_dir)  # stale record, if any
    run_dir.mkdir(parents=True, exist_ok=True)
    moto = Path(sys.executable).with_name("moto_server")
    if not moto.exists():
        raise EmulatorError(
            f"the emulator program {moto} is missing. Fix: run `make deps` "
            "(moto is a dev dependency in the Pipfile)."
        )
    record_to = record_to or (Path(os.environ[RECORD_ENV]) if os.environ.get(RECORD_ENV) else None)
    command = [str(moto), "-H", HOST, "-p", str(port)]
    if record_to is not None:
        command = [sys.executable, "-m", "ops.action_log", str(record_to.resolve()), *command[1:]]
    with open(run_dir / "log", "ab") as log:  # the child keeps its own copy of the handle
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            env=dict(os.environ, **MOTO_ENV, **dict([marker_entry(EMULATOR_MARKER, run_dir)])),
            start_new_session=True,
        )
    if wait_until(lambda: proc.poll() is not None or _answers(port), timeout, interval=0.2):
        if proc.poll() is not None:
            raise EmulatorError(
                f"the local AWS emulator (moto_server on {HOST}:{port}) exited at once with "
                f"code {proc.returncode}. Fix: read {run_dir / 'log'}; if the port is taken, "
                "free it or run again (a free port is chosen when 5050 is taken)."
            )
        emulator = Emulator(proc.pid, port)
        _record(run_dir, emulator)
        return emulator
    processes.stop(proc.pid)
    raise EmulatorError(
        f"the local AWS emulator did not answer on {HOST}:{port} within "
        f"{timeout:.0f} s. Fix: read {run_dir / 'log'}, then run again."
    )


def _clear(run_dir: Path) -> None:
    for name in ("pid", "port", "endpoint", "env"):
        (run_dir / name).unlink(missing_ok=True)


def down(run_dir: Path = DEFAULT_RUN_DIR) -> bool:
    """Stop the run directory's emulator, recorded or not, and first the local gateway
    serving it (found by its marker: ops/gateway/daemon.py keeps its record); True if an
    emulator was running."""
    for gateway in processes.processes_started_for(GATEWAY_MARKER, run_dir):
        processes.stop(gateway)
    pids = {emulator.pid for emulator in find_unrecorded(run_dir)}
    recorded = processes.recorded_pid(run_dir / "pid")
    if recorded and alive(recorded) and _is_moto(recorded):
        pids.add(recorded)
    for pid in pids:
        processes.stop(pid)
    _clear(run_dir)
    return bool(pids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.local_aws",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR)
    args = parser.parse_args(argv)
    if args.action == "up":
        try:
            emulator = up(args.run_dir)
        except ImageServiceError as exc:
            return report(exc)
        print(
            f"local AWS emulator: {emulator.endpoint} (pid {emulator.pid}, "
            f"log {args.run_dir / 'log'})"
        )
    elif args.action == "down":
        print("local AWS emulator stopped" if down(args.run_dir) else "no emulator was running")
    else:
        found = status(args.run_dir)
        print(f"running at {found.endpoint} (pid {found.pid})" if found else "not running")
        return 0 if found else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
