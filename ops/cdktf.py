"""The cdktf CLI as this project runs it (`bin/cdktf ...`).

Adds what the bare CLI needs here: the project's Terraform CLI config (the offline provider
mirror where it holds the provider, else the public registry), `--skip-provider-lock` where the
mirror is used (the CLI's `terraform providers lock` asks the registry), and the local
emulator's endpoint for the local stack. It synthesizes itself (`python main.py`, so a bad
setting exits 2 as everywhere), holds each named stack's run lock, re-initialises an emulator
stack whose endpoint changed, and passes Ctrl-C on to the CLI and Terraform and waits for them.

`review [STACK...]` and `drift [STACK...]` print Markdown reports of the plan and of drift
(ops/review.py). `deploy STACK...` and `destroy STACK...` do not go through the CLI: each stack
is planned to a file, the plan guard checks that file (`--allow-data-loss ADDRESS` accepts one
named loss), the plan is shown, approved (`--auto-approve`, or `yes` at the terminal), and
exactly that file is applied; a deploy then prints the stack's outputs. Other commands (synth,
diff, list, output) are the CLI's own.

Exit codes: the CLI's own; 1 a plan was not approved (nothing applied); 2 a setting or the
toolchain is wrong (or the emulator a local stack needs is not running); 3 the plan guard
refused; 4 another command holds the stack or its state lock; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from ops import local_aws, review
from ops.plan_guard import guarded_apply
from ops.toolchain import (
    CDKTF_BIN,
    OUTDIR,
    REGISTRY_TF_CLI_CONFIG,
    ROOT,
    Child,
    check_toolchain,
    graceful_interrupts,
    project_env,
    synthesize,
    terraform,
    tf_cli_config,
)
from ops.workdir import (
    emulator_lock,
    ensure_initialised,
    release_if_abandoned,
    run_lock,
    stack_outputs,
)
from stacks.errors import (
    EXIT_INTERRUPTED,
    ImageServiceError,
    Interrupted,
    ToolchainError,
    report,
)
from stacks.settings import (
    EMULATOR_STAGES,
    LOCAL_ENDPOINT_ENV,
    emulator_stage_settings,
    selected_stages,
    stack_name,
)

SKIP_LOCK_COMMANDS = {"diff", "deploy", "destroy", "apply", "plan"}
GUARDED_COMMANDS = {"deploy", "destroy"}
OPTIONS_WITH_VALUE = {
    "--output",
    "-o",
    "--app",
    "-a",
    "--var",
    "--var-file",
    "--parallelism",
    "--outputs-file",
}


def split_args(argv: list[str]) -> tuple[list[str], set[str]]:
    """cdktf's arguments, and the addresses named by --allow-data-loss (ours)."""
    rest, allowed = [], set()
    it = iter(argv)
    for arg in it:
        if arg == "--allow-data-loss":
            allowed.add(next(it, ""))
        elif arg.startswith("--allow-data-loss="):
            allowed.add(arg.split("=", 1)[1])
        else:
            rest.append(arg)
    return rest, allowed


def needs_skip_provider_lock(command: str, args: list[str]) -> bool:
    """The CLI's provider lock step (`terraform providers lock`) asks the public registry and
    ignores the mirror: skipped where the provider comes from the mirror (no registry there),
    kept where it comes from the registry."""
    return (
        command in SKIP_LOCK_COMMANDS
        and "--skip-provider-lock" not in args
        and tf_cli_config() != REGISTRY_TF_CLI_CONFIG
    )


def cdktf_env() -> dict[str, str]:
    extra = {}
    emulator = local_aws.status()
    if emulator and not os.environ.get(LOCAL_ENDPOINT_ENV):
        extra[LOCAL_ENDPOINT_ENV] = emulator.endpoint
    return project_env(extra)


def output_dir(args: list[str]) -> Path:
    """cdktf's --output/-o directory (default cdktf.out)."""
    for i, arg in enumerate(args):
        if arg in ("--output", "-o") and i + 1 < len(args):
            return ROOT / args[i + 1]
        if arg.startswith("--output="):
            return ROOT / arg.split("=", 1)[1]
    return OUTDIR


