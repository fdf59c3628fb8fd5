"""What a test session computes once for all its pytest-xdist workers, in the background from
its start.

The session's directory (tests/conftest.py creates it before the workers start, and names it
in the environment they inherit) holds the emulator deployments (tests/deploy/shared.py) and
the results of JOBS: commands that several test modules read the output of. The session starts
each job as soon as it starts (so they run while the workers collect), and a fixture that needs
one waits for its result (starting it first if this run did not: any test runs alone).

    python -m tests.session JOB       (how a job runs: its output and exit code recorded)
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

SESSION_ENV = "IMAGE_SERVICE_TEST_SESSION"
ROOT = Path(__file__).resolve().parents[1]


def session_dir() -> Path:
    value = os.environ.get(SESSION_ENV)
    if not value:
        raise RuntimeError(f"{SESSION_ENV} is not set: tests/conftest.py sets it for every run")
    return Path(value)


@dataclass(frozen=True)
class Command:
    args: list[str]
    cwd: Path
    env: dict[str, str]


@dataclass(frozen=True)
class Job:
    """A command run once per session in a work directory of its own; `prepare(work)` writes
    what it needs there and returns it."""

    name: str
    prepare: Callable[[Path], Command]
    # The test modules (or folders) that read it: the session starts it when it runs them.
    needed_by: tuple[str, ...]

    @property
    def work(self) -> Path:
        return session_dir() / "jobs" / self.name


def _project_env(**extra: str) -> dict[str, str]:
    from ops.toolchain import project_env
    from stacks.settings import LOCAL_ENDPOINT_ENV, STAGES_ENV

    env = project_env(extra)
    for name in (STAGES_ENV, LOCAL_ENDPOINT_ENV):  # the user's selection is not the tests'
        if name not in extra:
            env.pop(name, None)
    return env


def _guide_block(heading: str) -> str:
    """The first Python block under CONTRIBUTING.md's `heading`, as written."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    section = text.split(f"\n{heading}\n", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


ADDING_A_HANDLER = "## Adding a handler"


def guide_handler_block() -> str:
    """CONTRIBUTING.md's "Adding a handler" block."""
    return _guide_block(ADDING_A_HANDLER)


def _guide_script(heading: str, handler: str, stage: str) -> Callable[[Path], Command]:
    """A job's `prepare`: CONTRIBUTING.md's Python block under `heading` exactly as written, as a
    script of its own (a process of its own: cdktf's Node runtime keeps the directory it started
    in) in a folder holding handlers/<handler>. Only `stage` is selected, for speed."""

    def prepare(work: Path) -> Command:
        from tests.handler_source import write_handler_source

        write_handler_source(work / "handlers" / handler)
        script = work / "guide_block.py"
        script.write_text(_guide_block(heading))
        return Command(
            [sys.executable, str(script)],
            work,
            _project_env(PYTHONPATH=str(ROOT), IMAGE_SERVICE_STAGES=stage),
        )

    return prepare


# What main.py runs (stacks.cli.run_synth), in a process of its own: with cdktf's switch to
# write despite error annotations set (read by cdktf's Node process when it starts) and dev's
# bucket broken first. Imports the stacks package first, as main.py does, and reports how many
# provider binding modules it loaded.
MAIN_IN_A_FRESH_PROCESS = """
import sys
import stacks.app
from tests.policies.test_organisation_policy import break_the_dev_bucket
from stacks.cli import run_synth
break_the_dev_bucket()
try:
    run_synth()
finally:
    loaded = sum(m.startswith("cdktf_cdktf_provider_aws.") for m in sys.modules)
    print(f"provider modules loaded: {loaded}")
"""


def _main_in_a_fresh_process(work: Path) -> Command:
    return Command(
        [sys.executable, "-c", MAIN_IN_A_FRESH_PROCESS],
        ROOT,
        _project_env(
            CDKTF_OUTDIR=str(work / "cdktf.out"),
            IMAGE_SERVICE_STAGES="dev",
            CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS="true",
        ),
    )


JOBS = {
    job.name: job
    for job in (
        Job(
            "adding-a-handler",
            _guide_script(ADDING_A_HANDLER, "get_image", "dev"),
            (
                "tests/stacks/test_adding_a_handler.py",
                "tests/stacks/test_image_service_stacks.py",
                "tests/constructs/test_image_handler.py",
            ),
        ),
        Job(
            "joining-the-cache",
            _guide_script(
                "### Joining the network and reaching the cache", "warm_cache", "staging"
            ),
            ("tests/constructs/test_cache.py",),
        ),
        Job(
            "main-in-a-fresh-process",
            _main_in_a_fresh_process,
            ("tests/policies/test_organisation_policy.py", "tests/stacks/test_lazy_bindings.py"),
        ),
    )
}


def start(name: str) -> None:
    """Start the job unless it was started in this session (an flock makes the check and the
    start one step, whichever process gets there first)."""
    job = JOBS[name]
    job.work.mkdir(parents=True, exist_ok=True)
    with open(job.work / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (job.work / "pid").exists():
            return
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.session", name],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(job.work / "runner.log").open("wb"),
            start_new_session=True,
        )
        (job.work / "pid").write_text(str(proc.pid))


def result(name: str, timeout: float = 600.0) -> subprocess.CompletedProcess[str]:
    """Wait for the job (started first if it was not): its exit code and output."""
    job = JOBS[name]
    start(name)
    path = job.work / "result.json"
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"job {name}: no result after {timeout:.0f} s"
        assert _alive(job.work) or path.exists(), (
            f"job {name} stopped without a result: " + (job.work / "runner.log").read_text()
        )
        time.sleep(0.05)
    code, stdout, stderr = json.loads(path.read_text())
    return subprocess.CompletedProcess(JOBS[name].name, code, stdout, stderr)


def _alive(work: Path) -> bool:
    from ops.local_aws import alive  # a zombie (exited, not yet waited for) is gone

    try:
        return alive(int((work / "pid").read_text()))
    except (OSError, ValueError):
        return False


def stop() -> None:
    """Stop the jobs still running (at the end of the session)."""
    for job in JOBS.values():
        with suppress(OSError, ValueError, ProcessLookupError):
            if not (job.work / "result.json").exists():
                os.killpg(int((job.work / "pid").read_text()), signal.SIGTERM)


def main(name: str) -> int:
    job = JOBS[name]
    command = job.prepare(job.work)
    proc = subprocess.run(
        command.args, cwd=command.cwd, env=command.env, text=True, capture_output=True
    )
    tmp = job.work / "result.json.tmp"
    tmp.write_text(json.dumps([proc.returncode, proc.stdout, proc.stderr]))
    tmp.replace(job.work / "result.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
