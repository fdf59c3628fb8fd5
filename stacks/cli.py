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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from stacks.errors import ImageServiceError, PolicyViolation, PublishError, SynthError, report
from stacks.settings import load_stages, selected_stages

if TYPE_CHECKING:
    from cdktf import App

DEFAULT_OUTDIR = "cdktf.out"
# Beside each emulator stack's cdk.tf.json: where each of its handlers' source folder is
# ({function name: {"source_dir", "handler"}}), for the local gateway (ops/gateway/config.py),
# which runs a handler from the folder a developer edits.
HANDLER_SOURCES = "local-handlers.json"
# The two forms of an account's state-bucket stack that `python -m ops.bootstrap` applies: its
# own state in a file beside it (before the bucket exists), then in the bucket.
BOOTSTRAP_FORMS = ("local", "bucket")
# Beside them for the DNS account: the stack of its delegation roles.
DNS_FORM = "dns"


def publish(scratch: Path, outdir: Path) -> None:
    """Move every synthesized file into outdir, keeping Terraform's working files there.

    All or nothing, for I/O errors too: every file replaced is first moved aside, and if any
    move fails the files already published are put back."""
    moved: list[tuple[Path, Path | None]] = []  # (published file, the file it replaced)
    backups = scratch / ".replaced"
    try:
        for src in sorted(
            p for p in scratch.rglob("*") if p.is_file() and backups not in p.parents
        ):
            dest = outdir / src.relative_to(scratch)
            dest.parent.mkdir(parents=True, exist_ok=True)
            backup = None
            if dest.exists():
                backup = backups / src.relative_to(scratch)
                backup.parent.mkdir(parents=True, exist_ok=True)
                os.replace(dest, backup)
            moved.append((dest, backup))
            os.replace(src, dest)
        _drop_stale_assets(outdir, {dest for dest, _ in moved})
    except OSError as exc:
        for dest, backup in reversed(moved):
            try:
                if backup is not None and backup.exists():
                    os.replace(backup, dest)
                elif backup is None:
                    dest.unlink(missing_ok=True)
            except OSError:
                pass
        where = Path(exc.filename).parent if exc.filename else outdir
        raise PublishError(
            f"cannot write the synthesized stacks into {outdir}: {exc.strerror} ({where}). "
            f"Nothing in {outdir} was changed. Fix: make {where} a writable directory "
            f"(chmod -R u+w {outdir}), or remove {outdir} (`make clean`), then run again."
        ) from None


def _drop_stale_assets(outdir: Path, published: set[Path]) -> None:
    """Remove the handler code zips of earlier syntheses (cdktf keeps one folder per content
    hash, `stacks/<stack>/assets/<asset>/<hash>/`): in each stack synthesized now, only this
    synthesis's versions stay."""
    stacks = {p.relative_to(outdir).parts[:2] for p in published}  # ("stacks", <stack>)
    for version in outdir.glob("stacks/*/assets/*/*"):
        synthesized_now = version.relative_to(outdir).parts[:2] in stacks
        if (
            synthesized_now
            and version.is_dir()
            and not any(version in p.parents for p in published)
        ):
            shutil.rmtree(version, ignore_errors=True)


def synth(outdir: Path) -> None:
    # Settings first (pure Python, milliseconds): a bad value is reported before cdktf and the
    # provider bindings are even imported.
    stages = load_stages(selected_stages())
    from stacks.app import build_app  # imported late: the bindings are the slow part

    synth_app(lambda scratch: build_app(stages, outdir=scratch), outdir)


def synth_bootstrap(name: str, outdir: Path) -> None:
    """The state-bucket stack of the account `name` names (a stage, `previews`, `dns`) alone,
    in both BOOTSTRAP_FORMS, each in a cdktf output directory of its own (outdir/local,
    outdir/bucket), and for the DNS account its delegation roles' stack (outdir/dns): what
    `python -m ops.bootstrap` applies, without synthesizing any stage."""
    from stacks.settings.accounts import account_setup

    setup = account_setup(name)
    from cdktf import App

    from stacks.app import add_dns_bootstrap, add_state_bootstrap

    def build(form: str) -> Callable[[str], App]:
        def app(scratch: str) -> App:
            built = App(outdir=scratch)
            if form == DNS_FORM:
                add_dns_bootstrap(built, setup)
            else:
                add_state_bootstrap(built, setup, state_in_bucket=form == "bucket")
            return built

        return app

    for form in (*BOOTSTRAP_FORMS, *((DNS_FORM,) if setup.dns else ())):
        synth_app(build(form), outdir / form)


def synth_app(build: Callable[[str], App], outdir: Path) -> None:
    """Synthesize the app `build(scratch)` makes into a scratch directory beside outdir, check
    the organisation policy, then publish into outdir (all or nothing)."""
    from stacks.policies import violations_in

    outdir = outdir.resolve()
    try:
        outdir.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".synth-", dir=outdir.parent))
    except OSError as exc:
        raise PublishError(
            f"cannot write beside {outdir}: {exc.strerror}. Nothing was "
            f"written. Fix: make {outdir.parent} writable, or set CDKTF_OUTDIR "
            "to a writable directory."
        ) from None
    try:
        app = build(str(scratch))
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
        write_handler_sources(app, scratch)
        publish(scratch, outdir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_handler_sources(app: App, outdir: Path) -> None:
    """HANDLER_SOURCES of each emulator stack of `app`, synthesized into `outdir`."""
    import json

    from stacks.image_service_stack import ImageServiceStack

    for stack in app.node.children:
        if isinstance(stack, ImageServiceStack) and stack.settings.emulator is not None:
            path = Path(outdir) / "stacks" / stack.settings.stack_name / HANDLER_SOURCES
            path.write_text(json.dumps(stack.handler_sources(), indent=1, sort_keys=True))


def run_synth() -> None:
    outdir = Path(os.environ.get("CDKTF_OUTDIR") or DEFAULT_OUTDIR)
    try:
        synth(outdir)
    except ImageServiceError as exc:
        sys.exit(report(exc))


def main(argv: list[str]) -> None:
    """`python -m stacks.cli bootstrap ACCOUNT OUTDIR`: synth_bootstrap (ops.bootstrap runs it)."""
    try:
        if len(argv) != 3 or argv[0] != "bootstrap":
            raise SynthError("usage: python -m stacks.cli bootstrap ACCOUNT OUTDIR")
        synth_bootstrap(argv[1], Path(argv[2]))
    except ImageServiceError as exc:
        sys.exit(report(exc))


if __name__ == "__main__":
    main(sys.argv[1:])
