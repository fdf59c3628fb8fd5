"""What `python main.py` does: validate, synthesize to a scratch directory, then publish.

Synthesizing into a scratch directory next to the output and moving the files into place only
when every stack synthesized means a bad setting or a policy violation never leaves a
half-written `cdktf.out` behind.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from stacks.errors import SettingsError
from stacks.settings import load_stages, selected_stages

DEFAULT_OUTDIR = "cdktf.out"


class PolicyViolation(Exception):
    """A synthesized resource breaks one of the organisation's rules (constructs_lib.policies)."""

    def __init__(self, violations: list) -> None:
        super().__init__("\n".join(
            [f"[{v.path}] {v.message()}" for v in violations]
            + ["Nothing was written. Fix each resource above; a rule that truly does not apply "
               "to a stack is waived in that stack's PolicyProps(waivers={rule: reason})."]))


class SynthError(Exception):
    """cdktf failed to synthesize for another reason (a construct or jsii error)."""


def publish(scratch: Path, outdir: Path) -> None:
    """Move every synthesized file into outdir, keeping Terraform's working files there."""
    for src in sorted(scratch.rglob("*")):
        if src.is_dir():
            continue
        dest = outdir / src.relative_to(scratch)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)


def synth(outdir: Path) -> None:
    # Settings first (pure Python, milliseconds): a bad value is reported before cdktf and the
    # provider bindings are even imported.
    stages = load_stages(selected_stages())
    # imported late: the bindings are the slow part
    from constructs_lib.policies import violations_in
    from stacks.app import build_app

    outdir = outdir.resolve()
    outdir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".synth-", dir=outdir.parent))
    try:
        app = build_app(stages, outdir=str(scratch))
        try:
            app.synth()
        except Exception as exc:  # jsii re-raises errors from Node as RuntimeError
            violations = violations_in(app)
            if violations:
                raise PolicyViolation(violations) from None
            raise SynthError(str(exc).strip()) from None
        # cdktf writes despite error annotations if CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS is
        # set; the policy is not optional, so check again (the scratch output is then discarded).
        violations = violations_in(app)
        if violations:
            raise PolicyViolation(violations)
        publish(scratch, outdir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_synth() -> None:
    outdir = Path(os.environ.get("CDKTF_OUTDIR") or DEFAULT_OUTDIR)
    try:
        synth(outdir)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except PolicyViolation as exc:
        print(f"error: synthesis refused by policy:\n{exc}", file=sys.stderr)
        sys.exit(2)
    except SynthError as exc:
        print(f"error: synthesis failed: {exc}", file=sys.stderr)
        sys.exit(2)
