"""The cdktf CLI as this project runs it (`bin/cdktf ...`).

Adds what the bare CLI needs here: the project's Terraform CLI config (offline provider
mirror), `--skip-provider-lock` on diff/deploy/destroy (the CLI's `terraform providers lock`
ignores the mirror and fails offline), the local emulator's endpoint for the local stack, and
the plan guard before every deploy and destroy: `--allow-data-loss ADDRESS` is passed to the
guard only.
"""
from __future__ import annotations

import os
import subprocess
import sys

from pathlib import Path

from ops import local_aws
from ops.plan_guard import EXIT_REFUSED, guard, refusal
from ops.toolchain import CDKTF_BIN, ROOT, check_toolchain, project_env, synthesize
from stacks.errors import SettingsError, ToolchainError
from stacks.settings import LOCAL_ENDPOINT_ENV

SKIP_LOCK_COMMANDS = {"diff", "deploy", "destroy", "apply", "plan"}
GUARDED_COMMANDS = {"deploy", "destroy"}
OPTIONS_WITH_VALUE = {"--output", "-o", "--app", "-a", "--var", "--var-file", "--parallelism",
                      "--outputs-file"}


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
    return ROOT / "cdktf.out"


def run(argv: list[str]) -> int:
    args, allowed = split_args(argv)
    if not args:
        print(__doc__)
        return 2
    check_toolchain(need_cdktf=True)
    env = cdktf_env()
    command = args[0]
    stacks = [a for prev, a in zip(args, args[1:])
              if not a.startswith("-") and prev not in OPTIONS_WITH_VALUE]
    if command in SKIP_LOCK_COMMANDS and "--skip-provider-lock" not in args:
        args.append("--skip-provider-lock")
    if command in GUARDED_COMMANDS:
        outdir = output_dir(args)
        if "--skip-synth" not in args:
            code = synthesize(outdir, env)
            if code != 0:
                return code
        for stack in stacks:
            losses = guard(stack, allowed, env=env, outdir=outdir,
                           destroy=command == "destroy")
            if losses:
                print(refusal(stack, losses), file=sys.stderr)
                return EXIT_REFUSED
        if "--skip-synth" not in args:
            args.append("--skip-synth")
    return subprocess.run([str(CDKTF_BIN), *args], cwd=ROOT, env=env).returncode


def main() -> int:
    try:
        return run(sys.argv[1:])
    except (SettingsError, ToolchainError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
