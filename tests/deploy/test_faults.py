"""The local loop survives faults: `make up` (python -m ops.up, against this module's own
emulator, output directory and port) interrupted mid-apply and mid-plan, a stale state lock, a
tainted table, a live lock holder, two runs at once, the emulator killed mid-apply and its port
taken. Each fault gets one clear line and a documented exit code, and the next run converges.

Tests run in file order, each starting from where the previous one left the deployment.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ops import local_aws
from ops.toolchain import ROOT, project_env, terraform
from ops.workdir import emulator_lock, lock_holders, release_if_abandoned
from stacks.errors import EXIT_BUSY, EXIT_INTERRUPTED
from stacks.settings import LOCAL_STATE

pytestmark = pytest.mark.emulator
STACK = "image-service-local"
LOCK_KEY = "image-service/local/terraform.tfstate.tflock"


class Up:
    """`make up` for this module: its own run directory (emulator), output and port."""

    def __init__(self, root: Path):
        self.run_dir, self.outdir = root / "local-aws", root / "cdktf.out"
        self.port = local_aws.free_port()
        self.log = root / "up.log"

    @property
    def stack_dir(self) -> Path:
        return self.outdir / "stacks" / STACK

    @property
    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "ops.up",
            "--run-dir",
            str(self.run_dir),
            "--outdir",
            str(self.outdir),
            "--port",
            str(self.port),
        ]

    def start(self) -> subprocess.Popen:
        """Started in a session of its own, as a terminal runs a command: a Ctrl-C is a SIGINT
        to its whole process group."""
        self.log.write_text("")
        return subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=project_env(),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text()

    def wait_for(self, proc: subprocess.Popen, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert proc.poll() is None, f"exited before {text!r}:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {text!r} after {timeout} s"
            time.sleep(0.05)

    def finish(self, proc: subprocess.Popen, timeout: float = 120) -> int:
        return proc.wait(timeout=timeout)

    def run(self) -> int:
        return self.finish(self.start())

    def emulator(self) -> local_aws.Emulator:
        emulator = local_aws.status(self.run_dir)
        assert emulator is not None
        return emulator

    def aws(self, service: str):
        return local_aws.client(service, self.emulator().endpoint)

    def env(self) -> dict[str, str]:
        """Terraform's environment: the emulator's credentials; the endpoint comes from the
        stack's own configuration."""
        return project_env(
            {
                k: v
                for k, v in local_aws.client_env(self.emulator().endpoint).items()
                if k != "AWS_ENDPOINT_URL"
            }
        )

    def taint_the_table(self) -> str:
        """Mark the metadata table tainted, as an interrupted apply leaves it; its address."""
        table = next(
            a
            for a in terraform(self.stack_dir, "state", "list", env=self.env()).stdout.split()
            if a.startswith("aws_dynamodb_table.")
        )
        terraform(self.stack_dir, "taint", table, env=self.env())
        return table

    def locked(self) -> bool:
        listed = self.aws("s3").list_objects_v2(Bucket=LOCAL_STATE.bucket, Prefix=LOCK_KEY)
        return listed.get("KeyCount", 0) > 0

    def replan_is_empty(self) -> bool:
        proc = terraform(
            self.stack_dir,
            "plan",
            "-detailed-exitcode",
            "-input=false",
            "-no-color",
            env=self.env(),
            check=False,
        )
        return proc.returncode == 0


