"""The environment every project command runs Terraform and the cdktf CLI in, and its checks."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from stacks.cli import DEFAULT_OUTDIR
from stacks.errors import Interrupted, ToolchainError
from stacks.settings import AWS_PROVIDER_VERSION, TERRAFORM_REQUIRED_VERSION

ROOT = Path(__file__).resolve().parent.parent
# On machines with the offline provider mirror (this build machine): install from it only.
MIRROR_TF_CLI_CONFIG = ROOT / "terraform" / "cli.tfrc"
# Everywhere else (laptops, CI runners with internet): the public registry.
REGISTRY_TF_CLI_CONFIG = ROOT / "terraform" / "registry.tfrc"
# Lets a test or an unusual machine use another mirror config; normally unset.
TF_CLI_CONFIG_ENV = "IMAGE_SERVICE_TF_CLI_CONFIG"
PROVIDER = ("registry.terraform.io", "hashicorp", "aws")
PROVIDER_VERSION = AWS_PROVIDER_VERSION
CDKTF_BIN = ROOT / "node_modules" / ".bin" / "cdktf"
RUN_DIR = ROOT / ".run"
OUTDIR = ROOT / DEFAULT_OUTDIR  # where the project's commands synthesize
GO_GC_PERCENT = "400"


def mirror_config() -> Path:
    return Path(os.environ.get(TF_CLI_CONFIG_ENV) or MIRROR_TF_CLI_CONFIG)


def mirror_holds_provider(config: Path | None = None) -> bool:
    """Whether the filesystem mirror named in the mirror config holds the pinned AWS provider."""
    config = config or mirror_config()
    if not config.is_file():
        return False
    match = re.search(r'filesystem_mirror\s*\{[^}]*?path\s*=\s*"([^"]+)"', config.read_text(), re.S)
    if not match:
        return False
    provider_dir = Path(match.group(1)).joinpath(*PROVIDER, PROVIDER_VERSION)
    return any(provider_dir.glob("*/terraform-provider-aws_v*"))


def tf_cli_config() -> Path:
    """The Terraform CLI config the project runs with: the mirror's when the mirror holds the
    provider, else the public registry's (where the registry is unreachable, `terraform init`
    then reports that itself)."""
    return mirror_config() if mirror_holds_provider() else REGISTRY_TF_CLI_CONFIG


def project_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """os.environ plus what Terraform, cdktf and jsii need to run offline and quietly."""
    env = dict(os.environ)
    env.update(
        {
            "TF_CLI_CONFIG_FILE": str(tf_cli_config()),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            # cdktf would point TF_PLUGIN_CACHE_DIR at ~/.terraform.d; we set a project-local one.
            "CDKTF_DISABLE_PLUGIN_CACHE_ENV": "1",
            # The CLI otherwise checks npm for a newer release on every run.
            "DISABLE_VERSION_CHECK": "1",
        }
    )
    # Terraform and the AWS provider are Go programs whose runs are short and whose CPU goes
    # largely into building the provider's schema at every start; collecting garbage 4x less
    # often cuts their CPU by ~15% (4 re-plans of image-service-local: 20.2-22.4 -> 17.7 CPU-s)
    # for more memory (bench: peak RSS of a re-plan 220 -> 380 MB). A GOGC the user set is kept.
    env.setdefault("GOGC", GO_GC_PERCENT)
    # A shared plugin cache makes `terraform init` of each stack a link, not a copy.
    cache = RUN_DIR / "plugin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    env.setdefault("TF_PLUGIN_CACHE_DIR", str(cache))
    if extra:
        env.update(extra)
    return env


def check_toolchain(need_cdktf: bool = False) -> str:
    """Terraform on PATH (1.10 or newer: the S3 backend's own locking); returns its path. The
    AWS provider comes from the mirror or the registry (tf_cli_config): no check needed."""
    terraform = shutil.which("terraform")
    if terraform is None:
        raise ToolchainError(
            "terraform was not found on PATH (looked in: " + os.environ.get("PATH", "") + "). "
            f"Fix: install Terraform {TERRAFORM_REQUIRED_VERSION} (a single binary) into a "
            "PATH directory, e.g. /usr/local/bin, and run the command again."
        )
    if need_cdktf and not CDKTF_BIN.exists():
        raise ToolchainError(
            f"The cdktf CLI was not found at {CDKTF_BIN}. Fix: run `make deps` (npm ci)."
        )
    return terraform


# --------------------------------------------------------------------------------------------
# Child processes that survive Ctrl-C properly.
#
# Each child (Terraform, the cdktf CLI, a synthesis) runs in a process group of its own, so a
# Ctrl-C in the terminal reaches only the project's Python process. Inside `graceful_interrupts`
# its handler passes the interrupt on, once per Ctrl-C, to every running child's group:
# Terraform then saves its state and releases its lock before it exits (a second Ctrl-C makes it
# stop at once), and the command waits for that instead of killing it as `subprocess.run` does.
# When the children have exited, `Child.wait` raises Interrupted, which the entry points report
# in one line with exit code EXIT_INTERRUPTED.
# --------------------------------------------------------------------------------------------
_running: dict[int, tuple[subprocess.Popen[bytes], int, str, bool]] = {}
# Re-entrant: the signal handler may run in the main thread while it holds the lock.
_running_lock = threading.RLock()
_interrupts = 0


def _on_interrupt(signum: int, frame: object) -> None:
    global _interrupts
    _interrupts += 1
    with _running_lock:
        children = list(_running.values())
    if not children:
        raise Interrupted("interrupted")
    finishing = [what for _, _, what, finish in children if finish and _interrupts == 1]
    stopping = [
        (proc, sig, what)
        for proc, sig, what, finish in children
        if not (finish and _interrupts == 1)
    ]
    if finishing:
        note = (
            f"\ninterrupt: letting {', '.join(finishing)} finish (seconds on the emulator), "
            "so that nothing is left half-created; Ctrl-C again to interrupt it\n"
        )
    elif _interrupts <= 2:
        note = (
            f"\ninterrupt: waiting for {', '.join(w for _, _, w in stopping)} to stop "
            "cleanly (Terraform saves its state and releases its lock; Ctrl-C again to stop "
            "at once)\n"
        )
    else:
        note = f"\ninterrupt: stopping {', '.join(w for _, _, w in stopping)} at once\n"
    os.write(2, note.encode())
    for proc, stop_signal, _ in stopping:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, stop_signal)


@contextmanager
def graceful_interrupts() -> Iterator[None]:
    """Within: SIGINT and SIGTERM are passed on to the running children and waited for."""
    global _interrupts
    _interrupts = 0
    previous = {sig: signal.signal(sig, _on_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def interrupted() -> bool:
    return _interrupts > 0


def kill_children() -> None:
    """Stop every running child at once (SIGKILL), e.g. when the emulator they talk to died:
    there is no state left to save, and Terraform would otherwise retry for a minute."""
    with _running_lock:
        children = list(_running.values())
    for proc, _, _, _ in children:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


class Child:
    """A child process in its own process group (see above). `stop_signal` is what it gets
    when the user interrupts: SIGINT for Terraform and the cdktf CLI (graceful), SIGTERM for a
    synthesis (whose output is published all-or-nothing). finish_on_interrupt: the first
    interrupt lets it run to its end (an apply on the emulator takes seconds, and Terraform
    interrupted mid-create loses track of what it was creating); the second one is passed on.
    capture: True keeps the output, False shows it, "tee" does both (stdout and stderr merged).
    """

    def __init__(
        self,
        args: list[str],
        *,
        what: str,
        cwd: Path,
        env: dict[str, str],
        capture: bool | str = True,
        stop_signal: int = signal.SIGINT,
        finish_on_interrupt: bool = False,
    ):
        self.args, self.what = args, what
        tee = capture == "tee"
        # Closed by _read once the child has exited (a `with` cannot span wait()).
        self._out = tempfile.TemporaryFile() if capture is True else None  # noqa: SIM115
        self._err = tempfile.TemporaryFile() if capture is True else None  # noqa: SIM115
        self._teed: list[bytes] = []
        with _running_lock:
            self.proc = subprocess.Popen(
                args,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if tee else self._out,
                stderr=subprocess.STDOUT if tee else self._err,
                process_group=0,
            )
            _running[self.proc.pid] = (self.proc, stop_signal, what, finish_on_interrupt)
        self._tee = threading.Thread(target=self._copy, daemon=True) if tee else None
        if self._tee:
            self._tee.start()

    def _copy(self) -> None:
        assert self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, b""):
            self._teed.append(line)
            sys.stdout.buffer.write(line)
            sys.stdout.flush()

    def wait(self) -> subprocess.CompletedProcess[str]:
        """Wait until the child exits; Interrupted if the user interrupted meanwhile."""
        # The handler never raises while this child is registered: it passes the interrupt on.
        code = self.proc.wait()
        if self._tee:
            self._tee.join()
        with _running_lock:
            _running.pop(self.proc.pid, None)
        stdout, stderr = (self._read(f) for f in (self._out, self._err))
        if self._tee:
            stdout = b"".join(self._teed).decode(errors="replace")
        if interrupted():
            raise Interrupted(self.what)
        return subprocess.CompletedProcess(self.args, code, stdout, stderr)

    def terminate(self) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait()
        with _running_lock:
            _running.pop(self.proc.pid, None)

    @staticmethod
    def _read(handle: IO[bytes] | None) -> str | None:
        if handle is None:
            return None
        handle.seek(0)
        text = handle.read().decode(errors="replace")
        handle.close()
        return text


def start_synthesis(outdir: Path, env: dict[str, str]) -> Child:
    """`python main.py` into `outdir`, running (its errors go to the terminal)."""
    return Child(
        [sys.executable, "main.py"],
        what="the synthesis",
        cwd=ROOT,
        env=dict(env, CDKTF_OUTDIR=str(outdir)),
        capture=False,
        stop_signal=signal.SIGTERM,
    )


def synthesize(outdir: Path, env: dict[str, str]) -> int:
    """`python main.py` into `outdir` (its errors go to the terminal); returns its exit code."""
    return start_synthesis(outdir, env).wait().returncode


def terraform(
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
    check: bool = True,
    capture: bool | str = True,
    finish_on_interrupt: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run terraform in `cwd` with the project environment (a Child: see above).

    check=True raises ToolchainError carrying Terraform's own message (TerraformFailed);
    capture=False streams Terraform's output to the terminal instead of returning it, "tee"
    streams it and keeps it.
    """
    what = f"terraform {args[0] if args else ''} in {cwd.name}"
    env = stack_agent(env or project_env(), cwd.name)
    with init_guard(cwd, args, env) as initialised:
        proc = Child(
            ["terraform", *args],
            what=what,
            cwd=cwd,
            env=env,
            capture=capture,
            finish_on_interrupt=finish_on_interrupt,
        ).wait()
        initialised(proc.returncode)
    if check and proc.returncode != 0:
        detail = (
            ((proc.stderr or "").strip() or (proc.stdout or "").strip()) if capture is True else ""
        )
        raise TerraformFailed(
            f"terraform {' '.join(args)} failed in {cwd}"
            + (f":\n{detail}" if detail else " (see its output above)"),
            output=(proc.stdout or "") + (proc.stderr or ""),
        )
    return proc


# Appended to the AWS provider's and the S3 backend's User-Agent (aws-sdk-go-base reads it):
# each AWS call then names the stack it was made for, so the emulator's record of a stage's
# calls leaves out its account's bootstrap (ops/action_log.py).
USER_AGENT_ENV = "TF_APPEND_USER_AGENT"
STACK_AGENT = "image-service-stack"


def stack_agent(env: dict[str, str], stack: str) -> dict[str, str]:
    """`env` with Terraform's AWS calls naming `stack` in their User-Agent."""
    return {**env, USER_AGENT_ENV: f"{STACK_AGENT}/{stack}"}


# A stack's dependency lock file, which `terraform init` writes.
LOCK_FILE = ".terraform.lock.hcl"


def known_lock_file(env: dict[str, str]) -> Path | None:
    """Where the plugin cache keeps the lock file an init here wrote for the pinned provider
    from this CLI configuration's source (the mirror's or the registry's)."""
    cache = env.get("TF_PLUGIN_CACHE_DIR")
    if not cache:
        return None
    source = Path(env.get("TF_CLI_CONFIG_FILE") or "default").stem
    return Path(cache) / ".locks" / f"aws-{AWS_PROVIDER_VERSION}-{source}.hcl"


def seed_lock_file(stack_dir: Path, env: dict[str, str]) -> None:
    """Before an init of a directory without a lock file: the one an earlier init wrote.
    Measured with Terraform 1.11: an init with no lock file recording the cached provider's
    checksum re-creates the provider's entry in the shared plugin cache (Terraform 1.4 stopped
    trusting unrecorded cache entries), and a Terraform command starting meanwhile in another
    stack finds "no package ... cached in .terraform/providers" (Required plugins are not
    installed); with the recorded checksum the init only links to the entry."""
    known = known_lock_file(env)
    target = stack_dir / LOCK_FILE
    if known is not None and known.is_file() and not target.exists():
        shutil.copyfile(known, target)


def remember_lock_file(stack_dir: Path, env: dict[str, str]) -> None:
    """After an init: its lock file kept for the next inits (seed_lock_file), if it pins only
    the project's provider version (written whole or not at all)."""
    known, lock = known_lock_file(env), stack_dir / LOCK_FILE
    if known is None or known.exists() or not lock.is_file():
        return
    text = lock.read_text()
    if text.count('provider "') != 1 or f'version     = "{AWS_PROVIDER_VERSION}"' not in text:
        return
    known.parent.mkdir(parents=True, exist_ok=True)
    partial = known.with_name(f".{known.name}.{os.getpid()}")
    partial.write_text(text)
    os.replace(partial, known)


@contextmanager
def init_guard(
    cwd: Path, args: tuple[str, ...], env: dict[str, str]
) -> Iterator[Callable[[int], None]]:
    """Around `terraform init`: the plugin cache's lock held, the directory's lock file seeded
    first (unless -upgrade), and a successful init's lock file remembered (call the yielded
    function with the exit code). Other commands: nothing."""
    if args[:1] != ("init",):
        yield lambda _code: None
        return
    with plugin_cache_lock(env):
        if "-upgrade" not in args:
            seed_lock_file(cwd, env)
        yield lambda code: remember_lock_file(cwd, env) if code == 0 else None


@contextmanager
def plugin_cache_lock(env: dict[str, str]) -> Iterator[None]:
    """Hold the plugin cache's lock (an flock beside it) while `terraform init` fills or links
    from it: Terraform's plugin cache is not safe for concurrent inits (two of them installing
    the provider at once fail with "failed to create directory ... file exists"), and the
    project runs several (make up beside bin/cdktf, the test session's deployments)."""
    cache = env.get("TF_PLUGIN_CACHE_DIR")
    if not cache:
        yield
        return
    Path(cache).mkdir(parents=True, exist_ok=True)
    with open(Path(cache) / ".init.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


class TerraformFailed(ToolchainError):
    """A Terraform command failed; `output` is what it printed (when it was captured)."""

    def __init__(self, message: str, output: str = ""):
        super().__init__(message)
        self.output = output
