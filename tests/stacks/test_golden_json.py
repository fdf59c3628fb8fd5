"""The real stages' synthesized JSON, byte for byte, against the reviewed copy in golden/.

Emulator settings (stacks/settings/emulator.py, EMULATOR_TABLE) must never change what dev, staging,
production or the state bootstrap synthesize. Any change to these files is a change to real
infrastructure: it fails here until the golden copy is updated in the same commit, so the
review sees the synthesized difference next to the code that caused it.

    .venv/bin/python -m tests.stacks.test_golden_json     # rewrite golden/ from a fresh synth
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import pytest

from tests.conftest import DNS_STACK, STATE_STACKS

GOLDEN = Path(__file__).resolve().parent / "golden"
REAL_STACKS = (
    "image-service-dev",
    "image-service-staging",
    "image-service-production",
    *STATE_STACKS,
    DNS_STACK,
)


@pytest.mark.parametrize("name", REAL_STACKS)
def test_real_stage_json_is_unchanged(stacks, name):
    expected = (GOLDEN / f"{name}.tf.json").read_text()
    actual = stacks[name].text
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"golden/{name}.tf.json",
                f"synthesized {name}",
                n=2,
            )
        )
        pytest.fail(
            f"{name} synthesizes differently from tests/stacks/golden/{name}.tf.json. "
            "If the change to real infrastructure is intended, rewrite the golden copy "
            "with `.venv/bin/python -m tests.stacks.test_golden_json` and commit it with "
            f"the change.\n{diff[:6000]}"
        )


def main() -> int:
    import os
    import tempfile

    from stacks.settings import load_stages
    from tests.synthesis import build_all

    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    outdir = Path(tempfile.mkdtemp(prefix="golden-")) / "cdktf.out"
    build_all(outdir, load_stages(("dev", "staging", "production"))).synth()
    for name in REAL_STACKS:
        (GOLDEN / f"{name}.tf.json").write_text(
            (outdir / "stacks" / name / "cdk.tf.json").read_text()
        )
        print(f"wrote tests/stacks/golden/{name}.tf.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
