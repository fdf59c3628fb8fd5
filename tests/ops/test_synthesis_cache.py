"""When a synthesis counts as current (ops/synthesis_cache.py): its key changes with every file
git tracks or would track in the project's folders, handler folders included, with the few root
files a synthesis reads (a log at the root changes nothing), with the environment that changes a
synthesis, and with the output; without git nothing is current."""

from __future__ import annotations

import subprocess

import pytest

from ops import synthesis_cache


@pytest.fixture
def project(tmp_path):
    """A git work tree with one tracked module, an ignored output and a synthesized stack."""
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    (root / "stacks" / "app.py").write_text("APP = 1\n")
    (root / ".gitignore").write_text("cdktf.out/\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "."], cwd=root, check=True)
    output = root / "cdktf.out" / "stacks" / "s" / "cdk.tf.json"
    output.parent.mkdir(parents=True)
    output.write_text("{}")
    return root, [output]


def key(project, **kwargs):
    root, outputs = project
    return synthesis_cache.key(outputs, env=kwargs.pop("env", {}), root=root, **kwargs)


def test_the_key_is_stable_and_ignores_what_gitignore_leaves_out(project):
    root, _ = project
    first = key(project)
    assert first is not None and key(project) == first
    (root / "cdktf.out" / "other.json").write_text("{}")  # an output beside it: ignored
    assert key(project) == first


def test_a_file_at_the_root_that_no_synthesis_reads_changes_nothing(project):
    """`make test > test.log` in the project's root: the log grows while the suite runs, and a
    redeploy must still find its synthesis current (issue 36)."""
    root, _ = project
    before = key(project)
    (root / "test.log").write_text("....")
    (root / "NOTES.md").write_text("to do\n")
    assert key(project) == before
    (root / "main.py").write_text("run_synth()\n")  # the app's entry: counts
    assert key(project) != before


def test_a_new_handler_folder_and_an_edited_file_change_the_key(project):
    root, _ = project
    before = key(project)
    (root / "handlers" / "get_image").mkdir(parents=True)
    (root / "handlers" / "get_image" / "app.py").write_text("def handler(e, c): ...\n")
    with_handler = key(project)
    assert with_handler != before  # untracked, not ignored: counts
    (root / "handlers" / "get_image" / "app.py").write_text("def handler(e, c): return 1\n")
    assert key(project) != with_handler


def test_the_environment_the_extra_and_the_output_change_the_key(project):
    _, outputs = project
    base = key(project)
    assert key(project, env={"IMAGE_SERVICE_STAGES": "dev"}) != base
    assert key(project, env={"CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS": "1"}) != base
    assert key(project, env={"HOME": "/elsewhere"}) == base  # not a synthesis setting
    assert key(project, extra="http://127.0.0.1:5051") != base
    outputs[0].write_text('{"changed": true}')
    assert key(project) != base


def test_remembered_it_is_current_until_something_changes(project, tmp_path):
    root, outputs = project
    record = tmp_path / "key"
    assert not synthesis_cache.is_current(record, outputs, env={}, root=root)  # none recorded
    synthesis_cache.remember(record, outputs, env={}, root=root)
    assert synthesis_cache.is_current(record, outputs, env={}, root=root)
    (root / "stacks" / "app.py").write_text("APP = 2\n")
    assert not synthesis_cache.is_current(record, outputs, env={}, root=root)
    synthesis_cache.remember(record, outputs, env={}, root=root)
    outputs[0].unlink()
    assert not synthesis_cache.is_current(record, outputs, env={}, root=root)  # output gone


def test_without_git_nothing_is_current(tmp_path):
    output = tmp_path / "cdk.tf.json"
    output.write_text("{}")
    assert synthesis_cache.source_files(tmp_path) is None
    assert synthesis_cache.key([output], root=tmp_path) is None


# ---- bin/cdktf's use of it (ops/cdktf.py lock_and_synthesize) -------------------------------
@pytest.fixture
def bin_cdktf(tmp_path, monkeypatch):
    """lock_and_synthesize on the project's real sources, into an outdir of the test's own; the
    synthesis itself replaced by one that writes the stack's files and counts its calls (the
    real one: tests/deploy/test_derived_deploy.py)."""
    import argparse
    from contextlib import ExitStack

    from ops import cdktf
    from ops.app_stacks import resolve

    calls: list[dict[str, str]] = []
    result = {"code": 0}

    def synthesize(outdir, env):
        calls.append(dict(env))
        stack_dir = outdir / "stacks" / "image-service-dev"
        stack_dir.mkdir(parents=True, exist_ok=True)
        (stack_dir / "cdk.tf.json").write_text('{"resource": {}}')
        (outdir / "manifest.json").write_text('{"stacks": {}}')
        return result["code"]

    monkeypatch.setattr(cdktf, "synthesize", synthesize)
    args = argparse.Namespace(outdir=tmp_path / "cdktf.out", skip_synth=False, command="diff")
    stacks = resolve(["image-service-dev"])

    def run(env: dict[str, str] | None = None) -> int:
        with ExitStack() as held:
            return cdktf.lock_and_synthesize(held, args, stacks, env or {})

    return run, calls, result, args.outdir


def test_bin_cdktf_synthesizes_again_only_when_something_changed(bin_cdktf, capsys):
    run, calls, _, outdir = bin_cdktf
    assert run() == 0 and len(calls) == 1
    assert run() == 0 and len(calls) == 1  # nothing changed: the last synthesis is used
    assert "the last synthesis of these stacks is current" in capsys.readouterr().out
    assert run({"IMAGE_SERVICE_STAGES": "dev"}) == 0 and len(calls) == 2  # a setting
    assert run({"IMAGE_SERVICE_STAGES": "dev"}) == 0 and len(calls) == 2
    (outdir / "stacks" / "image-service-dev" / "cdk.tf.json").write_text('{"edited": 1}')
    assert run({"IMAGE_SERVICE_STAGES": "dev"}) == 0 and len(calls) == 3  # its output
    (outdir / "manifest.json").unlink()  # another synthesis's manifest, or none
    assert run({"IMAGE_SERVICE_STAGES": "dev"}) == 0 and len(calls) == 4


def test_bin_cdktf_never_reuses_a_failed_synthesis(bin_cdktf):
    run, calls, result, _ = bin_cdktf
    assert run() == 0 and len(calls) == 1
    result["code"] = 2
    assert run({"IMAGE_SERVICE_STAGES": "dev"}) == 2 and len(calls) == 2
    assert run({"IMAGE_SERVICE_STAGES": "dev"}) == 2 and len(calls) == 3  # tried again


def test_bin_cdktf_synthesizes_again_on_another_day(bin_cdktf, monkeypatch):
    from ops import cdktf

    run, calls, _, _ = bin_cdktf
    monkeypatch.setattr(cdktf, "_today", lambda: "2026-12-03")
    assert run() == 0 and len(calls) == 1
    assert run() == 0 and len(calls) == 1
    monkeypatch.setattr(cdktf, "_today", lambda: "2026-12-04")
    assert run() == 0 and len(calls) == 2  # a derived stage's first synthesis is dated
