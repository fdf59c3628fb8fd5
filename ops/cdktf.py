"""The cdktf CLI as this project runs it (`bin/cdktf COMMAND ...`).

    bin/cdktf synth [--output DIR]
    bin/cdktf diff STACK [--skip-synth] [--output DIR] [-- CDKTF-OPTIONS...]
    bin/cdktf deploy|destroy STACK... [--auto-approve] [--allow-data-loss ADDRESS]...
    bin/cdktf review|drift [STACK...] [--output FILE] [--skip-synth]
    bin/cdktf cost [STACK...] [--skip-synth]
    bin/cdktf output [STACK...] [--skip-synth] [--output DIR] [-- CDKTF-OPTIONS...]
    bin/cdktf list [-- CDKTF-OPTIONS...]

Adds what the bare CLI needs here: the project's Terraform CLI config (the offline provider
mirror where it holds the provider, else the public registry), `--skip-provider-lock` where the
mirror is used (the CLI's `terraform providers lock` asks the registry), and the local
emulator's endpoint for the emulator's stacks. It synthesizes itself (`python main.py`, so a
bad setting exits 2 as everywhere) unless the last synthesis of the same stacks is current (no
source, setting or output changed since, on the same day: ops/synthesis_cache.py; `bin/cdktf
synth` always synthesizes), holds each named stack's run lock, re-initialises an
emulator stack whose endpoint changed, and passes Ctrl-C on to the CLI and Terraform and waits
for them. Stack names are the app's (the stages' and the accounts' state stacks); options for
the cdktf CLI itself go after `--`, so that none is ever taken for a stack.

`review` and `drift` print Markdown reports of the plan and of drift (ops/review.py); `review`
adds each stage's monthly cost before and after. `cost` prints each stack's monthly estimate
from its synthesized JSON and usage file, by resource with its price row (ops/cost), with no
AWS access.
`deploy` and `destroy` do not go through the CLI: each stack is planned to a file, the plan
guard checks that file (`--allow-data-loss ADDRESS` accepts one named loss), the plan is shown,
approved (`--auto-approve`, or `yes` at the terminal), and exactly that file is applied; a
deploy then prints the stack's outputs. A state stack is created and changed only by
`python -m ops.bootstrap STAGE`. `synth`, `diff`, `list` and `output` are the CLI's own;
`diff` and `output` of named stacks run it on this command's synthesis, shown only those
stacks (stack_view).

Exit codes: the CLI's own; 1 a plan was not approved (nothing applied); 2 a setting, an
argument or the toolchain is wrong (or the emulator a local stack needs is not running); 3 the
plan guard refused; 4 another command holds the stack or its state lock; 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import NoReturn

from ops import local_aws, review, synthesis_cache
from ops.app_stacks import refuse_placeholders, require_credentials, resolve
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
    stack_agent,
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
    LOCAL_ENDPOINT_ENV,
    AppStack,
    emulator_stage_settings,
    selected_stages,
)

# The CLI commands whose provider lock step (`terraform providers lock`) runs.
PROVIDER_LOCK_COMMANDS = {"diff", "deploy", "destroy", "apply", "plan"}


def needs_skip_provider_lock(command: str, args: list[str]) -> bool:
    """The CLI's provider lock step asks the public registry and ignores the mirror: skipped
    where the provider comes from the mirror (no registry there), kept where it comes from the
    registry."""
    return (
        command in PROVIDER_LOCK_COMMANDS
        and "--skip-provider-lock" not in args
        and tf_cli_config() != REGISTRY_TF_CLI_CONFIG
    )


def cdktf_env() -> dict[str, str]:
    """The project's environment, with the running emulator's endpoint (`make up`'s)."""
    extra = {}
    emulator = local_aws.status()
    if emulator and not os.environ.get(LOCAL_ENDPOINT_ENV):
        extra[LOCAL_ENDPOINT_ENV] = emulator.endpoint
    return project_env(extra)


def check_environment() -> None:
    """The stage selection and the emulator endpoint from the environment, refused the same way
    as by `python main.py` and `make up` (SettingsError, exit 2) before the CLI starts."""
    selected_stages()
    endpoint = os.environ.get(LOCAL_ENDPOINT_ENV, "").strip()
    if endpoint:
        emulator_stage_settings("local", endpoint=endpoint)


# ---- the command line -------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    """argparse's parser (an error prints the usage and the problem, exit 2), which says where
    the cdktf CLI's own options go when it meets one."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments"):
            message += (
                ". Options for the cdktf CLI itself go after `--`, e.g. "
                "`bin/cdktf diff image-service-dev -- --var-file=dev.tfvars`"
            )
        super().error(message)


COMMANDS = {
    "synth": "synthesize every selected stack",
    "diff": "the cdktf CLI's diff of one stack",
    "deploy": "deploy through the plan guard",
    "destroy": "destroy through the plan guard",
    "review": "Markdown plan review",
    "drift": "Markdown drift report",
    "cost": "each stack's monthly cost estimate, by resource (no AWS access)",
    "list": "the cdktf CLI's list",
    "output": "the cdktf CLI's output",
}


def command_parser(name: str) -> Parser:
    """The parser of one command's arguments (stacks and options in any order)."""
    command = Parser(prog=f"bin/cdktf {name}", description=COMMANDS[name])
    if name in ("synth", "diff", "deploy", "destroy", "output"):
        command.add_argument(
            "--output", "-o", type=Path, default=OUTDIR, dest="outdir", help="default cdktf.out"
        )
    if name in ("diff", "deploy", "destroy", "review", "drift", "cost", "output"):
        command.add_argument("--skip-synth", action="store_true", help="use the last synthesis")
    if name == "diff":
        command.add_argument("stacks", nargs=1, metavar="STACK")
        command.add_argument("--no-color", action="store_true", help="passed to the cdktf CLI")
    elif name in ("deploy", "destroy"):
        command.add_argument("stacks", nargs="+", metavar="STACK")
        command.add_argument("--auto-approve", action="store_true")
        command.add_argument(
            "--allow-data-loss", action="append", default=[], metavar="ADDRESS", dest="allowed"
        )
    elif name in ("review", "drift"):
        command.add_argument("stacks", nargs="*", metavar="STACK")
        command.add_argument("--output", type=Path, help="also write the Markdown to this file")
        command.add_argument("--outdir", type=Path, default=OUTDIR, help=argparse.SUPPRESS)
    elif name == "cost":
        command.add_argument("stacks", nargs="*", metavar="STACK")
        command.add_argument("--outdir", type=Path, default=OUTDIR, help=argparse.SUPPRESS)
    elif name in ("list", "output"):
        command.add_argument("stacks", nargs="*", metavar="STACK")
    return command


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """Our arguments, and what follows `--` (for the cdktf CLI, verbatim)."""
    if "--" in argv:
        at = argv.index("--")
        ours, passed = argv[:at], argv[at + 1 :]
    else:
        ours, passed = argv, []
    if not ours or ours[0] not in COMMANDS:
        top = Parser(
            prog="bin/cdktf",
            description=__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        top.add_argument("command", metavar="COMMAND", choices=list(COMMANDS))
        top.parse_args(ours[:1])  # --help, a missing or an unknown command: it exits
    args = command_parser(ours[0]).parse_intermixed_args(ours[1:])
    args.command = ours[0]
    if hasattr(args, "outdir"):
        args.outdir = ROOT / args.outdir
    return args, passed


# ---- running it ---------------------------------------------------------------------------
def run(argv: list[str]) -> int:
    args, passed = parse(argv)
    check_environment()
    check_toolchain(need_cdktf=args.command in ("diff", "list", "output"))
    env = cdktf_env()
    if args.command == "synth":
        return synthesize(args.outdir, env)
    if args.command == "list" or (args.command == "output" and not args.stacks):
        return cli([args.command, *args.stacks, *passed], env)
    stacks = resolve(list(dict.fromkeys(args.stacks or review.DEFAULT_STACKS)))
    env = with_derived_stages(stacks, env)
    if args.command in ("deploy", "destroy"):
        refuse_state_stacks(args.command, stacks)
    # Before the synthesis, the locks or any credentials: nothing is contacted (a cost estimate
    # contacts nothing at all).
    if args.command != "cost":
        refuse_placeholders(f"bin/cdktf {args.command}", stacks)
    with ExitStack() as held:
        code = lock_and_synthesize(held, args, stacks, env)
        if code != 0:
            return code
        if args.command in ("review", "drift"):
            return run_report(args, stacks, env)
        if args.command == "cost":
            return run_cost(args, stacks)
        for stack in stacks:
            require_credentials(stack, env, f"bin/cdktf {args.command}")
            prepare_emulator_stack(stack, args.outdir, env)
        if args.command in ("diff", "output"):
            return cli_on_stacks(args, stacks, passed, env)
        for stack in stacks:
            apply_checked_plan(stack, args, env)
        return 0


def with_derived_stages(stacks: list[AppStack], env: dict[str, str]) -> dict[str, str]:
    """The environment that synthesizes the derived stages named (only those: they are not
    among the app's default stages), keeping each one's first creation date (its state's
    CreatedOn) unless IMAGE_SERVICE_STAGE_CREATED_ON says otherwise."""
    from ops.derived import recorded_created_on
    from stacks.settings import STAGES_ENV
    from stacks.settings.derived import CREATED_ON_ENV

    derived = [s for s in stacks if s.kind == "stage" and s.settings.disposable]
    if not derived:
        return env
    found = dict(env)
    found[STAGES_ENV] = ",".join(
        dict.fromkeys(s.settings.stage for s in stacks if s.kind == "stage")
    )
    if not env.get(CREATED_ON_ENV) and len(derived) == 1:
        recorded = recorded_created_on(derived[0].settings)
        if recorded:
            found[CREATED_ON_ENV] = recorded
    return found


def refuse_state_stacks(command: str, stacks: list[AppStack]) -> None:
    state = [stack for stack in stacks if stack.kind == "state"]
    if state:
        stage = state[0].settings.stage
        raise ToolchainError(
            f"bin/cdktf {command} {state[0].name}: a state stack holds every stage's Terraform "
            "state of its account and moves its own state into the bucket it creates, so it is "
            f"not {command}ed like a stage; nothing was done",
            f"run `.venv/bin/python -m ops.bootstrap {stage}` (it creates or updates the "
            "account's state bucket through the plan guard); `bin/cdktf diff`, `review` and "
            f"`drift` of {state[0].name} show what it would change",
        )


def lock_and_synthesize(
    held: ExitStack, args: argparse.Namespace, stacks: list[AppStack], env: dict[str, str]
) -> int:
    """Hold each stack's run lock, then synthesize (unless --skip-synth); returns the
    synthesis's exit code (0 when skipped). The locks come first: another command working on
    these stacks may not see their directories rewritten under it."""
    for stack in stacks:
        held.enter_context(
            run_lock(args.outdir / "stacks" / stack.name, f"bin/cdktf {args.command} {stack.name}")
        )
    if args.skip_synth:
        return 0
    record, outputs = args.outdir / SYNTH_KEY, synthesis_outputs(args.outdir, stacks)
    # The day counts: a derived stage's first synthesis stamps it (CreatedOn).
    today = _today()
    if synthesis_cache.is_current(record, outputs, today, env):
        print(
            "==> the last synthesis of these stacks is current: no source, setting or output "
            "changed",
            flush=True,
        )
        return 0
    synthesis_cache.forget(record)
    code = synthesize(args.outdir, env)
    if code == 0:
        synthesis_cache.remember(record, synthesis_outputs(args.outdir, stacks), today, env)
    return code


# Where bin/cdktf records the key of its last synthesis (ops/synthesis_cache.py).
SYNTH_KEY = ".synthesis-bin-cdktf.key"


def _today() -> str:
    return datetime.date.today().isoformat()


def synthesis_outputs(outdir: Path, stacks: list[AppStack]) -> list[Path]:
    """What a command reads of a synthesis: the manifest (the cdktf CLI's) and each stack's
    configuration and assets (its providers and plans beside them are not the synthesis's)."""
    found = [outdir / "manifest.json"]
    for stack in stacks:
        stack_dir = outdir / "stacks" / stack.name
        found.append(stack_dir / "cdk.tf.json")
        if (stack_dir / "assets").is_dir():
            found.append(stack_dir / "assets")
    return found


def synthesized_stack(outdir: Path, stack: AppStack) -> Path:
    """The stack's directory in `outdir`, once the app has synthesized it there."""
    stack_dir = outdir / "stacks" / stack.name
    if not (stack_dir / "cdk.tf.json").is_file():
        raise ToolchainError(
            f"{stack.name} has not been synthesized into {outdir} ({stack_dir}/cdk.tf.json "
            "does not exist)",
            "run `bin/cdktf synth` (or the command without --skip-synth)",
        )
    return stack_dir


def prepare_emulator_stack(stack: AppStack, outdir: Path, env: dict[str, str]) -> None:
    """On the emulator: a new emulator port changes the backend, so init again
    (-reconfigure); and the cdktf CLI, interrupted, may leave the state locked (its Terraform is
    not always allowed to finish): released here, as the plan guard does."""
    stack_dir = synthesized_stack(outdir, stack)
    if not stack.on_emulator:
        return
    ensure_initialised(stack_dir, env)
    lock = emulator_lock(stack_dir)
    if lock:
        release_if_abandoned(stack_dir, lock, env, "bin/cdktf")


def run_report(args: argparse.Namespace, stacks: list[AppStack], env: dict[str, str]) -> int:
    drift = args.command == "drift"
    reports = [
        review.report_for(stack, synthesized_stack(args.outdir, stack), env, drift=drift)
        for stack in stacks
    ]
    markdown = review.render(reports, drift=drift)
    print(markdown, end="", flush=True)
    if args.output:
        try:
            args.output.write_text(markdown)
        except OSError as exc:
            raise ToolchainError(
                f"cannot write the report to {args.output}: {exc.strerror}",
                "name a file in a writable directory",
            ) from None
    return review.exit_code(reports, drift=drift)


def run_cost(args: argparse.Namespace, stacks: list[AppStack]) -> int:
    from ops import cost

    state = [stack.name for stack in stacks if stack.kind == "state"]
    if state:
        raise ToolchainError(
            f"bin/cdktf cost {state[0]}: a state stack holds only the account's Terraform state "
            "(cents a month), and the estimate prices a stage's resources against the stage's "
            "usage; nothing was estimated",
            "name stage stacks (bin/cdktf cost image-service-staging image-service-production)",
        )
    estimates = []
    for stack in stacks:
        config = json.loads((synthesized_stack(args.outdir, stack) / "cdk.tf.json").read_text())
        estimates.append(cost.estimate(stack.name, config, stack.settings.stage))
    print(cost.render_text(estimates), end="", flush=True)
    return 0


def cli_on_stacks(
    args: argparse.Namespace, stacks: list[AppStack], passed: list[str], env: dict[str, str]
) -> int:
    """`diff` or `output` of the named stacks: the cdktf CLI on this command's synthesis, shown
    only those stacks (stack_view)."""
    names = [stack.name for stack in stacks]
    view = stack_view(args.outdir, names)
    command = [args.command, *names, "--skip-synth", "--output", str(view), *passed]
    if getattr(args, "no_color", False):
        command.append("--no-color")
    if needs_skip_provider_lock(args.command, command):
        command.append("--skip-provider-lock")
    return cli(command, stack_agent(env, names[0]) if len(names) == 1 else env)


def stack_view(outdir: Path, names: list[str]) -> Path:
    """The synthesis as the CLI sees it for some stacks: a manifest of those stacks alone,
    beside a link to the synthesis's stacks. The CLI prints the notes (the policy waivers) of
    every stack in the manifest it reads, whichever stacks it works on."""
    view = outdir / "views" / "+".join(names)
    view.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((outdir / "manifest.json").read_text())
    manifest["stacks"] = {name: manifest["stacks"][name] for name in names}
    (view / "manifest.json").write_text(json.dumps(manifest, indent=2))
    link = view / "stacks"
    if not link.is_symlink():
        link.symlink_to(Path("..", "..", "stacks"), target_is_directory=True)
    return view


def quiet_unless_terminal(env: dict[str, str]) -> dict[str, str]:
    """On a terminal the CLI (ink) redraws its spinner in place; in a log each frame would be
    a line of its own. Where standard output is no terminal, CI=1 (unless CI is set): ink then
    writes only what is final (it asks ci-info, which reads CI)."""
    if sys.stdout.isatty() or "CI" in env:
        return env
    return {**env, "CI": "1"}


def cli(command: list[str], env: dict[str, str]) -> int:
    """The cdktf CLI itself, in the project's environment (Ctrl-C passed on and waited for)."""
    what = f"cdktf {command[0]}"
    child = Child(
        [str(CDKTF_BIN), *command],
        what=what,
        cwd=ROOT,
        env=quiet_unless_terminal(env),
        capture=False,
    )
    return child.wait().returncode


def apply_checked_plan(stack: AppStack, args: argparse.Namespace, env: dict[str, str]) -> None:
    """deploy/destroy of one stack: plan to a file, the plan guard on that file, the plan shown,
    approval (--auto-approve, or `yes` at the terminal), then exactly that file applied, and for
    a deploy the stack's outputs."""
    stack_dir = synthesized_stack(args.outdir, stack)
    destroy = args.command == "destroy"

    def approve(plan_file: Path) -> bool:
        shown = terraform(stack_dir, "show", "-no-color", plan_file.name, env=env)
        print(shown.stdout.rstrip(), flush=True)
        print(
            f"\nplan guard: {stack.name}: no stateful resource is deleted or replaced.",
            flush=True,
        )
        if args.auto_approve:
            return True
        if not sys.stdin.isatty():
            raise ToolchainError(
                f"bin/cdktf {args.command} {stack.name}: the plan above needs approval, and "
                "there is no terminal to ask in; nothing was applied",
                "review it and run again with --auto-approve (as CI does), or run in a terminal",
            )
        answer = input(f"Apply exactly this plan to {stack.name}? Only 'yes' applies: ")
        return answer.strip() == "yes"

    guarded_apply(
        stack_dir,
        set(args.allowed),
        env,
        destroy=destroy,
        approve=approve,
        disposable=stack.settings.disposable,
    )
    if destroy and stack.settings.disposable:
        from ops.derived import remove_state

        removed = remove_state(stack.settings)
        print(
            f"\n{stack.name}: destroyed, and its state object removed from "
            f"s3://{stack.settings.state.bucket}/{stack.settings.state_key} ({removed} "
            "version(s))",
            flush=True,
        )
    if not destroy:
        outputs = stack_outputs(stack_dir, env)
        print(f"\n{stack.name} outputs:")
        for name, value in sorted(outputs.items()):
            print(f"  {name} = {value}")


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