EMULATOR_STACKS = {stack_name(stage) for stage in EMULATOR_STAGES}


def check_environment() -> None:
    """The stage selection and the emulator endpoint from the environment, refused the same way
    as by `python main.py` and `make up` (SettingsError, exit 2) before the CLI starts."""
    selected_stages()
    endpoint = os.environ.get(LOCAL_ENDPOINT_ENV, "").strip()
    if endpoint:
        emulator_stage_settings("local", endpoint=endpoint)


def synthesized_stack(outdir: Path, stack: str) -> Path:
    """The stack's directory in `outdir`, if the app synthesized it there."""
    stack_dir = outdir / "stacks" / stack
    if not (stack_dir / "cdk.tf.json").is_file():
        raise ToolchainError(
            f"{stack} is not a stack of this app ({stack_dir}/cdk.tf.json does not exist). "
            "Fix: check the name (`bin/cdktf list`), and that IMAGE_SERVICE_STAGES selects it"
        )
    return stack_dir


def lock_and_synthesize(
    held: ExitStack, what: str, stacks: list[str], outdir: Path, env: dict[str, str], synth: bool
) -> int:
    """Hold each stack's run lock, then synthesize (unless `synth` is False); returns the
    synthesis's exit code (0 when skipped). The locks come first: another command working on
    these stacks may not see their directories rewritten under it."""
    for stack in stacks:
        held.enter_context(run_lock(outdir / "stacks" / stack, f"{what} {stack}"))
    return synthesize(outdir, env) if synth else 0


