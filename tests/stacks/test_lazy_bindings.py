"""The lazy provider import (constructs_lib/__init__.py) must not change what is synthesized."""
import subprocess
import sys

from ops.toolchain import ROOT, project_env


def test_identical_json_with_and_without_lazy_bindings(stacks, synth_dir, tmp_path):
    # The session's stacks were synthesized with the lazy import; main.py synthesizes them all
    # again with the provider package's own __init__ (every binding module) imported eagerly.
    outdir = tmp_path / "eager"
    env = project_env({"IMAGE_SERVICE_STAGES": "", "CDKTF_OUTDIR": str(outdir),
                       "IMAGE_SERVICE_EAGER_PROVIDER_IMPORT": "1"})
    subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, check=True)
    eager = {p.parent.name: p.read_text() for p in (outdir / "stacks").glob("*/cdk.tf.json")}
    assert sorted(eager) == sorted(stacks)
    for name, synth in stacks.items():
        assert eager[name].replace(str(outdir), str(synth_dir)) == synth.text, name
