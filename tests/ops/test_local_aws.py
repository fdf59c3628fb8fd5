"""ops/local_aws.py's facts about processes and ports, without an emulator. (The emulator
itself under faults: tests/deploy/test_local_aws.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import psutil

from ops import local_aws
from tests.ops.conftest import main_thread_state
from tests.wait import wait_until


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
    wait_until(lambda: main_thread_state(proc.pid) == psutil.STATUS_ZOMBIE, "exited")  # not reaped
    try:
        assert local_aws.alive(proc.pid) is False
    finally:
        proc.wait()


def test_an_exiting_process_is_told_apart_and_waited_for(main_thread_gone):
    proc, port = main_thread_gone
    assert local_aws.exiting(proc.pid) is True
    threading.Timer(0.3, proc.kill).start()  # its last thread ends a moment later
    assert local_aws.wait_exited(proc.pid, timeout=30) is True
    assert local_aws.exiting(proc.pid) is False
    assert local_aws.port_is_free(port)


def test_a_running_process_is_not_exiting_and_not_waited_for():
    assert local_aws.exiting(os.getpid()) is False
    assert local_aws.wait_exited(os.getpid(), timeout=30) is False


def test_a_recorded_process_still_exiting_is_waited_for(main_thread_gone, tmp_path):
    proc, port = main_thread_gone
    (tmp_path / "pid").write_text(str(proc.pid))
    threading.Timer(0.3, proc.kill).start()
    assert local_aws.wait_recorded_exited(tmp_path / "pid", timeout=30) == proc.pid
    assert local_aws.port_is_free(port)


def test_no_record_a_damaged_one_or_a_live_process_is_not_waited_for(tmp_path):
    assert local_aws.wait_recorded_exited(tmp_path / "pid", timeout=30) is None  # none
    (tmp_path / "pid").write_text("not a pid")
    assert local_aws.wait_recorded_exited(tmp_path / "pid", timeout=30) is None
    (tmp_path / "pid").write_text(str(os.getpid()))
    assert local_aws.wait_recorded_exited(tmp_path / "pid", timeout=30) is None
