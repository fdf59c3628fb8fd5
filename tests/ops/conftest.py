"""Shared by tests/ops: a stand-in for a killed multi-threaded process (moto's server, the
local gateway) caught while it is still exiting."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest

from tests.wait import wait_until

# A process whose main thread exits (pthread_exit: its main thread a zombie) while another
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


def main_thread_state(pid: int) -> str:
    """Its main thread's state as psutil reads it ("zombie", "sleeping", ...)."""
    return str(psutil.Process(pid).status())


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
    wait_until(lambda: main_thread_state(proc.pid) == psutil.STATUS_ZOMBIE, "main thread exited")
    yield proc, port
    proc.kill()
    proc.wait()
