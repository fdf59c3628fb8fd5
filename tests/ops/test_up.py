"""`make up`'s decisions (ops/up.py), without an emulator: when it applies the emulator's
state-bucket stack, what it does with an errored.tfstate, and which port a new emulator gets.
(The whole command under faults: tests/deploy/test_make_up.py.)"""

from __future__ import annotations

import json
import os
import socket
import threading

import pytest

from ops import local_aws, up
from stacks.errors import ToolchainError
from stacks.settings import EMULATOR_STATE_STACK, LOCAL_STATE_FILE, EmulatorSettings


@pytest.fixture
def outdir(tmp_path):
    stack_dir = tmp_path / "cdktf.out" / "stacks" / EMULATOR_STATE_STACK
    stack_dir.mkdir(parents=True)
    (stack_dir / "cdk.tf.json").write_text('{"terraform": {}}')
    return tmp_path / "cdktf.out"


@pytest.fixture
def applied(monkeypatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(up, "_bucket_exists", lambda endpoint, bucket: True)
    monkeypatch.setattr(up, "create_state_bucket", lambda outdir, env: calls.append("apply"))
    return calls


EMULATOR = local_aws.Emulator(pid=4242, port=5050)


def test_a_bootstrap_whose_state_was_moved_into_the_bucket_is_left_alone(outdir, applied, tmp_path):
    """After `ops.bootstrap local` the bucket exists and no local state is left: an apply from
    an empty local state could only fail on the existing bucket."""
    (tmp_path / "run").mkdir()
    assert up.ensure_state_bucket(outdir, {}, EMULATOR, tmp_path / "run") is False
    assert applied == []


def test_a_changed_bootstrap_with_its_local_state_is_applied(outdir, applied, tmp_path):
    (outdir / "stacks" / EMULATOR_STATE_STACK / LOCAL_STATE_FILE).write_text("{}")
    (tmp_path / "run").mkdir()
    assert up.ensure_state_bucket(outdir, {}, EMULATOR, tmp_path / "run") is True
    assert applied == ["apply"]
    # Recorded: the same configuration on the same emulator is not applied twice.
    assert up.ensure_state_bucket(outdir, {}, EMULATOR, tmp_path / "run") is False
    assert applied == ["apply"]


# ---- errored.tfstate, left when Terraform could not save its state ---------------------------
def _errored_and_started(tmp_path, errored_first: bool):
    stack_dir, run_dir = tmp_path / "stack", tmp_path / "run"
    stack_dir.mkdir()
    run_dir.mkdir()
    first, second = (
        (stack_dir / "errored.tfstate", run_dir / "pid")
        if errored_first
        else (run_dir / "pid", stack_dir / "errored.tfstate")
    )
    first.write_text("1")
    second.write_text("2")
    # Older by a minute, whatever the filesystem's timestamp resolution.
    mtime = second.stat().st_mtime - 60
    os.utime(first, (mtime, mtime))
    return stack_dir, run_dir


def test_an_errored_state_older_than_the_emulator_is_removed(tmp_path, capsys):
    """Left by a run whose emulator stopped: it describes resources that stopped with it."""
    stack_dir, run_dir = _errored_and_started(tmp_path, errored_first=True)
    up.remove_errored_state(stack_dir, run_dir)
    assert not (stack_dir / "errored.tfstate").exists()
    assert "removed errored.tfstate, left by a run whose emulator stopped" in (
        capsys.readouterr().out
    )


def test_an_errored_state_of_the_running_emulator_is_kept_and_named(tmp_path):
    stack_dir, run_dir = _errored_and_started(tmp_path, errored_first=False)
    with pytest.raises(ToolchainError) as error:
        up.remove_errored_state(stack_dir, run_dir)
    assert (stack_dir / "errored.tfstate").read_text() == "2"
    assert "terraform state push errored.tfstate" in str(error.value)
    assert "Fix:" in str(error.value)


# ---- which port a new emulator gets ---------------------------------------------------------
def _synthesized_for(outdir, port: int) -> None:
    stack_dir = outdir / "stacks" / up.STACK
    (stack_dir / "assets").mkdir(parents=True)
    (stack_dir / "assets" / "aws.config").write_text(
        EmulatorSettings(f"http://127.0.0.1:{port}").aws_config()
    )
    (stack_dir / "cdk.tf.json").write_text(
        json.dumps({"provider": {"aws": [{"shared_config_files": ["assets/aws.config"]}]}})
    )


def test_a_new_emulator_gets_the_port_the_last_synthesis_targets_while_it_is_free(tmp_path):
    port = local_aws.free_port()
    _synthesized_for(tmp_path / "cdktf.out", port)
    assert (
        up.port_for_a_new_emulator(tmp_path / "cdktf.out", tmp_path / "run", preferred_port=1)
        == port
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen(1)
        other = up.port_for_a_new_emulator(
            tmp_path / "cdktf.out", tmp_path / "run", preferred_port=port
        )
    assert other != port and local_aws.port_is_free(other)


def test_an_emulator_killed_a_moment_ago_gives_its_port_back_to_the_next(
    tmp_path, main_thread_gone
):
    """Its main thread gone, its server threads still holding the port (moto right after a
    kill): the new emulator waits for the port rather than take another."""
    proc, port = main_thread_gone
    _synthesized_for(tmp_path / "cdktf.out", port)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "pid").write_text(str(proc.pid))
    threading.Timer(0.3, proc.kill).start()
    assert up.port_for_a_new_emulator(tmp_path / "cdktf.out", tmp_path / "run", 1) == port


def test_without_a_synthesis_a_new_emulator_gets_the_preferred_port(tmp_path):
    preferred = local_aws.free_port()
    assert (
        up.port_for_a_new_emulator(tmp_path / "cdktf.out", tmp_path / "run", preferred) == preferred
    )
