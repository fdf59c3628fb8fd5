"""Shared fixtures: each stage is synthesized once per test session and shared.

cdktf is imported inside the fixtures, not here: the pytest-xdist controller loads this file too
and needs no jsii runtime (~3 s before the workers could start)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ops.toolchain import ROOT, project_env

os.environ.update(
    {
        k: v
        for k, v in project_env().items()
        if k
        in (
            "TF_CLI_CONFIG_FILE",
            "CHECKPOINT_DISABLE",
            "GOGC",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION",
            "TF_PLUGIN_CACHE_DIR",
        )
    }
)

from stacks.settings import ALL_STAGES, STAGES_ENV, StageSettings, stage_settings  # noqa: E402
from tests.deploy import faithful  # noqa: E402

_FAITHFUL = pytest.StashKey[tuple]()


class Synth:
    """One synthesized stack: its cdk.tf.json as text (for cdktf's Testing) and as a dict."""

    def __init__(self, text: str, directory: Path | None = None):
        self.text = text
        self.json: dict[str, Any] = json.loads(text)
        self.directory = directory

    def resources(self, tf_type: str) -> dict[str, dict[str, Any]]:
        return self.json.get("resource", {}).get(tf_type, {})

    def one(self, tf_type: str) -> dict[str, Any]:
        found = self.resources(tf_type)
        assert len(found) == 1, f"expected one {tf_type}, found {sorted(found)}"
        return next(iter(found.values()))

    def data(self, tf_type: str) -> dict[str, dict[str, Any]]:
        return self.json.get("data", {}).get(tf_type, {})


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    """Every stack of the real app, synthesized once."""
    from stacks.app import build_app

    outdir = tmp_path_factory.mktemp("cdktf.out")
    build_app(outdir=str(outdir)).synth()
    return outdir


@pytest.fixture(scope="session")
def stacks(synth_dir) -> dict[str, Synth]:
    out = {}
    for d in sorted((synth_dir / "stacks").iterdir()):
        out[d.name] = Synth((d / "cdk.tf.json").read_text(), d)
    return out


@pytest.fixture(scope="session")
def stage(stacks) -> Callable[[str], Synth]:
    return lambda name: stacks[f"image-service-{name}"]


_variant_cache: dict[tuple, Synth] = {}


def synth_settings(settings: StageSettings, tmp_root: Path) -> Synth:
    """Synthesize one ImageServiceStack from (possibly edited) settings; cached per settings."""
    from cdktf import App

    from stacks.image_service_stack import ImageServiceStack

    key = (repr(settings),)
    if key not in _variant_cache:
        outdir = tmp_root / f"variant-{len(_variant_cache)}"
        app = App(outdir=str(outdir))
        stack = ImageServiceStack(app, settings)
        app.synth()
        path = outdir / "stacks" / stack.settings.stack_name
        _variant_cache[key] = Synth((path / "cdk.tf.json").read_text(), path)
    return _variant_cache[key]


@pytest.fixture(scope="session")
def variant(tmp_path_factory) -> Callable[..., Synth]:
    """variant("dev", bucket=replace(...)) synthesizes dev with some settings changed."""
    root = tmp_path_factory.mktemp("variants")

    def make(stage_name: str, **changes) -> Synth:
        return synth_settings(replace(stage_settings(stage_name), **changes), root)

    return make


# The folder the README's "Adding a handler" block packages: a handler as the next epic writes
# them (it is not run here: moto runs functions only in Docker).
HANDLER_SOURCE = """def handler(event, context):
    return {"statusCode": 200, "body": event["pathParameters"]["imageId"]}
"""


def readme_handler_block() -> str:
    """The first Python block of the README's "Adding a handler" section, as written."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Adding a handler\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def write_handler_source(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "app.py").write_text(HANDLER_SOURCE)
    return folder


@pytest.fixture(scope="session")
def handler_stack(tmp_path_factory) -> Synth:
    """image-service-dev after the README's "Adding a handler" block ran exactly as written, as
    a script of its own in a folder holding handlers/get_image (a process of its own: cdktf's
    Node runtime keeps the directory it started in). Only the dev stage is selected, for speed.
    """
    work = tmp_path_factory.mktemp("adding-a-handler")
    write_handler_source(work / "handlers" / "get_image")
    script = work / "add_a_handler.py"
    script.write_text(readme_handler_block())
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=work,
        env=project_env({"PYTHONPATH": str(ROOT), STAGES_ENV: "dev"}),
        text=True,
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr
    directory = work / "cdktf.out" / "stacks" / "image-service-dev"
    return Synth((directory / "cdk.tf.json").read_text(), directory)


# One state bootstrap per real account (stacks/settings.py, ACCOUNTS), and the emulator's.
STATE_STACKS = tuple(
    f"image-service-state-{stage_settings(s).account.account_id}"
    for s in ("dev", "staging", "production")
)
ALL_STACKS = (
    tuple(f"image-service-{s}" for s in ALL_STAGES) + STATE_STACKS + ("image-service-state-local",)
)


# Modules that take longest start first (pytest.ini: -n 2 --dist loadfile
# --no-loadscope-reorder): the faults (one worker), the two deployments, then the heaviest without
# the emulator; the rest follow on whichever worker frees up first. The faithful deployment runs
# in the background from the session's start (below), so its module, which only inspects it,
# comes last.
SLOW_FIRST = (
    "tests/deploy/test_faults.py",
    "tests/deploy/test_protected_deploy.py",
    "tests/deploy/test_local_deploy.py",
    "tests/deploy/test_handler_deploy.py",
    "tests/deploy/test_bootstrap_deploy.py",
    "tests/stacks/test_image_service_stacks.py",
    "tests/policies/test_organisation_policy.py",
)
LAST = (faithful.MODULE,)


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        if path in LAST:
            return len(SLOW_FIRST) + 1
        return SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: file order is kept within each rank


def _faithful_selected(config) -> bool:
    """Whether this run collects tests/deploy/test_faithful_deploy.py with its emulator mark."""
    if "not emulator" in " ".join((config.option.markexpr or "").split()):
        return False
    target = (config.rootpath / faithful.MODULE).resolve()
    for arg in config.args:
        path = Path(arg.split("::", 1)[0])
        for base in (config.invocation_params.dir, config.rootpath):
            candidate = (base / path).resolve()
            if candidate.exists():
                if candidate == target or candidate in target.parents:
                    return True
                break
    return False


def pytest_configure(config):
    """Start the faithful deployment in the background (tests/deploy/faithful.py) before the
    xdist workers start, which inherit where it runs through the environment."""
    if hasattr(config, "workerinput") or not _faithful_selected(config):
        return
    run_dir = Path(tempfile.mkdtemp(prefix="image-service-faithful-"))
    os.environ[faithful.RUN_ENV] = str(run_dir)
    config.stash[_FAITHFUL] = (faithful.start(run_dir), run_dir)


def pytest_unconfigure(config):
    started = config.stash.get(_FAITHFUL, None)
    if started:
        process, run_dir = started
        faithful.stop(process, run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)
        os.environ.pop(faithful.RUN_ENV, None)
