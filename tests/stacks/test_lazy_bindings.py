"""The lazy provider import (constructs_lib/__init__.py) must not change what is synthesized."""
import subprocess
import sys
from pathlib import Path

from ops.toolchain import ROOT, project_env


def _synth(outdir: Path, eager: bool) -> dict[str, str]:
    env = project_env({"IMAGE_SERVICE_STAGES": "dev,local", "CDKTF_OUTDIR": str(outdir)})
    if eager:
        env["IMAGE_SERVICE_EAGER_PROVIDER_IMPORT"] = "1"
    subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, check=True)
    return {p.parent.name: p.read_text() for p in (outdir / "stacks").glob("*/cdk.tf.json")}


def test_identical_json_with_and_without_lazy_bindings(tmp_path):
    lazy = _synth(tmp_path / "lazy", eager=False)
    eager = _synth(tmp_path / "eager", eager=True)
    assert sorted(lazy) == ["image-service-dev", "image-service-local",
                            "image-service-state", "image-service-state-local"]
    for name in lazy:
        assert lazy[name] == eager[name].replace(str(tmp_path / "eager"), str(tmp_path / "lazy")), name
