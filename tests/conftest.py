"""Shared fixtures: each stage is synthesized once per test session and shared.

cdktf is imported inside the fixtures, not here: the pytest-xdist controller loads this file too
and needs no jsii runtime (~3 s before the workers could start)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ops.toolchain import project_env

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

from stacks.settings import (  # noqa: E402
    ALL_STAGES,
    StageSettings,
    stage_settings,
)
from stacks.settings.stages import DNS_ACCOUNT_ID  # noqa: E402
from tests import session  # noqa: E402
from tests.deploy import shared  # noqa: E402

_SESSION = pytest.StashKey[Path]()


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

    def ref(self, tf_type: str, name_part: str, attribute: str = "id") -> str:
        """The Terraform reference `${type.name.attribute}` to the one resource whose construct
        id, or a parent's, is `name_part` (its name starts with it or holds `_name_part`)."""
        [name] = [
            n for n in self.resources(tf_type) if n.startswith(name_part) or f"_{name_part}" in n
        ]
        return f"${{{tf_type}.{name}.{attribute}}}"


def job(name: str) -> subprocess.CompletedProcess[str]:
    """A session job's result (tests/session.py), which must have succeeded."""
    proc = session.result(name)
    assert proc.returncode == 0, f"job {name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    """Every stack of the real app, synthesized once per worker, in it: the worker loads the
    jsii runtime for its construct tests anyway, and then this takes ~1 s."""
    from tests.synthesis import build_all

    outdir = tmp_path_factory.mktemp("cdktf.out")
    build_all(outdir).synth()
    return outdir


@pytest.fixture(scope="session")
def stacks(synth_dir) -> dict[str, Synth]:
    out = {}
    for d in sorted((synth_dir / "stacks").iterdir()):
        out[d.name] = Synth((d / "cdk.tf.json").read_text(), d)
    return out


@pytest.fixture(scope="session")
def catalogue():
    """IAM's catalogue of actions, resource types and condition keys (tests/policies/iam.py)."""
    from tests.policies.iam import Catalogue

    return Catalogue()


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


@pytest.fixture(scope="session")
def filled_in_project(tmp_path_factory) -> Path:
    """A copy of the project with the shipped placeholders filled in, as a team does before its
    first deploy (tests/project_copy.py)."""
    from tests.project_copy import copy_project, fill_in_placeholders

    return fill_in_placeholders(copy_project(tmp_path_factory.mktemp("filled-in")))


@pytest.fixture(scope="session")
def handler_stack() -> Synth:
    """image-service-dev after CONTRIBUTING.md's "Adding a handler" block ran exactly as written
    (tests/session.py), once per session."""
    job("adding-a-handler")
    directory = session.JOBS["adding-a-handler"].work / "cdktf.out/stacks/image-service-dev"
    return Synth((directory / "cdk.tf.json").read_text(), directory)


@pytest.fixture(scope="session")
def main_in_a_fresh_process() -> tuple[subprocess.CompletedProcess[str], Path]:
    """What main.py runs, in a fresh process (tests/session.py): (the process, the output
    directory it was given)."""
    return session.result("main-in-a-fresh-process"), (
        session.JOBS["main-in-a-fresh-process"].work / "cdktf.out"
    )


# One state bootstrap per real account (stacks/settings/stages.py, ACCOUNTS, PREVIEWS_ACCOUNT),
# and the emulator's; the DNS account's delegation roles.
STATE_STACKS = tuple(
    f"image-service-state-{stage_settings(s).account.account_id}"
    for s in ("dev", "staging", "production", "pr-1")
)
DNS_STACK = f"image-service-dns-{DNS_ACCOUNT_ID}"
ALL_STACKS = (
    tuple(f"image-service-{s}" for s in ALL_STAGES)
    + STATE_STACKS
    + ("image-service-state-local", DNS_STACK)
)


# The order modules are handed to the workers (pytest.ini: -n 2 --dist loadfile
# --no-loadscope-reorder: each worker gets the next module when it is down to its last tests).
# `make up` under faults (its own emulator and a copy of the project, ~90 s, the longest serial
# chain) goes to one worker; the other runs the state bootstrap (its own emulator) while the
# local deployment is applied, then the local deployment's module, then the production
# deployment's, whose ~60 s apply (started with the session) is done by then; the heaviest
# module without the emulator follows `make up`, and the rest go to whichever worker frees up
# first (bench/results.md: the wall time per module).
FIRST = (
    "tests/deploy/test_make_up.py",
    "tests/deploy/test_bootstrap_deploy.py",
    "tests/deploy/test_derived_deploy.py",
    "tests/deploy/test_local_deploy.py",
    "tests/deploy/test_local_gateway.py",
    "tests/deploy/test_browser.py",
    "tests/deploy/test_production_deploy.py",
    "tests/stacks/test_image_service_stacks.py",
    "tests/policies/test_organisation_policy.py",
)


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return FIRST.index(path) if path in FIRST else len(FIRST)

    items.sort(key=rank)  # stable: file order is kept within each rank


def _selected(config, paths: tuple[str, ...]) -> bool:
    """Whether this run may collect tests under any of `paths` (files or folders)."""
    if "not emulator" in " ".join((config.option.markexpr or "").split()) and all(
        p.startswith("tests/deploy") for p in paths
    ):
        return False
    targets = [(config.rootpath / p).resolve() for p in paths]
    for arg in config.args:
        path = Path(arg.split("::", 1)[0])
        for base in (config.invocation_params.dir, config.rootpath):
            candidate = (base / path).resolve()
            if candidate.exists():
                if any(
                    candidate == t or candidate in t.parents or t in candidate.parents
                    for t in targets
                ):
                    return True
                break
    return False


def pytest_configure(config):
    """The session's directory (tests/session.py) is named in the environment the xdist workers
    inherit. Its jobs and deployments (tests/deploy/shared.py) are started here when this run
    may need them (so they run while the workers start and collect), else by the first test
    that does."""
    if hasattr(config, "workerinput"):
        return
    directory = Path(tempfile.mkdtemp(prefix="image-service-tests-"))
    os.environ[session.SESSION_ENV] = str(directory)
    config.stash[_SESSION] = directory
    if _selected(config, shared.NEEDED_BY):
        shared.start(shared.deployments_dir())
    for name, job in session.JOBS.items():
        if _selected(config, job.needed_by):
            session.start(name)


def pytest_unconfigure(config):
    directory = config.stash.get(_SESSION, None)
    if directory:
        session.stop()
        shared.stop(shared.deployments_dir())
        shutil.rmtree(directory, ignore_errors=True)
        os.environ.pop(session.SESSION_ENV, None)
