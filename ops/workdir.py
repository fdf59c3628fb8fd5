"""A stack's Terraform working directory (cdktf.out/stacks/<stack>): initialised for the backend
it is synthesized with, its state lock, and what an interrupted run leaves behind.

- `ensure_initialised`: `terraform init` runs again whenever the directory was never initialised,
  a previous init failed half-way, or the backend configuration changed since (on the emulator
  stacks that happens with every new emulator port; they re-initialise with `-reconfigure`: their
  state lives and dies with the emulator, there is nothing to migrate).
- `StateLocked` and `lock_holders`: who holds a stack's state lock, and whether they still run.
- `errored_state`: the `errored.tfstate` Terraform writes when it cannot save state.
- `run_lock`: one project command at a time per stack directory (`Busy` otherwise).
- `stack_outputs`: the stack's outputs by name.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops import processes
from ops.toolchain import ROOT, terraform, tf_cli_config
from stacks.errors import BusyError
from stacks.settings import EMULATOR_PROFILE

ERRORED_STATE = "errored.tfstate"


def _backend(stack_dir: Path) -> dict[str, Any]:
    config = json.loads((stack_dir / "cdk.tf.json").read_text())
    backend: dict[str, Any] = config.get("terraform", {}).get("backend", {})
    return backend


def is_emulator_stack(stack_dir: Path) -> bool:
    """A stack deployed to the local emulator: its providers use the emulator's profile (the
    emulator's state bootstrap, whose state is local, included), or its S3 backend points at an
    endpoint of its own."""
    try:
        config = json.loads((stack_dir / "cdk.tf.json").read_text())
    except (OSError, ValueError):
        return False
    providers = config.get("provider", {}).get("aws", [])
    return any(p.get("profile") == EMULATOR_PROFILE for p in providers) or (
        "endpoints" in config.get("terraform", {}).get("backend", {}).get("s3", {})
    )


def _matches(wanted: object, initialised: object) -> bool:
    if isinstance(wanted, dict):
        return isinstance(initialised, dict) and all(
            _matches(value, initialised.get(key)) for key, value in wanted.items()
        )
    return wanted == initialised


def initialised_for_its_backend(stack_dir: Path) -> bool:
    """Whether `terraform init` completed here for the backend in cdk.tf.json."""
    try:
        recorded = json.loads((stack_dir / ".terraform" / "terraform.tfstate").read_text())
        [(kind, wanted)] = _backend(stack_dir).items()
    except (OSError, ValueError):
        return False
    backend = recorded.get("backend", {})
    return (
        backend.get("type") == kind
        and _matches(wanted, backend.get("config", {}))
        and (stack_dir / ".terraform" / "providers").is_dir()
    )


def stack_outputs(stack_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    """The stack's outputs by name (`terraform output -json`, values only)."""
    raw = terraform(stack_dir, "output", "-json", "-no-color", env=env).stdout
    return {name: out["value"] for name, out in json.loads(raw or "{}").items()}


def ensure_initialised(stack_dir: Path, env: dict[str, str]) -> bool:
    """Run `terraform init` unless the directory is initialised for its backend; True if it
    ran. On the emulator a changed backend is simply re-initialised (-reconfigure): that state
    lives and dies with the emulator."""
    if initialised_for_its_backend(stack_dir):
        return False
    args = ["init", "-input=false", "-no-color"]
    if is_emulator_stack(stack_dir):
        args.append("-reconfigure")
    terraform(stack_dir, *args, env=env)
    return True


# --------------------------------------------------------------------------------------------
# State locks
# --------------------------------------------------------------------------------------------
_LOCK_FIELDS = ("ID", "Path", "Operation", "Who", "Created")


@dataclass(frozen=True)
class LockInfo:
    id: str
    operation: str
    who: str
    created: str

    @classmethod
    def parse(cls, terraform_output: str) -> LockInfo | None:
        """The lock Terraform reports in "Error acquiring the state lock", if that is the error."""
        if "Error acquiring the state lock" not in terraform_output:
            return None
        found = {
            name: (re.search(rf"^\s*{name}:\s*(.*?)\s*$", terraform_output, re.M))
            for name in _LOCK_FIELDS
        }
        value = {name: match.group(1) if match else "?" for name, match in found.items()}
        return cls(
            value["ID"],
            value["Operation"].removeprefix("OperationType").lower(),
            value["Who"],
            value["Created"],
        )


