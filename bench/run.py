"""Benchmark: synth, validate, plan/diff, local deploy and the test suites, on this machine.

    make bench                      (= .venv/bin/python bench/run.py)
    .venv/bin/python bench/run.py --runs 5 --deploy-runs 3 --suite-runs 2
    .venv/bin/python bench/run.py --only synth,validate     (sections: see SECTIONS)
    .venv/bin/python bench/run.py --report-only             (results.md from results.json)

Prints a table of median and max wall time (and peak RSS of the whole process tree, Python and
Node together) per measurement, the target ratios, and writes the same to bench/results.md.
The deploy section stops the project's local emulator (`make down`) and leaves none running.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ops import local_aws  # noqa: E402
from ops.toolchain import CDKTF_BIN, project_env, synthesize, terraform  # noqa: E402
from ops.up import create_state_bucket  # noqa: E402
from stacks.settings import LOCAL_ENDPOINT_ENV  # noqa: E402

PY = sys.executable
SECTIONS = ("floor", "synth", "validate", "levers", "deploy", "tests")

# The floor: import cdktf, load the provider's jsii assembly, create one resource, synthesize.
# Only the two modules every app needs are imported from the provider package (the provider and
# one resource; its __init__ is skipped the same way constructs_lib does it).
FLOOR = """
import importlib.util, sys
spec = importlib.util.find_spec("cdktf_cdktf_provider_aws")
sys.modules["cdktf_cdktf_provider_aws"] = importlib.util.module_from_spec(spec)
import tempfile
from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
app = App(outdir=tempfile.mkdtemp())
stack = TerraformStack(app, "floor")
AwsProvider(stack, "aws", region="us-east-1")
S3Bucket(stack, "Bucket", bucket="floor-bucket")
app.synth()
"""


@dataclass
class Row:
    name: str
    seconds: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def max(self) -> float:
        return max(self.seconds)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _tree_rss_kb(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
        todo += _children(p)
    return total


def measure(cmd: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None,
            expect: int = 0) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of the process tree, sampled every 50 ms."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env or project_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    output = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != expect:
        raise SystemExit(f"bench: {' '.join(cmd)} exited {proc.returncode} (expected {expect}):"
                         f"\n{output[-3000:]}")
    return elapsed, peak / 1024


class Bench:
    def __init__(self, runs: int, deploy_runs: int, suite_runs: int):
        self.runs, self.deploy_runs, self.suite_runs = runs, deploy_runs, suite_runs
        self.rows: dict[str, Row] = {}

    def add(self, name: str, seconds: float, rss: float = 0.0, note: str = "") -> None:
        row = self.rows.setdefault(name, Row(name, note=note))
        row.seconds.append(seconds)
        if rss:
            row.rss_mb.append(rss)
        print(f"  {name:58} {seconds:7.2f} s" + (f"  {rss:7.0f} MB" if rss else ""), flush=True)

    def repeat(self, name: str, cmd: list[str], runs: int | None = None, note: str = "",
               **kw) -> None:
        for _ in range(runs or self.runs):
            self.add(name, *measure(cmd, **kw), note=note)

    # ------------------------------------------------------------------------------------
    def floor(self) -> None:
        self.repeat("floor: import cdktf + provider assembly + 1 resource", [PY, "-c", FLOOR])

    def synth(self) -> None:
        self.repeat("python main.py, one stage (dev + its state stack)", [PY, "main.py"],
                    env=self.synth_env("dev"))
        self.repeat("python main.py, all stacks", [PY, "main.py"], env=self.synth_env(""))
        # The CLI chooses the output directory itself (it overrides CDKTF_OUTDIR): --output keeps
        # it away from the project's cdktf.out.
        for stages, label in (("dev", "one stage (dev + its state stack)"), ("", "all stacks")):
            env = self.synth_env(stages)
            self.repeat(f"cdktf synth, {label}",
                        [str(CDKTF_BIN), "synth", "--output", env["CDKTF_OUTDIR"]], env=env)

    def synth_env(self, stages: str, **extra: str) -> dict[str, str]:
        out = Path(tempfile.mkdtemp(prefix="bench-synth-"))
        return project_env({"IMAGE_SERVICE_STAGES": stages, "CDKTF_OUTDIR": str(out / "o"),
                            **extra})

    def validate(self, use_cache: bool = True, label: str = "") -> None:
        src = self.synthesized("dev") / "stacks" / "image-service-dev"
        env = project_env()
        if not use_cache:
            env.pop("TF_PLUGIN_CACHE_DIR", None)
        name = label or "terraform init + validate, one stack"
        for _ in range(self.runs):
            work = Path(tempfile.mkdtemp(prefix="bench-validate-"))
            shutil.copy(src / "cdk.tf.json", work)
            t0 = time.perf_counter()
            terraform(work, "init", "-backend=false", "-input=false", "-no-color", env=env)
            terraform(work, "validate", "-no-color", env=env)
            self.add(name, time.perf_counter() - t0)
            shutil.rmtree(work, ignore_errors=True)

    def synthesized(self, stages: str) -> Path:
        env = self.synth_env(stages)
        outdir = Path(env["CDKTF_OUTDIR"])
        if synthesize(outdir, env) != 0:
            raise SystemExit("bench: synthesis failed")
        return outdir

    def levers(self) -> None:
        """Each lever measured against its absence, same machine, same run."""
        self.repeat("lever off: all stacks, provider __init__ imported eagerly", [PY, "main.py"],
                    env=self.synth_env("", IMAGE_SERVICE_EAGER_PROVIDER_IMPORT="1"))
        self.validate(use_cache=False, label="lever off: init + validate, no plugin cache")
        self.repeat("bad setting rejected (validated before cdktf is imported)",
                    [PY, "main.py"], env=self.synth_env("nope"), expect=2)
        self.repeat("lever off: tests without emulator, one process",
                    [PY, "-m", "pytest", "-q", "-m", "not emulator", "-n", "0"],
                    runs=self.suite_runs)
        self.repeat("lever off: full test suite, one process", [PY, "-m", "pytest", "-q", "-n", "0"],
                    runs=self.suite_runs)

    def deploy(self) -> None:
        subprocess.run(["make", "-s", "down"], cwd=ROOT, check=False)
        for _ in range(self.deploy_runs):
            self.repeat("make up (README main command), fresh emulator",
                        ["make", "-s", "up"], runs=1)
            self.repeat("make up again (no changes)", ["make", "-s", "up"], runs=1)
            if _ == 0:
                self.replan()
            subprocess.run(["make", "-s", "down"], cwd=ROOT, check=True)
        self.bare_deploys()

    def replan(self) -> None:
        emulator = local_aws.status()
        assert emulator, "make up left no emulator running"
        env = project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint,
                           "IMAGE_SERVICE_STAGES": "local"})
        stack_dir = ROOT / "cdktf.out" / "stacks" / "image-service-local"
        self.repeat("terraform plan (re-plan, no changes)",
                    ["terraform", "plan", "-input=false", "-no-color", "-detailed-exitcode"],
                    cwd=stack_dir, env=env)
        self.repeat("cdktf diff --skip-synth (same stack)",
                    [str(CDKTF_BIN), "diff", "image-service-local", "--skip-synth",
                     "--skip-provider-lock"], env=env)
        self.repeat("bin/cdktf diff (synth + diff, as users run it)",
                    [str(ROOT / "bin" / "cdktf"), "diff", "image-service-local"], env=env)

    def bare_deploys(self) -> None:
        """terraform apply/destroy of the same synthesized stack, without any project code."""
        run_dir = Path(tempfile.mkdtemp(prefix="bench-emulator-"))
        emulator = local_aws.up(run_dir, port=local_aws.free_port())
        try:
            env = project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint,
                               "IMAGE_SERVICE_STAGES": "local"})
            out = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
            if synthesize(out, env) != 0:
                raise SystemExit("bench: synthesis failed")
            create_state_bucket(out, env)
            stack = out / "stacks" / "image-service-local"
            terraform(stack, "init", "-input=false", "-no-color", env=env)  # needs the bucket
            for _ in range(self.deploy_runs):
                self.add("terraform apply (bare, same stack, initialised)", *measure(
                    ["terraform", "apply", "-auto-approve", "-input=false", "-no-color"],
                    cwd=stack, env=env))
                self.add("terraform destroy (bare)", *measure(
                    ["terraform", "destroy", "-auto-approve", "-input=false", "-no-color"],
                    cwd=stack, env=env))
        finally:
            local_aws.down(run_dir)

    def tests(self) -> None:
        self.repeat("tests without emulator (make test-fast)",
                    [PY, "-m", "pytest", "-q", "-m", "not emulator"], runs=self.suite_runs)
        self.repeat("full test suite (make test)", [PY, "-m", "pytest", "-q"],
                    runs=self.suite_runs)

    # ------------------------------------------------------------------------------------
    def ratios(self) -> list[tuple[str, str, str, str]]:
        def m(name: str) -> float | None:
            row = self.rows.get(name)
            return row.median if row else None

        out = []

        def ratio(label: str, a: str, b: str, target: float) -> None:
            x, y = m(a), m(b)
            if x is None or y is None:
                return
            r = x / y
            out.append((label, f"{r:.2f}", f"<= {target}", "met" if r <= target else "NOT met"))

        def limit(label: str, a: str, seconds: float) -> None:
            x = m(a)
            if x is not None:
                out.append((label, f"{x:.1f} s", f"<= {seconds:.0f} s",
                            "met" if x <= seconds else "NOT met"))

        ratio("synth all stacks / floor", "python main.py, all stacks",
              "floor: import cdktf + provider assembly + 1 resource", 1.5)
        ratio("cdktf diff --skip-synth / terraform plan", "cdktf diff --skip-synth (same stack)",
              "terraform plan (re-plan, no changes)", 1.3)
        ratio("bin/cdktf diff (with synth) / terraform plan",
              "bin/cdktf diff (synth + diff, as users run it)",
              "terraform plan (re-plan, no changes)", 1.3)
        limit("tests without emulator", "tests without emulator (make test-fast)", 30)
        limit("full test suite", "full test suite (make test)", 180)
        ratio("make up (fresh) / bare terraform apply",
              "make up (README main command), fresh emulator",
              "terraform apply (bare, same stack, initialised)", 1.2)
        return out

    def report(self) -> str:
        cores = os.cpu_count()
        lines = ["# Benchmark results",
                 "",
                 f"Measured {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} on {cores} cores "
                 f"({platform_line()}); runs: {self.runs} (deploy {self.deploy_runs}, "
                 f"suites {self.suite_runs}). Produced by `make bench` (bench/run.py).",
                 "Peak RSS is the whole process tree (Python + Node/jsii, or terraform + "
                 "provider), sampled every 50 ms.",
                 "",
                 "| measurement | runs | median s | max s | peak RSS MB (median) |",
                 "|---|---:|---:|---:|---:|"]
        for row in self.rows.values():
            rss = f"{statistics.median(row.rss_mb):.0f}" if row.rss_mb else ""
            lines.append(f"| {row.name} | {len(row.seconds)} | {row.median:.2f} | "
                         f"{row.max:.2f} | {rss} |")
        lines += ["", "## Targets", "", "| target | measured | goal | verdict |",
                  "|---|---:|---:|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self.ratios()]
        lines += ["", "How to read it:",
                  "- *one stage* synthesizes dev plus its state-bucket stack (the app always adds "
                  "the bootstrap of the stages it builds); *all stacks* is all 7.",
                  "- *bare terraform apply* applies the same synthesized image-service-local in an "
                  "initialised directory whose state bucket already exists. *make up* (fresh) also "
                  "starts the emulator, synthesizes, creates the state bucket and runs the plan "
                  "guard on the plan it applies.",
                  "- Two AWS-provider waiters set the floor of every emulator deploy: ~55 s for a "
                  "new bucket lifecycle configuration to read back stable, ~45 s to disable and "
                  "delete a distribution. The full suite contains two deployments and one destroy.",
                  "- The cdktf diff ratios compare medians of the same re-plan with no changes."]
        levers = self.levers_table()
        if levers:
            lines += ["", "## Levers (each against its absence, medians of this run)", "",
                      "| lever | without | with | saved |", "|---|---:|---:|---:|"]
            lines += [f"| {a} | {b:.2f} s | {c:.2f} s | {b - c:.2f} s ({(b - c) / b:.0%}) |"
                      for a, b, c in levers]
        return "\n".join(lines) + "\n"

    def levers_table(self) -> list[tuple[str, float, float]]:
        pairs = [
            ("lazy provider import (constructs_lib/__init__.py), all stacks",
             "lever off: all stacks, provider __init__ imported eagerly",
             "python main.py, all stacks"),
            ("Terraform plugin cache (TF_PLUGIN_CACHE_DIR), init + validate",
             "lever off: init + validate, no plugin cache", "terraform init + validate, one stack"),
            ("pytest-xdist -n 2, tests without emulator",
             "lever off: tests without emulator, one process",
             "tests without emulator (make test-fast)"),
            ("pytest-xdist -n 2 + deployment modules first, full suite",
             "lever off: full test suite, one process", "full test suite (make test)"),
        ]
        out = []
        for label, off, on in pairs:
            if off in self.rows and on in self.rows:
                out.append((label, self.rows[off].median, self.rows[on].median))
        return out

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({
            "runs": [self.runs, self.deploy_runs, self.suite_runs],
            "rows": [{"name": r.name, "seconds": r.seconds, "rss_mb": r.rss_mb}
                     for r in self.rows.values()]}, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Bench":
        data = json.loads(path.read_text())
        bench = cls(*data["runs"])
        for r in data["rows"]:
            bench.rows[r["name"]] = Row(r["name"], r["seconds"], r["rss_mb"])
        return bench


def platform_line() -> str:
    tf = subprocess.run(["terraform", "version"], capture_output=True, text=True).stdout
    return f"Python {sys.version.split()[0]}, {tf.splitlines()[0] if tf else 'terraform ?'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deploy-runs", type=int, default=2)
    parser.add_argument("--suite-runs", type=int, default=1)
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.md")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite results.md from the raw figures in results.json")
    args = parser.parse_args()
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; "
                     f"choose from {', '.join(SECTIONS)}")
    raw = args.output.with_suffix(".json")
    if args.report_only:
        bench = Bench.load(raw)
    else:
        bench = Bench(args.runs, args.deploy_runs, args.suite_runs)
        for section in SECTIONS:
            if section in sections:
                print(f"== {section}", flush=True)
                getattr(bench, section)()
        if set(sections) != set(SECTIONS) and raw.exists():
            # A partial run updates the rows it measured and keeps the others.
            merged = Bench.load(raw)
            merged.rows.update(bench.rows)
            bench = merged
        bench.save(raw)
    text = bench.report()
    print("\n" + text)
    args.output.write_text(text)
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
