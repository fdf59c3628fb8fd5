"""How the commands find the app's stacks (ops/app_stacks.py): by name through the app's own table
of stacks and their settings, state stacks included; and when one can be planned here without
contacting anything."""

from __future__ import annotations

import pytest

from ops.app_stacks import missing_credentials, require_credentials, resolve, table
from stacks.errors import ToolchainError
from stacks.settings import LOCAL_ENDPOINT_ENV, STAGES_ENV, stage_settings


def test_every_stage_stack_and_every_accounts_state_stack_is_in_the_table():
    stacks = table()
    assert {name: (s.kind, s.settings.stage) for name, s in stacks.items()} == {
        "image-service-dev": ("stage", "dev"),
        "image-service-staging": ("stage", "staging"),
        "image-service-production": ("stage", "production"),
        "image-service-local": ("stage", "local"),
        "image-service-local-production": ("stage", "local-production"),
        "image-service-state-111111111111": ("state", "dev"),
        "image-service-state-222222222222": ("state", "staging"),
        "image-service-state-333333333333": ("state", "production"),
        "image-service-state-local": ("state", "local"),
    }


def test_a_state_stack_resolves_to_its_accounts_settings_not_a_stage_named_after_it():
    """Issue 25, bug 1: `image-service-state-111111111111` was looked up as the stage
    'state-111111111111'."""
    [state] = resolve(["image-service-state-111111111111"])
    assert state.kind == "state" and not state.on_emulator
    assert state.settings.account == stage_settings("dev").account
    [local] = resolve(["image-service-state-local"])
    assert local.kind == "state" and local.on_emulator


def test_an_unknown_stack_is_named_with_the_stacks_there_are(monkeypatch):
    with pytest.raises(ToolchainError) as error:
        resolve(["image-service-qa", "image-service-dev"])
    message = str(error.value)
    assert message.startswith("image-service-qa is not a stack of this app (its stacks: ")
    assert "image-service-state-111111111111" in message and "Fix: check the name" in message
    assert "the derived stages' image-service-pr-<number>, image-service-dev-<name>" in message
    monkeypatch.setenv(STAGES_ENV, "local")
    with pytest.raises(ToolchainError, match="IMAGE_SERVICE_STAGES=local selects which stages"):
        resolve(["image-service-dev"])


def test_a_real_stack_without_credentials_is_not_planned_and_not_contacted(tmp_path):
    env = {"HOME": str(tmp_path)}  # no credentials anywhere
    for name in ("image-service-dev", "image-service-state-111111111111"):
        [stack] = resolve([name])
        assert missing_credentials(stack, env) == (
            "no AWS credentials for account 111111111111 in this environment (set AWS_PROFILE "
            "or AWS_ACCESS_KEY_ID, or in CI the OIDC step)"
        )
    assert missing_credentials(stack, {**env, "AWS_PROFILE": "dev"}) is None
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text("[profile dev]\n")
    assert missing_credentials(stack, env) is None


def test_an_emulator_stack_needs_the_running_emulator():
    [local] = resolve(["image-service-local"])
    with pytest.raises(ToolchainError) as error:
        require_credentials(local, {}, "bin/cdktf deploy")
    assert str(error.value) == (
        "bin/cdktf deploy: image-service-local cannot be planned here: the local emulator is not "
        "running (`make up` starts it); nothing was contacted. Fix: run `make up` first (it "
        "starts the emulator and deploys image-service-local)"
    )
    assert missing_credentials(local, {LOCAL_ENDPOINT_ENV: "http://127.0.0.1:5050"}) is None