def lock_holders(stack_dir: Path) -> list[int]:
    """Terraform processes still running in stack_dir (the CLI, which holds a lock; not its
    provider plugins, which run there too and outlive a killed CLI for a moment)."""
    return processes.working_in(stack_dir, "terraform")


def force_unlock(stack_dir: Path, lock: LockInfo, env: dict[str, str]) -> None:
    terraform(stack_dir, "force-unlock", "-force", lock.id, env=env)


def release_if_abandoned(stack_dir: Path, lock: LockInfo, env: dict[str, str], by: str) -> bool:
    """On the emulator the project holds every lock (make up and bin/cdktf hold the stack's run
    lock meanwhile): a lock with no Terraform process running in the stack's directory was left
    by an interrupted run, and is released. True if it was."""
    if lock_holders(stack_dir) or not is_emulator_stack(stack_dir):
        return False
    force_unlock(stack_dir, lock, env)
    print(
        f"{by}: released the state lock of {stack_dir.name} left by an interrupted "
        f"`terraform {lock.operation}` ({lock.created})",
        flush=True,
    )
    return True


def emulator_lock(stack_dir: Path) -> LockInfo | None:
    """The lock file of an emulator stack's state, read from the emulator (None: unlocked)."""
    from ops import local_aws  # boto3: only for the emulator's stacks

    s3_backend = _backend(stack_dir)["s3"]
    s3 = local_aws.client("s3", s3_backend["endpoints"]["s3"], region=s3_backend["region"])
    try:
        raw = s3.get_object(Bucket=s3_backend["bucket"], Key=f"{s3_backend['key']}.tflock")
    except (s3.exceptions.NoSuchKey, s3.exceptions.NoSuchBucket):
        return None
    info = json.loads(raw["Body"].read())
    return LockInfo(
        info["ID"],
        info["Operation"].removeprefix("OperationType").lower(),
        info["Who"],
        info["Created"],
    )


class StateLocked(BusyError):
    """The stack's state is locked by a run that is still going, or that we may not release."""

    def __init__(self, stack_dir: Path, lock: LockInfo, holders: list[int]):
        self.stack_dir, self.lock, self.holders = stack_dir, lock, holders
        stack = stack_dir.name
        try:
            where = stack_dir.resolve().relative_to(ROOT)
        except ValueError:
            where = stack_dir.resolve()
        running = f", still running as pid {', '.join(map(str, holders))}" if holders else ""
        super().__init__(
            f"the Terraform state of {stack} is locked by another run: `terraform "
            f"{lock.operation}` by {lock.who} since {lock.created} (lock ID {lock.id}"
            f"{running}). Nothing was planned or applied. Fix: if that run is still going, wait "
            "for it and run again. If it was interrupted and its process is gone, release the "
            f"lock, then run again: cd {where} && TF_CLI_CONFIG_FILE={tf_cli_config()} "
            f"terraform force-unlock {lock.id}"
        )


def errored_state(stack_dir: Path) -> Path | None:
    path = stack_dir / ERRORED_STATE
    return path if path.is_file() else None


# --------------------------------------------------------------------------------------------
# The project's run lock: one command at a time per stack directory
# --------------------------------------------------------------------------------------------
class Busy(BusyError):
    """Another project command is working on the same stack right now."""


@contextmanager
def run_lock(stack_dir: Path, what: str) -> Iterator[None]:
    """Hold the stack's run lock (an flock on <outdir>/.locks/<stack>.lock, released by the OS
    whatever happens to the holder) or raise Busy naming the holder at once."""
    locks = stack_dir.parent.parent / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    path = locks / f"{stack_dir.name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "another process"
            raise Busy(
                f"{stack_dir.name} is busy: {holder} is working on it. Nothing was done. "
                "Fix: wait for that command to finish (or stop it), then run again."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(
            fd, f"`{what}` (pid {os.getpid()}, started {time.strftime('%H:%M:%S')})".encode(), 0
        )
        yield
    finally:
        os.close(fd)


_ALREADY_EXISTS = re.compile(
    r"Error: creating (.+?) \(([^)]*)\):.*?(?:already exists|AlreadyExists|AlreadyOwnedByYou)"
)


def untracked_resources(terraform_output: str) -> list[str]:
    """Resources an apply failed to create because they exist already: created by an earlier,
    interrupted apply that lost track of them. E.g. ["AWS DynamoDB Table (ImageMetadata-local)"].
    """
    text = " ".join(terraform_output.split())
    return list(dict.fromkeys(f"{kind} ({name})" for kind, name in _ALREADY_EXISTS.findall(text)))