def lock_holder(up: Up) -> subprocess.Popen:
    """`terraform console` holds the stack's state lock for as long as it runs."""
    holder = subprocess.Popen(
        ["terraform", "console"],
        cwd=up.stack_dir,
        env=up.env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not up.locked():
        assert time.monotonic() < deadline and holder.poll() is None, "no lock taken"
        time.sleep(0.1)
    return holder


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    up = Up(tmp_path_factory.mktemp("faults"))
    yield up
    local_aws.down(up.run_dir)


def _clean_exit(output: str) -> None:
    assert "Traceback" not in output, output


def test_ctrl_c_mid_apply_lets_the_apply_finish_and_exits_130(up):
    proc = up.start()
    up.wait_for(proc, "Creating...")
    os.killpg(proc.pid, signal.SIGINT)
    assert up.finish(proc) == EXIT_INTERRUPTED
    output = up.output()
    _clean_exit(output)
    assert "interrupt: letting terraform apply in image-service-local finish" in output
    assert (
        output.strip()
        .splitlines()[-1]
        .startswith("interrupted: `make up` stopped during terraform apply in image-service-local")
    )
    assert "Apply complete!" in output  # nothing half-created
    assert lock_holders(up.stack_dir) == [] and not up.locked()


def test_the_next_run_converges_with_the_same_resources(up):
    assert up.run() == 0, up.output()
    assert "No changes: the deployment already matches the configuration." in up.output()
    assert [
        p["Name"] for p in up.aws("cognito-idp").list_user_pools(MaxResults=10)["UserPools"]
    ] == ["image-service-local"]
    assert [a["Name"] for a in up.aws("apigatewayv2").get_apis()["Items"]] == [STACK]


def test_ctrl_c_mid_plan_exits_130_and_leaves_no_lock(up):
    proc = up.start()
    up.wait_for(proc, "plan, plan guard")
    time.sleep(1.0)  # Terraform is refreshing
    os.killpg(proc.pid, signal.SIGINT)
    assert up.finish(proc) == EXIT_INTERRUPTED
    _clean_exit(up.output())
    assert "interrupted: `make up` stopped during terraform plan" in up.output()
    assert lock_holders(up.stack_dir) == [] and not up.locked()


def test_a_stale_lock_and_a_tainted_table_are_recovered(up):
    table = up.taint_the_table()
    holder = lock_holder(up)
    os.killpg(holder.pid, signal.SIGKILL)  # dies holding the lock, as after a kill -9
    holder.wait()
    assert up.locked()
    assert up.run() == 0, up.output()
    output = up.output()
    assert (
        "plan guard: released the state lock of image-service-local left by an interrupted"
        in output
    )
    assert (
        f"plan guard: recreating {table} (metadata table): an interrupted apply left it "
        "tainted" in output
    )
    assert up.replan_is_empty()


def test_an_abandoned_lock_is_read_from_the_emulator_and_released(up, capsys):
    # What bin/cdktf does before handing an emulator stack to the cdktf CLI (which, interrupted,
    # can leave its plan's lock behind); a live holder's lock is left alone.
    assert emulator_lock(up.stack_dir) is None
    holder = lock_holder(up)
    try:
        lock = emulator_lock(up.stack_dir)
        assert lock is not None and lock.operation in {"invalid", "console", "plan"}, lock
        assert release_if_abandoned(up.stack_dir, lock, up.env(), "bin/cdktf") is False
        assert up.locked()
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    assert release_if_abandoned(up.stack_dir, lock, up.env(), "bin/cdktf") is True
    assert not up.locked() and emulator_lock(up.stack_dir) is None
    assert f"bin/cdktf: released the state lock of {STACK} left by an interrupted" in (
        capsys.readouterr().out
    )


def test_a_live_lock_holder_is_named_at_once(up):
    holder = lock_holder(up)
    try:
        started = time.monotonic()
        assert up.run() == EXIT_BUSY, up.output()
        took = time.monotonic() - started
    finally:
        holder.communicate(b"exit\n", timeout=30)
    output = up.output()
    _clean_exit(output)
    assert "still running as pid" in output and str(holder.pid) in output
    assert "the Terraform state of image-service-local is locked by another run" in output
    assert took < 30, took  # not Terraform's silent minute of waiting


def test_a_second_make_up_is_told_at_once_naming_the_first(up, tmp_path):
    first = up.start()
    up.wait_for(first, "==> ")
    started = time.monotonic()
    second = subprocess.run(
        up.command,
        cwd=ROOT,
        env=project_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == EXIT_BUSY, second.stdout + second.stderr
    assert time.monotonic() - started < 10
    assert f"image-service-local is busy: `make up` (pid {first.pid}" in second.stderr
    _clean_exit(second.stderr)
    assert up.finish(first) == 0, up.output()


def test_the_emulator_dying_mid_apply_is_named_and_a_taken_port_is_survived(up):
    # An apply with work in it: the tainted table is replaced.
    table = up.taint_the_table()
    emulator = up.emulator()
    proc = up.start()
    up.wait_for(proc, f"{table}: Destroying...")
    started = time.monotonic()
    os.kill(emulator.pid, signal.SIGKILL)
    assert up.finish(proc) == 2
    assert time.monotonic() - started < 15  # not a minute of Terraform's retries
    output = up.output()
    _clean_exit(output)
    assert (
        output.strip()
        .splitlines()[-1]
        .startswith(
            f"error: the local AWS emulator (pid {emulator.pid}, {emulator.endpoint}) stopped "
            "while `make up` was deploying"
        )
    )
    assert lock_holders(up.stack_dir) == []
    # Another program takes the port; the next run starts an emulator on another port (a
    # changed backend: re-initialised) and deploys from scratch.
    squatter = socket.socket()
    # (the killed emulator's connections may still be in TIME_WAIT on that port)
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", emulator.port))
    squatter.listen(1)
    try:
        assert up.run() == 0, up.output()
        assert up.emulator().port != emulator.port
        assert up.replan_is_empty()
        assert not (up.stack_dir / "errored.tfstate").exists()
    finally:
        squatter.close()
    state = json.loads(terraform(up.stack_dir, "show", "-json", env=up.env()).stdout)
    assert len(state["values"]["root_module"]["resources"]) > 15
