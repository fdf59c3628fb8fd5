"""The processes the project starts in the background and looks after (the local emulator, the
local gateway) and the Terraform processes it waits on, through psutil: the same on Linux and
macOS.

A background process is started with the run directory it serves in its environment, under its
kind's marker (EMULATOR_MARKER, GATEWAY_MARKER), so it is found even when its record is damaged
or lost (`started_for`, `processes_started_for`): never orphaned. Its record is a few small
files, each written whole (`write_record`: a reader sees the old text or the new, never half).
`stop` asks it to stop, then kills it if it will not. `wait_until` is the one wait of ops/: on
a condition, with a deadline, never for a fixed time.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import psutil

# In a background process's environment: the run directory it was started for.
EMULATOR_MARKER = "IMAGE_SERVICE_EMULATOR_RUN_DIR"
GATEWAY_MARKER = "IMAGE_SERVICE_GATEWAY_RUN_DIR"


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Whether `condition()` held within `timeout` seconds (asked every `interval`)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _threads(process: psutil.Process) -> int:
    try:
        return int(process.num_threads())
    except (psutil.ZombieProcess, psutil.AccessDenied):
        return 1


def alive(pid: int) -> bool:
    """Whether process `pid` runs: it exists and is not a zombie, or it is a zombie whose other
    threads are still exiting.

    A killed multi-threaded process (moto's server and the gateway both are) shows its main
    thread as a zombie while its other threads are still exiting, and its files, listening
    sockets among them, are released only when the last thread has exited (Linux do_exit:
    exit_files runs in every thread, before exit_notify). Judging by the main thread alone
    called such a process gone while it still held its ports."""
    try:
        process = psutil.Process(pid)
        if process.status() != psutil.STATUS_ZOMBIE:
            return True
        return _threads(process) > 1
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # another user's: it exists


def exiting(pid: int) -> bool:
    """Whether `pid` is a killed multi-threaded process still exiting: its main thread a
    zombie, another thread not yet (so it may still hold its ports; see alive)."""
    try:
        process = psutil.Process(pid)
        return bool(process.status() == psutil.STATUS_ZOMBIE and _threads(process) > 1)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def wait_exited(pid: int, timeout: float = 5.0) -> bool:
    """If `pid` is exiting, wait (at most `timeout` s) until it has released everything;
    whether it was exiting."""
    if not exiting(pid):
        return False
    wait_until(lambda: not exiting(pid), timeout, interval=0.02)
    return True


def read_record(path: Path) -> str:
    """A record file's text, stripped; "" if it cannot be read."""
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def recorded_pid(path: Path) -> int | None:
    try:
        pid = int(read_record(path))
    except ValueError:
        return None
    return pid if pid > 0 else None


def wait_recorded_exited(pid_file: Path, timeout: float = 5.0) -> int | None:
    """If the process recorded in `pid_file` was killed a moment ago and is still exiting, wait
    until it has released its ports: before a port is chosen for its successor. The pid waited
    for, or None (no record, a damaged one, or a process not exiting)."""
    pid = recorded_pid(pid_file)
    if pid is None:
        return None
    return pid if wait_exited(pid, timeout) else None


def write_record(path: Path, text: str) -> None:
    """Write a record file atomically (a reader sees the old or the new text, never half)."""
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    scratch.write_text(text)
    os.replace(scratch, path)


def marker_entry(marker: str, run_dir: Path) -> tuple[str, str]:
    """What a process started for `run_dir` carries in its environment."""
    return marker, str(run_dir.resolve())


def started_for(pid: int, marker: str, run_dir: Path) -> bool:
    """Whether process `pid` was started for run_dir (`marker` in its environment)."""
    name, value = marker_entry(marker, run_dir)
    try:
        return bool(psutil.Process(pid).environ().get(name) == value)
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return False


def processes_started_for(marker: str, run_dir: Path) -> list[int]:
    """The live processes (not this one) started for run_dir, by `marker` in their
    environment."""
    name, value = marker_entry(marker, run_dir)
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            if process.environ().get(name) == value and alive(process.pid):
                found.append(process.pid)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
    return found


def command_line(pid: int) -> list[str]:
    """The process's arguments ([] if it is gone or not readable)."""
    try:
        return list(psutil.Process(pid).cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return []


def stop(pid: int, timeout: float = 10.0) -> None:
    """Ask `pid` to stop (SIGTERM), wait until it has, and kill it if it has not by then."""
    try:
        process = psutil.Process(pid)
        process.terminate()
    except psutil.NoSuchProcess:
        return

    def gone() -> bool:
        try:
            process.wait(timeout=0)  # reaps it if it is this process's child
        except psutil.TimeoutExpired:
            pass
        except psutil.NoSuchProcess:
            return True
        return not alive(pid)

    if not wait_until(gone, timeout, interval=0.1):
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def working_in(directory: Path, program: str) -> list[int]:
    """The running processes of `program` (its executable's name, exactly) whose working
    directory is `directory`. A process being killed is not one: its main thread a zombie, or
    exiting (alive())."""
    target = directory.resolve()
    found = []
    for process in psutil.process_iter():
        try:
            if Path(process.cwd()) != target:
                continue
            command = process.cmdline()
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
        if command and os.path.basename(command[0]) == program and not exiting(process.pid):
            found.append(process.pid)
    return found


def tree_rss_kb(pid: int) -> int:
    """The resident memory of `pid` and all its descendants, in KiB (0 if it is gone)."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in tree:
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
    return total // 1024


def busy_cpu_seconds() -> float:
    """CPU seconds every core of this machine has spent busy since boot: user, nice, system
    and interrupts (not idle, not waiting on I/O; a guest's time is already in user's)."""
    times = psutil.cpu_times()
    busy = ("user", "nice", "system", "irq", "softirq")
    return float(sum(getattr(times, field, 0.0) for field in busy))
