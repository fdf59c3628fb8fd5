"""The main job: deploy image-service-local to the local AWS emulator and print its outputs.

    python -m ops.up        (the README's `make up`)

Steps: start (or reuse) the emulator while synthesizing, and meanwhile apply the state-bucket
stack synthesized last time if it targets this emulator; then make sure the emulator's state
bucket matches this synthesis (nothing to do if the emulator already got exactly it). Plan the
stack, run the plan guard on that plan and apply exactly the plan that was checked (nothing if
it is empty); a first deployment into an empty state cannot lose anything and is applied
directly.
Safe to re-run: the emulator is reused, the state bucket and the stack converge, also after
a fault: Ctrl-C waits for Terraform to save its state and release its lock (exit 130); a lock
or tainted resource left by an interrupted run is released or recreated; a new emulator port
re-initialises the stack; a stopped emulator is named as the cause.

Exit codes: 0 deployed; 2 a setting, the toolchain or the emulator failed (the message names
the fix); 3 the plan guard refused the plan; 4 another command is working on the stack;
130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import sys
import threading
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from ops import local_aws, synthesis_cache
from ops.gateway import daemon as gateway
from ops.plan_guard import guarded_apply
from ops.toolchain import (
    OUTDIR,
    ROOT,
    check_toolchain,
    graceful_interrupts,
    kill_children,
    project_env,
    start_synthesis,
    terraform,
    tf_cli_config,
)
from ops.workdir import (
    ERRORED_STATE,
    ensure_initialised,
    errored_state,
    run_lock,
    stack_outputs,
    untracked_resources,
)
from stacks.errors import (
    EXIT_INTERRUPTED,
    ImageServiceError,
    Interrupted,
    SettingsError,
    ToolchainError,
    report,
)
from stacks.settings import (
    EMULATOR_STATE_STACK,
    LOCAL_ENDPOINT_ENV,
    LOCAL_STATE,
    LOCAL_STATE_FILE,
    STAGES_ENV,
    EmulatorSettings,
    emulator_stage_settings,
    selected_stages,
    stack_name,
)

STAGE = "local"
STACK = stack_name(STAGE)
BOOTSTRAP = EMULATOR_STATE_STACK
# Which bootstrap configuration was applied to which emulator process: "<pid> <sha256>".
BOOTSTRAP_RECORD = "state-bucket.applied"


def create_state_bucket(outdir: Path, env: dict[str, str]) -> None:
    """The emulator's state bucket (image-service-state-local), which the stacks' backend needs."""
    bootstrap = outdir / "stacks" / BOOTSTRAP
    ensure_initialised(bootstrap, env)
    terraform(bootstrap, "apply", "-auto-approve", "-input=false", "-no-color", env=env)


def _bucket_exists(endpoint: str, bucket: str) -> bool:
    """HEAD on the bucket in the emulator's S3 (path-style)."""
    request = urllib.request.Request(f"{endpoint}/{bucket}", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return bool(resp.status == 200)
    except OSError:  # URLError and HTTPError included
        return False


def ensure_state_bucket(
    outdir: Path,
    env: dict[str, str],
    emulator: local_aws.Emulator,
    run_dir: Path = local_aws.DEFAULT_RUN_DIR,
) -> bool:
    """Apply the bootstrap stack unless this emulator process already got exactly this
    configuration and still has the bucket (the re-run of `make up` then costs a HEAD request
    instead of ~5 s of Terraform). Returns True if it applied."""
    config = (outdir / "stacks" / BOOTSTRAP / "cdk.tf.json").read_bytes()
    wanted = f"{emulator.pid} {hashlib.sha256(config).hexdigest()}"
    record = run_dir / BOOTSTRAP_RECORD
    if _bucket_exists(emulator.endpoint, LOCAL_STATE.bucket) and (
        (record.is_file() and record.read_text() == wanted)
        # The bucket is there but its bootstrap's state is not: `ops.bootstrap local` moved it
        # into the bucket. An apply from an empty local state could only fail on the bucket.
        or not (outdir / "stacks" / BOOTSTRAP / LOCAL_STATE_FILE).exists()
    ):
        record.write_text(wanted)
        return False
    record.unlink(missing_ok=True)
    create_state_bucket(outdir, env)
    record.write_text(wanted)
    return True


def _aws_config(stack_dir: Path) -> str | None:
    """The emulator profile the stack synthesized last time in stack_dir reads (None: none)."""
    try:
        config = json.loads((stack_dir / "cdk.tf.json").read_text())
        [profile] = config["provider"]["aws"][0]["shared_config_files"]
        return (stack_dir / str(profile)).read_text()
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


def _targets(stack_dir: Path, endpoint: str) -> bool:
    """Whether the stack synthesized last time in stack_dir sends its requests to endpoint."""
    return _aws_config(stack_dir) == EmulatorSettings(endpoint).aws_config()


def port_for_a_new_emulator(outdir: Path, run_dir: Path, preferred_port: int) -> int:
    """The port of the emulator the last synthesis targets, while it is free (after `make down`,
    or after the emulator stopped: the endpoint a developer exported stays valid, and the
    synthesis stays current), else the preferred port if free, else any free one. An emulator
    killed a moment ago is waited for until it has freed its port."""
    local_aws.wait_recorded_exited(run_dir / "pid")
    config = _aws_config(outdir / "stacks" / STACK) or ""
    last = re.search(rf"^endpoint_url = http://{re.escape(local_aws.HOST)}:(\d+)$", config, re.M)
    if last and local_aws.port_is_free(int(last.group(1))):
        return int(last.group(1))
    return local_aws.choose_port(preferred_port)


# Where `make up` records the key of its last synthesis (ops/synthesis_cache.py).
SYNTH_KEY = ".synthesis-local.key"


def synthesis_outputs(outdir: Path) -> list[Path]:
    """What `make up`'s synthesis writes: each of its two stacks' configuration and assets."""
    return [
        path
        for stack in (STACK, BOOTSTRAP)
        for path in (
            outdir / "stacks" / stack / "cdk.tf.json",
            outdir / "stacks" / stack / "assets",
        )
    ]


def synthesize_while_starting_emulator(
    outdir: Path, run_dir: Path, preferred_port: int
) -> tuple[local_aws.Emulator, int]:
    """Synthesize for the emulator's endpoint while the emulator starts (unless the last
    synthesis is current), and meanwhile apply the state-bucket stack from the last synthesis
    if it targets this emulator (the usual case after `make down`): synthesis and that apply
    each take seconds, mostly on different cores. main() then checks the bucket against the new
    synthesis, so a changed one is re-applied."""
    running = local_aws.status(run_dir)
    port = running.port if running else port_for_a_new_emulator(outdir, run_dir, preferred_port)
    endpoint = f"http://{local_aws.HOST}:{port}"
    env = project_env({LOCAL_ENDPOINT_ENV: endpoint, STAGES_ENV: STAGE})
    current = synthesis_cache.is_current(outdir / SYNTH_KEY, synthesis_outputs(outdir), endpoint)
    print(
        "==> "
        + ("starting" if running is None else "reusing")
        + " the local AWS emulator"
        + (
            " (the last synthesis is current: no source changed)"
            if current
            else " and synthesizing"
        ),
        flush=True,
    )
    if not current:
        synthesis_cache.forget(outdir / SYNTH_KEY)
    synth = None if current else start_synthesis(outdir, env)
    early = None
    try:
        emulator = running or local_aws.up(run_dir, port=port)
        if _targets(outdir / "stacks" / BOOTSTRAP, endpoint):

            def apply_last_bootstrap() -> None:
                # main() applies the new synthesis and reports its errors (an interrupt
                # included), so any error here is left to it.
                with contextlib.suppress(Exception):
                    ensure_state_bucket(outdir, env, emulator, run_dir)

            early = threading.Thread(target=apply_last_bootstrap)
            early.start()
        code = synth.wait().returncode if synth else 0
        if synth and code == 0:
            synthesis_cache.remember(outdir / SYNTH_KEY, synthesis_outputs(outdir), endpoint)
    except BaseException:
        if synth:
            synth.terminate()
        raise
    finally:
        if early:
            early.join()
    return emulator, code


def first_deployment(emulator: local_aws.Emulator) -> bool:
    """No state object and no lock yet for the stack: a plan could only create, so there is
    nothing to guard. Asked with a bucket listing (moto checks object requests against the
    bucket policy without a request context, listings not); the prefix also matches the lock
    file, so a lock left by an interrupted run takes the guarded path, which releases it. Any
    doubt answers False, the guarded path."""
    state_key = emulator_stage_settings(STAGE, endpoint=emulator.endpoint).state_key
    query = urllib.parse.urlencode({"list-type": "2", "prefix": state_key})
    try:
        with urllib.request.urlopen(
            f"{emulator.endpoint}/{LOCAL_STATE.bucket}?{query}", timeout=5
        ) as resp:
            listing = resp.read().decode()
    except (OSError, ValueError):
        return False
    return "<KeyCount>0</KeyCount>" in listing


def check_environment() -> None:
    """The user's settings in the environment are honoured or refused, never replaced."""
    raw = os.environ.get(STAGES_ENV, "").strip()
    if raw and STAGE not in selected_stages():  # selected_stages() refuses unknown names
        raise SettingsError(
            STAGE,
            STAGES_ENV,
            f"it is set to '{raw}', which leaves out the stage `make up` deploys",
            f"unset {STAGES_ENV} (it selects the stages `bin/cdktf synth` "
            "writes), or include 'local'",
        )
    endpoint = os.environ.get(LOCAL_ENDPOINT_ENV, "").strip()
    if endpoint:
        emulator_stage_settings(STAGE, endpoint=endpoint)  # refuses a non-loopback URL
        raise SettingsError(
            STAGE,
            LOCAL_ENDPOINT_ENV,
            f"it is set to '{endpoint}', but `make up` runs the project's own "
            "emulator and chooses its endpoint",
            f"unset {LOCAL_ENDPOINT_ENV} (it points bin/cdktf at another emulator)",
        )


def remove_errored_state(stack_dir: Path, run_dir: Path) -> None:
    """errored.tfstate: Terraform could not save state to the emulator. If the emulator has
    been restarted since, that state described resources that died with the old one."""
    errored = errored_state(stack_dir)
    if errored is None:
        return
    try:
        started = (run_dir / "pid").stat().st_mtime
    except OSError:
        return
    if errored.stat().st_mtime < started:
        errored.unlink()
        print(
            f"==> {stack_dir.name}: removed {ERRORED_STATE}, left by a run whose emulator "
            "stopped (the resources it describes stopped with that emulator)",
            flush=True,
        )
    else:
        raise ToolchainError(
            f"{errored} holds state Terraform could not save to the emulator, which is still "
            f"running. Fix: cd {stack_dir} && TF_CLI_CONFIG_FILE={tf_cli_config()} terraform "
            f"state push {ERRORED_STATE} && rm {ERRORED_STATE}; or start over with `make down "
            "&& make up`."
        )


def deploy(
    outdir: Path, run_dir: Path, preferred_port: int = local_aws.PREFERRED_PORT
) -> tuple[local_aws.Emulator, dict[str, Any]]:
    """Everything `make up` does after its checks; returns the emulator and the outputs."""
    emulator, code = synthesize_while_starting_emulator(outdir, run_dir, preferred_port)
    print(f"==> local AWS emulator at {emulator.endpoint} (pid {emulator.pid})", flush=True)
    if code != 0:
        raise SynthesisFailed(code)
    env = project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint, STAGES_ENV: STAGE})
    watchdog = EmulatorWatchdog(emulator)
    try:
        if ensure_state_bucket(outdir, env, emulator, run_dir):
            print(f"==> {BOOTSTRAP}: created the emulator's state bucket", flush=True)
        else:
            print(f"==> {BOOTSTRAP}: the emulator's state bucket is ready", flush=True)
        stack_dir = outdir / "stacks" / STACK
        remove_errored_state(stack_dir, run_dir)
        if first_deployment(emulator):
            print(
                f"==> {STACK}: first deployment into an empty state (nothing to guard): apply",
                flush=True,
            )
            ensure_initialised(stack_dir, env)
            terraform(
                stack_dir,
                "apply",
                "-auto-approve",
                "-input=false",
                "-no-color",
                "-compact-warnings",
                env=env,
                capture="tee",
                finish_on_interrupt=True,
            )
        else:
            print(f"==> {STACK}: plan, plan guard, apply the checked plan", flush=True)
            guarded_apply(stack_dir, set(), env, recreate_tainted=True)
        outputs = stack_outputs(stack_dir, env)
    except ToolchainError as exc:
        if watchdog.saw_it_stop or not local_aws.alive(emulator.pid):
            raise EmulatorStopped(emulator) from None
        untracked = untracked_resources(getattr(exc, "output", ""))
        if untracked:
            raise ToolchainError(
                f"the emulator holds resources of {STACK} that its Terraform state does not "
                f"know: {', '.join(untracked)}. An apply that was interrupted (or killed) while "
                "creating them lost track of them. Fix: `make down && make up` starts a clean "
                "emulator and deploys from scratch (what you stored in the emulator goes "
                "with it)."
            ) from None
        raise
    finally:
        watchdog.stop()
    return emulator, outputs


