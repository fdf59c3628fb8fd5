"""ops/local_aws.py's facts about processes and ports, without an emulator. (The emulator
itself under faults: tests/deploy/test_local_aws.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from ops import local_aws
from tests.wait import wait_until

# A process whose main thread exits (pthread_exit: a zombie in /proc/<pid>/stat) while another
# of its threads keeps its listening socket: what a killed moto or gateway looks like for the
# moment between its main thread's exit and its last thread's.
MAIN_THREAD_GONE_PORT_HELD = """
import ctypes, socket, sys, threading, time
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen()
print(sock.getsockname()[1], flush=True)
threading.Thread(target=lambda: [time.sleep(0.05) for _ in iter(int, 1)], daemon=True).start()
sys.stdin.read(1)
ctypes.CDLL(None).pthread_exit(None)
"""


def _main_thread_state(pid: int) -> str:
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[-1].split()[0]


@pytest.fixture
def main_thread_gone():
    proc = subprocess.Popen(
        [sys.executable, "-c", MAIN_THREAD_GONE_PORT_HELD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    port = int(proc.stdout.readline())
    proc.stdin.write("x")
    proc.stdin.flush()
    wait_until(lambda: _main_thread_state(proc.pid) == "Z", "the main thread exited")
    yield proc, port
    proc.kill()
    proc.wait()


def test_a_process_whose_main_thread_is_a_zombie_but_holds_its_port_is_alive(main_thread_gone):
    proc, port = main_thread_gone
    assert not local_aws.port_is_free(port)
    assert local_aws.alive(proc.pid) is True


def test_a_killed_process_is_gone_once_reaped_and_its_port_is_free(main_thread_gone):
    proc, port = main_thread_gone
    proc.kill()
    proc.wait()
    assert local_aws.alive(proc.pid) is False
    assert local_aws.port_is_free(port)


def test_a_zombie_that_has_released_everything_is_not_alive():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    wait_until(lambda: _main_thread_state(proc.pid) == "Z", "exited")  # not yet reaped
    try:
        assert local_aws.alive(proc.pid) is False
    finally:
        proc.wait()


def test_an_exiting_process_is_told_apart_and_waited_for(main_thread_gone):
    proc, port = main_thread_gone
    assert local_aws.exiting(proc.pid) is True
    threading.Timer(0.3, proc.kill).start()  # its last thread ends a moment later
    local_aws.wait_exited(proc.pid, timeout=30)
    assert local_aws.exiting(proc.pid) is False
    assert local_aws.port_is_free(port)


def test_a_running_process_is_not_exiting_and_not_waited_for():
    assert local_aws.exiting(os.getpid()) is False
    local_aws.wait_exited(os.getpid(), timeout=30)  # returns at once: nothing to wait for
