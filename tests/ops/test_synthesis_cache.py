"""When a synthesis counts as current (ops/synthesis_cache.py): its key changes with every file
git tracks or would track, handler folders included, with the environment that changes a
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
