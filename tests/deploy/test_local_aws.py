"""The emulator's lifecycle: idempotent start, stale records, clean stop, loopback only."""

import pytest

from ops import local_aws

pytestmark = pytest.mark.emulator


def test_up_twice_reuses_the_running_emulator_and_down_stops_it(tmp_path):
    first = local_aws.up(tmp_path, port=local_aws.free_port())
    try:
        assert first.endpoint.startswith("http://127.0.0.1:")
        assert (tmp_path / "pid").read_text() == str(first.pid)
        assert (tmp_path / "endpoint").read_text() == first.endpoint
        assert local_aws.up(tmp_path) == first
    finally:
        assert local_aws.down(tmp_path) is True
    assert local_aws.status(tmp_path) is None
    assert not local_aws.alive(first.pid)
    assert not (tmp_path / "pid").exists()
    assert local_aws.down(tmp_path) is False


def test_a_stale_pid_file_is_replaced(tmp_path):
    (tmp_path / "pid").write_text("999999")  # no such process
    (tmp_path / "port").write_text("1")
    assert local_aws.status(tmp_path) is None
    emulator = local_aws.up(tmp_path, port=local_aws.free_port())
    try:
        assert emulator.pid != 999999
        assert local_aws.status(tmp_path) == emulator
    finally:
        local_aws.down(tmp_path)


def test_a_damaged_or_deleted_record_never_orphans_the_emulator(tmp_path):
    emulator = local_aws.up(tmp_path, port=local_aws.free_port())
    try:
        (tmp_path / "pid").write_text("not a pid")
        assert local_aws.status(tmp_path) == emulator  # found by its run-dir marker
        assert (tmp_path / "pid").read_text() == str(emulator.pid)  # and recorded again
        assert local_aws.up(tmp_path) == emulator  # no second emulator
        for name in ("pid", "port", "endpoint"):
            (tmp_path / name).unlink()
    finally:
        assert local_aws.down(tmp_path) is True
    assert not local_aws.alive(emulator.pid)
    assert local_aws.find_unrecorded(tmp_path) == []
