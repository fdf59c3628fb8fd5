"""The main job: deploy image-service-local to the local AWS emulator and print its outputs.

    python -m ops.up        (the README's `make up`)

Steps: start (or reuse) the emulator, synthesize once, create the emulator's state bucket, then
plan the stack, run the plan guard on that plan and apply exactly the plan that was checked.
Safe to re-run: the emulator is reused, the state bucket and the stack converge.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ops import local_aws
from ops.plan_guard import EXIT_REFUSED, guarded_apply, refusal
from ops.toolchain import ROOT, check_toolchain, project_env, synthesize, terraform
from stacks.errors import SettingsError, ToolchainError
from stacks.settings import LOCAL_ENDPOINT_ENV

STACK = "image-service-local"
BOOTSTRAP = "image-service-state-local"
OUTDIR = ROOT / "cdktf.out"


def create_state_bucket(outdir: Path, env: dict[str, str]) -> None:
    """The emulator's state bucket (image-service-state-local), which the stacks' backend needs."""
    bootstrap = outdir / "stacks" / BOOTSTRAP
    terraform(bootstrap, "init", "-input=false", "-no-color", env=env)
    terraform(bootstrap, "apply", "-auto-approve", "-input=false", "-no-color", env=env)


def main() -> int:
    try:
        check_toolchain()
        emulator = local_aws.up()
        print(f"==> local AWS emulator at {emulator.endpoint} (pid {emulator.pid})", flush=True)
        env = project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint,
                           "IMAGE_SERVICE_STAGES": "local"})
        print("==> synthesizing", flush=True)
        code = synthesize(OUTDIR, env)
        if code != 0:
            return code
        print(f"==> {BOOTSTRAP}: the emulator's state bucket", flush=True)
        create_state_bucket(OUTDIR, env)
        stack_dir = OUTDIR / "stacks" / STACK
        print(f"==> {STACK}: plan, plan guard, apply the checked plan", flush=True)
        losses = guarded_apply(stack_dir, set(), env)
        if losses:
            print(refusal(STACK, losses), file=sys.stderr)
            return EXIT_REFUSED
        outputs = json.loads(terraform(stack_dir, "output", "-json", env=env).stdout)
    except (SettingsError, ToolchainError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"\n{STACK} outputs:")
    for name, out in sorted(outputs.items()):
        print(f"  {name:26} {out['value']}")
    print(f"""
Inspect state:  cd cdktf.out/stacks/{STACK} && TF_CLI_CONFIG_FILE=$PWD/../../../terraform/cli.tfrc terraform state list
Re-plan:        bin/cdktf diff {STACK}
Stop:           make down   (the emulator keeps everything in memory: stopping it forgets the deploy)""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
