"""The main job: deploy image-service-local to the local AWS emulator and print its outputs.

    python -m ops.up        (the README's `make up`)

Steps: start (or reuse) the emulator while synthesizing, and meanwhile apply the state-bucket
stack synthesized last time if it targets this emulator; then make sure the emulator's state
bucket matches this synthesis (nothing to do if the emulator already got exactly it). Plan the
stack, run the plan guard on that plan and apply exactly the plan that was checked (nothing if
it is empty); a first deployment into an empty state cannot lose anything and is applied
directly.
Safe to re-run: the emulator is reused, the state bucket and the stack converge.
"""
from __future__ import annotations

import hashlib
import json
import sys
import threading
import urllib.parse
import urllib.request
from pathlib import Path

from ops import local_aws
from ops.plan_guard import EXIT_REFUSED, guarded_apply, refusal
from ops.toolchain import ROOT, check_toolchain, project_env, start_synthesis, terraform
from stacks.errors import SettingsError, ToolchainError
from stacks.settings import (
    LOCAL_ENDPOINT_ENV,
    LOCAL_STATE,
    STAGES_ENV,
    EmulatorSettings,
    stage_settings,
)

STACK = "image-service-local"
BOOTSTRAP = "image-service-state-local"
OUTDIR = ROOT / "cdktf.out"
STATE_KEY = stage_settings("local").state_key
# Which bootstrap configuration was applied to which emulator process: "<pid> <sha256>".
BOOTSTRAP_RECORD = "state-bucket.applied"


def create_state_bucket(outdir: Path, env: dict[str, str]) -> None:
    """The emulator's state bucket (image-service-state-local), which the stacks' backend needs."""
    bootstrap = outdir / "stacks" / BOOTSTRAP
    terraform(bootstrap, "init", "-input=false", "-no-color", env=env)
    terraform(bootstrap, "apply", "-auto-approve", "-input=false", "-no-color", env=env)


def _bucket_exists(endpoint: str, bucket: str) -> bool:
    """HEAD on the bucket in the emulator's S3 (path-style)."""
    request = urllib.request.Request(f"{endpoint}/{bucket}", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status == 200
    except OSError:  # URLError and HTTPError included
        return False


def ensure_state_bucket(outdir: Path, env: dict[str, str], emulator: local_aws.Emulator,
                        run_dir: Path = local_aws.DEFAULT_RUN_DIR) -> bool:
    """Apply the bootstrap stack unless this emulator process already got exactly this
    configuration and still has the bucket (the re-run of `make up` then costs a HEAD request
    instead of ~5 s of Terraform). Returns True if it applied."""
    config = (outdir / "stacks" / BOOTSTRAP / "cdk.tf.json").read_bytes()
    wanted = f"{emulator.pid} {hashlib.sha256(config).hexdigest()}"
    record = run_dir / BOOTSTRAP_RECORD
    if (record.is_file() and record.read_text() == wanted
            and _bucket_exists(emulator.endpoint, LOCAL_STATE.bucket)):
        return False
    record.unlink(missing_ok=True)
    create_state_bucket(outdir, env)
    record.write_text(wanted)
    return True


def _targets(stack_dir: Path, endpoint: str) -> bool:
    """Whether the stack synthesized last time in stack_dir sends its requests to endpoint."""
    try:
        config = json.loads((stack_dir / "cdk.tf.json").read_text())
        [profile] = config["provider"]["aws"][0]["shared_config_files"]
        return (stack_dir / profile).read_text() == EmulatorSettings(endpoint).aws_config()
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return False


def synthesize_while_starting_emulator(outdir: Path) -> tuple[local_aws.Emulator, int]:
    """Synthesize for the emulator's endpoint while the emulator starts, and meanwhile apply
    the state-bucket stack from the last synthesis if it targets this emulator (the usual case
    after `make down`): synthesis and that apply each take seconds, mostly on different cores.
    main() then checks the bucket against the new synthesis, so a changed one is re-applied."""
    running = local_aws.status()
    port = running.port if running else local_aws.choose_port()
    endpoint = f"http://{local_aws.HOST}:{port}"
    env = project_env({LOCAL_ENDPOINT_ENV: endpoint, STAGES_ENV: "local"})
    synth = start_synthesis(outdir, env)
    try:
        emulator = running or local_aws.up(port=port)
        early = None
        if _targets(outdir / "stacks" / BOOTSTRAP, endpoint):
            def apply_last_bootstrap() -> None:
                try:
                    ensure_state_bucket(outdir, env, emulator)
                except Exception:  # noqa: BLE001  main() applies the new synthesis and
                    pass           # reports its errors
            early = threading.Thread(target=apply_last_bootstrap)
            early.start()
        code = synth.wait()
        if early:
            early.join()
    except BaseException:
        synth.terminate()
        synth.wait()
        raise
    return emulator, code


def first_deployment(emulator: local_aws.Emulator) -> bool:
    """No state object yet for the stack: a plan could only create, so there is nothing to
    guard. Asked with a bucket listing (moto checks object requests against the bucket policy
    without a request context, listings not); any doubt answers False, the guarded path."""
    query = urllib.parse.urlencode({"list-type": "2", "prefix": STATE_KEY})
    try:
        with urllib.request.urlopen(f"{emulator.endpoint}/{LOCAL_STATE.bucket}?{query}",
                                    timeout=5) as resp:
            listing = resp.read().decode()
    except (OSError, ValueError):
        return False
    return "<KeyCount>0</KeyCount>" in listing


def main() -> int:
    try:
        check_toolchain()
        print("==> starting the local AWS emulator and synthesizing", flush=True)
        emulator, code = synthesize_while_starting_emulator(OUTDIR)
        print(f"==> local AWS emulator at {emulator.endpoint} (pid {emulator.pid})", flush=True)
        if code != 0:
            return code
        env = project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint, STAGES_ENV: "local"})
        if ensure_state_bucket(OUTDIR, env, emulator):
            print(f"==> {BOOTSTRAP}: created the emulator's state bucket", flush=True)
        else:
            print(f"==> {BOOTSTRAP}: the emulator's state bucket is ready", flush=True)
        stack_dir = OUTDIR / "stacks" / STACK
        if first_deployment(emulator):
            print(f"==> {STACK}: first deployment into an empty state (nothing to guard): apply",
                  flush=True)
            if not (stack_dir / ".terraform").is_dir():
                terraform(stack_dir, "init", "-input=false", "-no-color", env=env)
            terraform(stack_dir, "apply", "-auto-approve", "-input=false", "-no-color",
                      "-compact-warnings", env=env, capture=False)
        else:
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
    client_env = local_aws.write_client_env(emulator)
    exports = " ".join(f"{k}={v}" for k, v in local_aws.client_env(emulator.endpoint).items())
    print(f"""
Use it:         export {exports}
                (or `source {client_env.relative_to(ROOT)}`), then the aws CLI or any AWS SDK,
                e.g. aws s3 ls s3://{outputs['BucketName']['value']}
                ApiEndpoint and CloudFrontDomain are names only: the emulator serves neither.
Smoke test:     make smoke   (upload, metadata queries, sign-in, TTL: ops/smoke.py)
Inspect state:  cd cdktf.out/stacks/{STACK} && TF_CLI_CONFIG_FILE=$PWD/../../../terraform/cli.tfrc terraform state list
Re-plan:        bin/cdktf diff {STACK}
Stop:           make down   (the emulator keeps everything in memory: stopping it forgets the deploy)""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