class EmulatorWatchdog:
    """Watches the emulator while Terraform works against it: if it dies, Terraform is
    stopped at once (instead of retrying for about a minute and printing a wall of connection
    errors) and `make up` names the cause."""

    def __init__(self, emulator: local_aws.Emulator, interval: float = 0.5):
        self.saw_it_stop = False
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, args=(emulator.pid, interval), daemon=True
        )
        self._thread.start()

    def _watch(self, pid: int, interval: float) -> None:
        while not self._done.wait(interval):
            if not local_aws.alive(pid):
                self.saw_it_stop = True
                kill_children()
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


class SynthesisFailed(Exception):
    """main.py failed; it has printed why."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


class EmulatorStopped(ImageServiceError):
    def __init__(self, emulator: local_aws.Emulator):
        super().__init__(
            f"the local AWS emulator (pid {emulator.pid}, {emulator.endpoint}) stopped while "
            "`make up` was deploying; everything deployed to it is gone with it, and nothing "
            "else was affected. Fix: run `make up` again (it starts a new emulator and deploys "
            f"from scratch); if it stops again, read {local_aws.DEFAULT_RUN_DIR / 'log'}."
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.up",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # For the tests, which run `make up` against emulators and outputs of their own.
    parser.add_argument(
        "--run-dir", type=Path, default=local_aws.DEFAULT_RUN_DIR, help=argparse.SUPPRESS
    )
    parser.add_argument("--outdir", type=Path, default=OUTDIR, help=argparse.SUPPRESS)
    parser.add_argument(
        "--port", type=int, default=local_aws.PREFERRED_PORT, help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    outdir = args.outdir.resolve()
    try:
        with graceful_interrupts():
            check_environment()
            check_toolchain()
            with run_lock(outdir / "stacks" / STACK, "make up"):
                emulator, outputs = deploy(outdir, args.run_dir, args.port)
                served = gateway.up(emulator, outdir / "stacks" / STACK, STAGE, args.run_dir)
    except Interrupted as exc:
        print(
            f"\ninterrupted: `make up` stopped during {exc}; every command it ran has "
            "stopped cleanly (Terraform saved its state and released its lock). Run `make up` "
            "again to continue.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except SynthesisFailed as exc:
        return exc.code
    except ImageServiceError as exc:
        return report(exc)
    print(f"\n{STACK} outputs:")
    for name, value in sorted(outputs.items()):
        print(f"  {name:26} {value}")
    print(f"  {'API (local gateway)':26} {served.api_url}")
    print(f"  {'CDN (local gateway)':26} {served.cdn_url}")
    client_env = local_aws.write_client_env(emulator, args.run_dir, served.env())
    exports = " ".join(f"{k}={v}" for k, v in local_aws.client_env(emulator.endpoint).items())
    shown = client_env.relative_to(ROOT) if client_env.is_relative_to(ROOT) else client_env
    print(f"""
Use it:         export {exports}
                (or `source {shown}`), then the aws CLI or any AWS SDK,
                e.g. aws s3 ls s3://{outputs["BucketName"]}
API and CDN:    {served.api_url} serves the API as deployed (routes, JWT authorizer, CORS,
                handlers run from their folders), {served.cdn_url} the bucket as the CDN does
                ({gateway.API_URL_ENV}, {gateway.CDN_URL_ENV} in {shown}; logs: make logs)
Smoke test:     make smoke   (upload, metadata queries, sign-in, TTL, the API and CDN: ops/smoke.py)
Inspect state:  cd cdktf.out/stacks/{STACK} && \\
                TF_CLI_CONFIG_FILE=$PWD/../../../terraform/cli.tfrc terraform state list
Re-plan:        bin/cdktf diff {STACK}
Stop:           make down   (the emulator keeps everything in memory: stopping it forgets
                the deployment; the local gateway stops with it)""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
