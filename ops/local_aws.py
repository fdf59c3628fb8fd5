"""The local AWS emulator (moto server) on 127.0.0.1: up, down, status.

    python -m ops.local_aws up|down|status [--run-dir DIR]

`up` is idempotent: a running emulator recorded in the run directory is reused; a stale record
(process gone or not answering) is replaced. The record is <run-dir>/{pid,port,endpoint,log},
each file written atomically. The emulator process also carries its run directory in its
environment (RUN_DIR_MARKER), so an emulator whose record was damaged or deleted is still found
(Linux /proc): `status` and `up` adopt it, `down` stops it; it is never orphaned.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.action_log import RECORD_ENV
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
# In the emulator's environment: the run directory whose emulator it is.
RUN_DIR_MARKER = "IMAGE_SERVICE_EMULATOR_RUN_DIR"


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


def alive(pid: int) -> bool:
    """Whether process `pid` runs: it exists and one of its threads is not a zombie.

    A killed multi-threaded process (moto's server and the gateway both are) shows its main
    thread as a zombie while its other threads are still exiting, and its files, listening
    sockets among them, are released only when the last thread has exited (Linux do_exit:
    exit_files runs in every thread, before exit_notify). Judging by the main thread alone
    called such a process gone while it still held its ports."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return True  # no /proc: existence is all that can be known
    # A thread just reaped has no state any more: it does not count.
    return any(_state(task / "stat") not in ("Z", None) for task in tasks)


def exiting(pid: int) -> bool:
    """Whether `pid` is a killed multi-threaded process still exiting: its main thread a
    zombie, another thread not yet (so it may still hold its ports; see alive)."""
    return _state(Path(f"/proc/{pid}/stat")) == "Z" and alive(pid)


def _state(stat: Path) -> str | None:
    """The state letter of a /proc .../stat file (R, S, D, Z, ...), None if it cannot be read.
    (It follows the command name in parentheses, which may itself hold spaces or ')'.)"""
    try:
        return stat.read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return None


def wait_exited(pid: int, timeout: float = 5.0) -> bool:
    """If `pid` is exiting, wait (at most `timeout` s) until it has released everything;
    whether it was exiting."""
    was_exiting = exiting(pid)
    deadline = time.monotonic() + timeout
    while exiting(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return was_exiting


def wait_recorded_exited(pid_file: Path, timeout: float = 5.0) -> int | None:
    """If the process recorded in `pid_file` was killed a moment ago and is still exiting, wait
    until it has released its ports: before a port is chosen for its successor. The pid waited
    for, or None (no record, a damaged one, or a process not exiting)."""
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        return None
    return pid if wait_exited(pid, timeout) else None


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


def _write(path: Path, text: str) -> None:
    """Write a record file atomically (a reader sees the old or the new text, never half)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _record(run_dir: Path, emulator: Emulator) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    _write(run_dir / "port", str(emulator.port))
    _write(run_dir / "endpoint", emulator.endpoint)
    _write(run_dir / "pid", str(emulator.pid))  # last: the record is complete once it exists


def _is_moto(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        return b"moto_server" in command or b"ops.action_log" in command
    except OSError:
        return True  # no /proc (not Linux): trust the record


def started_for(pid: int, marker: str, run_dir: Path) -> bool:
    """Whether process `pid` was started for run_dir: `<marker>=<run_dir>` in its environment
    (Linux /proc; False elsewhere)."""
    entry = f"{marker}={run_dir.resolve()}".encode()
    try:
        return entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def processes_started_for(marker: str, run_dir: Path) -> list[int]:
    """The live processes (not this one) started for run_dir, by `marker` in their environment
    (started_for)."""
    return [
        int(entry.name)
        for entry in Path("/proc").glob("[0-9]*")
        if int(entry.name) != os.getpid()
        and started_for(int(entry.name), marker, run_dir)
        and alive(int(entry.name))
    ]


def find_unrecorded(run_dir: Path) -> list[Emulator]:
    """Emulators started for run_dir that are still running, found by RUN_DIR_MARKER in their
    environment (Linux /proc; empty elsewhere)."""
    found = []
    for pid in processes_started_for(RUN_DIR_MARKER, run_dir):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            found.append(Emulator(pid, int(args[args.index(b"-p") + 1])))
        except (OSError, ValueError, IndexError):
            continue
    return found


def status(run_dir: Path = DEFAULT_RUN_DIR) -> Emulator | None:
    """The run directory's emulator if it is alive and answering, else None. A damaged or
    missing record of a running emulator is rewritten."""
    try:
        pid = int((run_dir / "pid").read_text())
        port = int((run_dir / "port").read_text())
    except (OSError, ValueError):
        pid = port = 0
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
        _stop(stuck.pid)
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
            env=dict(os.environ, **MOTO_ENV, **{RUN_DIR_MARKER: str(run_dir.resolve())}),
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EmulatorError(
                f"the local AWS emulator (moto_server on {HOST}:{port}) exited at once with "
                f"code {proc.returncode}. Fix: read {run_dir / 'log'}; if the port is taken, "
                "free it or run again (a free port is chosen when 5050 is taken)."
            )
        if _answers(port):
            emulator = Emulator(proc.pid, port)
            _record(run_dir, emulator)
            return emulator
        time.sleep(0.2)
    _stop(proc.pid)
    raise EmulatorError(
        f"the local AWS emulator did not answer on {HOST}:{port} within "
        f"{timeout:.0f} s. Fix: read {run_dir / 'log'}, then run again."
    )


def _stop(pid: int, timeout: float = 10.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _clear(run_dir: Path) -> None:
    for name in ("pid", "port", "endpoint", "env"):
        (run_dir / name).unlink(missing_ok=True)


def down(run_dir: Path = DEFAULT_RUN_DIR) -> bool:
    """Stop the run directory's emulator, recorded or not, and the local gateway serving it
    first; True if an emulator was running."""
    from ops.gateway import daemon  # the gateway's lifecycle imports this module

    daemon.down(run_dir)
    pids = {emulator.pid for emulator in find_unrecorded(run_dir)}
    try:
        recorded = int((run_dir / "pid").read_text())
        if recorded > 0 and alive(recorded) and _is_moto(recorded):
            pids.add(recorded)
    except (OSError, ValueError):
        pass
    for pid in pids:
        _stop(pid)
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
