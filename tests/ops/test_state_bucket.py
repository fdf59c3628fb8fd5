"""When `make up` applies the emulator's state-bucket stack (ops/up.py, ensure_state_bucket)."""

from __future__ import annotations

import pytest

from ops import local_aws, up
from stacks.settings import EMULATOR_STATE_STACK, LOCAL_STATE_FILE


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