def run_report(command: str, argv: list[str]) -> int:
    """`bin/cdktf review|drift [STACK ...] [--output FILE] [--skip-synth] [--outdir DIR]`."""
    parser = argparse.ArgumentParser(prog=f"bin/cdktf {command}", description=review.__doc__)
    parser.add_argument("stacks", nargs="*", default=list(review.DEFAULT_STACKS))
    parser.add_argument("--output", type=Path, help="also write the Markdown to this file")
    parser.add_argument("--skip-synth", action="store_true", help="use the last synthesis")
    parser.add_argument("--outdir", type=Path, default=OUTDIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    check_environment()
    check_toolchain()
    env = cdktf_env()
    stacks = list(dict.fromkeys(args.stacks or review.DEFAULT_STACKS))
    with ExitStack() as held:
        code = lock_and_synthesize(
            held, f"bin/cdktf {command}", stacks, args.outdir, env, synth=not args.skip_synth
        )
        if code != 0:
            return code
        reports = [
            review.report_for(synthesized_stack(args.outdir, stack), env, drift=command == "drift")
            for stack in stacks
        ]
    markdown = review.render(reports, drift=command == "drift")
    print(markdown, end="", flush=True)
    if args.output:
        try:
            args.output.write_text(markdown)
        except OSError as exc:
            raise ToolchainError(
                f"cannot write the report to {args.output}: {exc.strerror}. Fix: name a file "
                "in a writable directory"
            ) from None
    return review.exit_code(reports, drift=command == "drift")


def run(argv: list[str]) -> int:
    args, allowed = split_args(argv)
    if not args:
        print(__doc__)
        return 2
    if args[0] in ("review", "drift"):
        return run_report(args[0], args[1:])
    check_environment()
    check_toolchain(need_cdktf=True)
    env = cdktf_env()
    command = args[0]
    stacks = [
        a
        for prev, a in zip(args, args[1:], strict=False)
        if not a.startswith("-") and prev not in OPTIONS_WITH_VALUE
    ]
    outdir = output_dir(args)
    if command == "synth":
        return synthesize(outdir, env)
    if command in GUARDED_COMMANDS and not stacks:
        raise ToolchainError(
            f"bin/cdktf {command} needs the stacks to {command} by name. Fix: e.g. "
            f"`bin/cdktf {command} image-service-dev` (`bin/cdktf list` names them)."
        )
    if needs_skip_provider_lock(command, args):
        args.append("--skip-provider-lock")
    on_emulator = [stack for stack in stacks if stack in EMULATOR_STACKS]
    if on_emulator and LOCAL_ENDPOINT_ENV not in env:
        raise ToolchainError(
            f"{' and '.join(on_emulator)} {'live' if len(on_emulator) > 1 else 'lives'} in the "
            "local AWS emulator, which is not running. "
            "Fix: run `make up` first (it starts the emulator and deploys image-service-local)."
        )
    with ExitStack() as held:
        synth = command in SKIP_LOCK_COMMANDS and "--skip-synth" not in args
        code = lock_and_synthesize(held, f"bin/cdktf {command}", stacks, outdir, env, synth)
        if code != 0:
            return code
        if synth:
            args.append("--skip-synth")
        for stack in stacks:
            stack_dir = outdir / "stacks" / stack
            if stack in EMULATOR_STACKS and (stack_dir / "cdk.tf.json").is_file():
                # A new emulator port changes the backend: init again (-reconfigure).
                ensure_initialised(stack_dir, env)
                # The cdktf CLI, interrupted, may leave the state locked (its Terraform is not
                # always allowed to finish): released here, as the plan guard does.
                lock = emulator_lock(stack_dir)
                if lock:
                    release_if_abandoned(stack_dir, lock, env, "bin/cdktf")
        if command in GUARDED_COMMANDS:
            for stack in stacks:
                code = apply_checked_plan(
                    synthesized_stack(outdir, stack),
                    allowed,
                    env,
                    destroy=command == "destroy",
                    auto_approve="--auto-approve" in args,
                )
                if code != 0:
                    return code
            return 0
        return (
            Child(
                [str(CDKTF_BIN), *args], what=f"cdktf {command}", cwd=ROOT, env=env, capture=False
            )
            .wait()
            .returncode
        )


def apply_checked_plan(
    stack_dir: Path,
    allowed: set[str],
    env: dict[str, str],
    *,
    destroy: bool,
    auto_approve: bool,
) -> int:
    """deploy/destroy of one stack: plan to a file, the plan guard on that file, the plan shown,
    approval (--auto-approve, or `yes` at the terminal), then exactly that file applied, and for
    a deploy the stack's outputs."""
    stack = stack_dir.name
    verb = "destroy" if destroy else "deploy"
    review.require_credentials(stack, env, f"bin/cdktf {verb}")

    def approve(plan_file: Path) -> bool:
        shown = terraform(stack_dir, "show", "-no-color", plan_file.name, env=env)
        print(shown.stdout.rstrip(), flush=True)
        print(f"\nplan guard: {stack}: no stateful resource is deleted or replaced.", flush=True)
        if auto_approve:
            return True
        if not sys.stdin.isatty():
            raise ToolchainError(
                f"bin/cdktf {verb} {stack}: the plan above needs approval, and there is no "
                "terminal to ask in; nothing was applied. Fix: review it and run again with "
                "--auto-approve (as CI does), or run in a terminal"
            )
        answer = input(f"Apply exactly this plan to {stack}? Only 'yes' applies: ")
        return answer.strip() == "yes"

    guarded_apply(stack_dir, allowed, env, destroy=destroy, approve=approve)
    if not destroy:
        outputs = stack_outputs(stack_dir, env)
        print(f"\n{stack} outputs:")
        for name, value in sorted(outputs.items()):
            print(f"  {name} = {value}")
    return 0


def main() -> int:
    try:
        with graceful_interrupts():
            return run(sys.argv[1:])
    except Interrupted as exc:
        print(
            f"\ninterrupted: bin/cdktf stopped during {exc}; the cdktf CLI and Terraform were "
            "given the interrupt and waited for. Run the command again to continue (on the "
            "emulator, a state lock the interrupted CLI left behind is released then).",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except ImageServiceError as exc:
        return report(exc)


if __name__ == "__main__":
    sys.exit(main())
