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

DEFAULT_OUTDIR = "cdktf.out"


class PolicyViolation(Exception):
    """A synthesized resource breaks one of the organisation's rules (constructs_lib.policies)."""


def publish(scratch: Path, outdir: Path) -> None:
    """Move every synthesized file into outdir, keeping Terraform's working files there."""
    for src in sorted(scratch.rglob("*")):
        if src.is_dir():
            continue
        dest = outdir / src.relative_to(scratch)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)


def synth(outdir: Path) -> None:
    from stacks.app import build_app  # imported late: the bindings are the slow part

    outdir = outdir.resolve()
    outdir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".synth-", dir=outdir.parent))
    try:
        app = build_app(outdir=str(scratch))
        try:
            app.synth()
        except Exception as exc:  # jsii re-raises validation errors from Node as RuntimeError
            raise PolicyViolation(str(exc).strip()) from None
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
        print(f"error: synthesis refused by policy: {exc}", file=sys.stderr)
        sys.exit(2)
