"""The main job: deploy image-service-local to the local AWS emulator and print its outputs.

    python -m ops.up        (the README's `make up`)

Safe to re-run: the emulator is reused, the state bucket and the stack converge.
"""
from __future__ import annotations

import json
import subprocess
import sys

from ops import local_aws
from ops.cdktf import run as cdktf
from ops.toolchain import ROOT, check_toolchain, project_env
from stacks.errors import SettingsError, ToolchainError
from stacks.settings import LOCAL_ENDPOINT_ENV

STACK = "image-service-local"
BOOTSTRAP = "image-service-state-local"


def terraform(stack: str, *args: str, env: dict[str, str], capture: bool = False) -> str:
    proc = subprocess.run(["terraform", *args], cwd=ROOT / "cdktf.out" / "stacks" / stack,
                          env=env, text=True, capture_output=capture)
    if proc.returncode != 0:
        raise ToolchainError(f"terraform {' '.join(args)} failed for {stack}"
                             + (f":\n{proc.stderr}" if capture else ""))
    return proc.stdout if capture else ""


def main() -> int:
    try:
        check_toolchain(need_cdktf=True)
        emulator = local_aws.up()
        print(f"==> local AWS emulator at {emulator.endpoint} (pid {emulator.pid})", flush=True)
        env = project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint,
                           "IMAGE_SERVICE_STAGES": "local"})
        print("==> synthesizing and creating the state bucket", flush=True)
        subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, check=True)
        terraform(BOOTSTRAP, "init", "-input=false", "-no-color", env=env, capture=True)
        terraform(BOOTSTRAP, "apply", "-auto-approve", "-input=false", "-no-color", env=env,
                  capture=True)
        print(f"==> cdktf deploy {STACK}", flush=True)
        code = cdktf(["deploy", STACK, "--auto-approve"])
        if code != 0:
            return code
        outputs = json.loads(terraform(STACK, "output", "-json", env=env, capture=True))
    except (SettingsError, ToolchainError, subprocess.CalledProcessError) as exc:
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
