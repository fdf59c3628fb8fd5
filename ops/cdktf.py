"""The cdktf CLI as this project runs it (`bin/cdktf ...`).

Adds what the bare CLI needs here: the project's Terraform CLI config (offline provider
mirror), `--skip-provider-lock` on diff/deploy/destroy (the CLI's `terraform providers lock`
ignores the mirror and fails offline), the local emulator's endpoint for the local stack, and
the plan guard before every deploy: `--allow-data-loss ADDRESS` is passed to the guard only.
"""
from __future__ import annotations

import os
import subprocess
import sys

from ops import local_aws
from ops.plan_guard import EXIT_REFUSED, guard, refusal
from ops.toolchain import CDKTF_BIN, ROOT, check_toolchain, project_env
from stacks.errors import SettingsError, ToolchainError
from stacks.settings import LOCAL_ENDPOINT_ENV

SKIP_LOCK_COMMANDS = {"diff", "deploy", "destroy", "apply", "plan"}


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


def synth(env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env)
    if proc.returncode != 0:
        sys.exit(proc.returncode)


def run(argv: list[str]) -> int:
    args, allowed = split_args(argv)
    if not args:
        print(__doc__)
        return 2
    check_toolchain(need_cdktf=True)
    env = cdktf_env()
    command = args[0]
    stacks = [a for a in args[1:] if not a.startswith("-")]
    if command in SKIP_LOCK_COMMANDS and "--skip-provider-lock" not in args:
        args.append("--skip-provider-lock")
    if command == "deploy":
        synth(env)
        for stack in stacks:
            losses = guard(stack, allowed, env=env)
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
