"""The toolchain outside this build machine: the AWS provider from the offline mirror where the
mirror holds it, from the public registry otherwise, and the cdktf CLI's registry-bound provider
lock step skipped only with the mirror. No network is needed to check what Terraform is told."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ops import toolchain
from ops.cdktf import needs_skip_provider_lock
from stacks.settings import AWS_PROVIDER_VERSION


def mirror_config(tmp_path: Path, mirror: Path) -> Path:
    """A mirror CLI config like terraform/cli.tfrc, pointing at `mirror`."""
    config = tmp_path / "mirror.tfrc"
    config.write_text(
        toolchain.MIRROR_TF_CLI_CONFIG.read_text().replace("/opt/tf-plugins", str(mirror))
    )
    return config


@pytest.fixture
def without_mirror(tmp_path, monkeypatch) -> Path:
    """This machine as a laptop sees it: the mirror directory exists but is empty."""
    empty = tmp_path / "tf-plugins"
    empty.mkdir()
    monkeypatch.setenv(toolchain.TF_CLI_CONFIG_ENV, str(mirror_config(tmp_path, empty)))
    return empty


def test_with_the_mirror_terraform_installs_from_it_only():
    assert toolchain.mirror_holds_provider()
    assert toolchain.tf_cli_config() == toolchain.MIRROR_TF_CLI_CONFIG
    assert toolchain.project_env()["TF_CLI_CONFIG_FILE"] == str(toolchain.MIRROR_TF_CLI_CONFIG)
    text = toolchain.MIRROR_TF_CLI_CONFIG.read_text()
    assert 'path    = "/opt/tf-plugins"' in text
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in text  # never the registry


def test_with_the_mirror_the_cli_skips_its_registry_lock_step():
    for command in ("diff", "plan", "deploy"):
        assert needs_skip_provider_lock(command, [command, "image-service-dev"])
    assert not needs_skip_provider_lock("diff", ["diff", "--skip-provider-lock"])
    assert not needs_skip_provider_lock("synth", ["synth"])


def test_without_the_mirror_terraform_is_pointed_at_the_public_registry(without_mirror):
    assert not toolchain.mirror_holds_provider()
    assert toolchain.tf_cli_config() == toolchain.REGISTRY_TF_CLI_CONFIG
    env = toolchain.project_env()
    assert env["TF_CLI_CONFIG_FILE"] == str(toolchain.REGISTRY_TF_CLI_CONFIG)
    registry = toolchain.REGISTRY_TF_CLI_CONFIG.read_text()
    # No provider_installation block: Terraform's default, the registry, for every provider.
    assert "provider_installation" not in registry.split("\n#")[-1]
    assert [line for line in registry.splitlines() if not line.startswith("#")] == [
        "disable_checkpoint = true"
    ]
    # The downloaded provider is cached in the project, once for every stack.
    assert env["TF_PLUGIN_CACHE_DIR"].endswith("/.run/plugin-cache")


def test_without_the_mirror_the_toolchain_check_passes_and_the_lock_step_runs(without_mirror):
    toolchain.check_toolchain()  # no longer refuses a machine without the mirror
    assert not needs_skip_provider_lock("diff", ["diff", "image-service-dev"])
    assert not needs_skip_provider_lock("deploy", ["deploy", "image-service-dev"])


def test_a_mirror_without_the_pinned_version_counts_as_no_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / "tf-plugins"
    other = mirror / "registry.terraform.io/hashicorp/aws/5.99.0/linux_amd64"
    other.mkdir(parents=True)
    (other / "terraform-provider-aws_v5.99.0_x5").write_text("")
    monkeypatch.setenv(toolchain.TF_CLI_CONFIG_ENV, str(mirror_config(tmp_path, mirror)))
    assert not toolchain.mirror_holds_provider()
    pinned = mirror / f"registry.terraform.io/hashicorp/aws/{AWS_PROVIDER_VERSION}/linux_amd64"
    pinned.mkdir(parents=True)
    (pinned / f"terraform-provider-aws_v{AWS_PROVIDER_VERSION}_x5").write_text("")
    assert toolchain.mirror_holds_provider()
    assert toolchain.tf_cli_config() == mirror_config(tmp_path, mirror)


def test_the_lint_gate_names_a_function_too_complex_or_too_long(tmp_path):
    from tools.complexity import MAX_COMPLEXITY, MAX_LINES, too_big

    branches = "".join(f"    if x == {n}:\n        return {n}\n" for n in range(MAX_COMPLEXITY))
    long_body = "".join(f"    y{n} = {n}\n" for n in range(MAX_LINES))
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "big.py").write_text(
        f"def branchy(x):\n{branches}    return -1\n\n\n"
        f"def long():\n{long_body}    return 0\n\n\n"
        "def small():\n    return 1\n"
    )
    assert too_big(tmp_path) == [
        f"ops/big.py:1 branchy: complexity {MAX_COMPLEXITY + 1}",
        f"ops/big.py:{2 * MAX_COMPLEXITY + 5} long: {MAX_LINES + 2} lines",
    ]
    assert too_big() == []  # this project, as make lint sees it


def _provider_entry(cache: Path) -> Path:
    [entry] = (
        cache / "registry.terraform.io" / "hashicorp" / "aws" / AWS_PROVIDER_VERSION
    ).iterdir()
    return entry


def test_an_init_leaves_the_shared_plugin_cache_as_it_is(stacks, tmp_path):
    """Every init after the first gets the lock file the first wrote, and so only links to the
    cached provider: an init without one re-creates the cache's entry, and a Terraform command
    starting meanwhile in another stack finds no provider ("Required plugins are not
    installed", seen once in a test session while two deployments ran)."""
    cache = tmp_path / "cache"
    env = toolchain.project_env({"TF_PLUGIN_CACHE_DIR": str(cache)})
    config = json.dumps(stacks["image-service-dev"].json)
    dirs = {name: tmp_path / name for name in ("first", "second", "bare")}
    for directory in dirs.values():
        directory.mkdir()
        (directory / "cdk.tf.json").write_text(config)
    init = ("init", "-backend=false", "-input=false", "-no-color")
    toolchain.terraform(dirs["first"], *init, env=env)
    known = toolchain.known_lock_file(env)
    assert (
        known is not None and known.read_text() == (dirs["first"] / toolchain.LOCK_FILE).read_text()
    )
    created = _provider_entry(cache).lstat().st_mtime_ns

    toolchain.terraform(dirs["second"], *init, env=env)
    assert (dirs["second"] / toolchain.LOCK_FILE).read_text() == known.read_text()
    assert _provider_entry(cache).lstat().st_mtime_ns == created  # linked to, left as it was

    # What the seeding avoids, as Terraform 1.11 does it: a bare init re-creates the entry.
    subprocess.run(["terraform", *init], cwd=dirs["bare"], env=env, check=True, capture_output=True)
    assert _provider_entry(cache).lstat().st_mtime_ns != created
