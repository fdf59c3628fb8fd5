"""The local loop end to end, as a developer lives it: `make up` (python -m ops.up, against this
module's own emulator, output directory and port, in a copy of the project where the next epic
has added its first handler) under the faults that need the whole command, then `bin/cdktf
deploy` and `destroy` of what it deployed.

One scenario, in a defined order, each step a fixture of the one before (so any test runs
alone: it runs the steps up to its own):
1. a first `make up` with its preferred port taken by another program: its emulator starts on
   another port, and is killed while Terraform creates resources;
2. `make up` again: a new emulator on the port the synthesis targets (now free again), so the
   synthesis is reused, and a fresh deployment, Ctrl-C'd while it applies; meanwhile a second
   `make up`, refused;
3. `make up` again after the handler's source was edited: it converges, deploying exactly the
   new code;
4. `make up` interrupted while it plans;
5. `bin/cdktf deploy` of a changed configuration (and a bucket policy deleted by hand): without a
   terminal, then approved in one, with a change written into the configuration after the
   plan guard checked the plan;
6. `bin/cdktf destroy`: refused until every loss is named, then with each one named.
Each fault gets one clear line and a documented exit code, and the next run converges. (Locks,
tainted resources and the plan guard's other cases are tested on the session's deployment,
test_local_deploy.py; the emulator's records in test_local_aws.py.)
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ops import local_aws
from ops.action_log import RECORD_ENV
from ops.plan_guard import STATEFUL_TYPES
from ops.toolchain import project_env
from ops.workdir import lock_holders
from stacks.errors import EXIT_BUSY, EXIT_INTERRUPTED, EXIT_REFUSED
from stacks.settings import LOCAL_ENDPOINT_ENV, LOCAL_STATE
from tests.deploy.deployment import confirmed_user, srp_tokens, state_addresses
from tests.handler_source import write_handler_source
from tests.project_copy import copy_project
from tests.wait import wait_until

pytestmark = pytest.mark.emulator
STACK = "image-service-local"
LOCK_KEY = "image-service/local/terraform.tfstate.tflock"
ACCESS_LOGS = "/aws/apigateway/image-service-local/access"


# What the next epic's first handler adds to stacks/handlers.py (CONTRIBUTING.md, "Adding a
# handler").
WITH_A_HANDLER = """

def add_handlers(stack: ImageServiceStack) -> None:  # noqa: F811 (tests/deploy/test_make_up.py)
    from pathlib import Path

    from constructs_lib.image_handler.construct import ImageHandler, ImageHandlerProps

    handler = ImageHandler(stack, "GetImage", ImageHandlerProps(
        name=f"{stack.settings.stack_name}-get-image",
        source_dir=Path("handlers/get_image"),
        handler="app.handler",
    ))
    stack.table.grant_read_data(handler)
    stack.add_service_environment(handler)
    stack.api.integrate("GET /images/{imageId}", handler)
"""
FUNCTION = "image-service-local-get-image"


def project_with_a_handler(root: Path) -> Path:
    """A copy of this project (tests/project_copy.py) in which the next epic has added its
    first handler."""
    copy_project(root)
    write_handler_source(root / "handlers" / "get_image")
    handlers = root / "stacks" / "handlers.py"
    handlers.write_text(handlers.read_text() + WITH_A_HANDLER)
    return root


class Up:
    """`make up` for this module: in a copy of the project with a handler, with its own run
    directory (emulator), output and port."""

    def __init__(self, root: Path):
        self.project = project_with_a_handler(root / "project")
        self.run_dir, self.outdir = root / "local-aws", root / "cdktf.out"
        self.port = local_aws.free_port()
        self.log = root / "up.log"
        # Every call each of the scenario's emulators is sent (ops/action_log.py).
        self.calls = root / "calls.jsonl"

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
            cwd=self.project,
            env=project_env({RECORD_ENV: str(self.calls)}),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text()

    def wait_for(self, proc: subprocess.Popen, text: str) -> None:
        def printed() -> bool:
            assert proc.poll() is None, f"exited before {text!r}:\n{self.output()}"
            return text in self.output()

        wait_until(printed, f"printed {text!r}", timeout=120)

    def run(self) -> int:
        return self.start().wait(timeout=300)

    def emulator(self) -> local_aws.Emulator:
        emulator = local_aws.status(self.run_dir)
        assert emulator is not None
        return emulator

    def aws(self, service: str):
        return local_aws.client(service, self.emulator().endpoint)

    def env(self) -> dict[str, str]:
        """Terraform's and bin/cdktf's environment: the emulator's credentials and endpoint
        (bin/cdktf finds `make up`'s emulator by its default run directory; this one is the
        module's own)."""
        endpoint = self.emulator().endpoint
        return project_env(
            {
                **{
                    k: v
                    for k, v in local_aws.client_env(endpoint).items()
                    if k != "AWS_ENDPOINT_URL"
                },
                LOCAL_ENDPOINT_ENV: endpoint,
            }
        )

    def locked(self) -> bool:
        listed = self.aws("s3").list_objects_v2(Bucket=LOCAL_STATE.bucket, Prefix=LOCK_KEY)
        return listed.get("KeyCount", 0) > 0

    def bin_cdktf(self, command: str, *extra: str) -> list[str]:
        return [
            str(self.project / "bin" / "cdktf"),
            command,
            STACK,
            "--skip-synth",
            "--output",
            str(self.outdir),
            *extra,
        ]


@dataclass
class Run:
    code: int
    output: str


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    up = Up(tmp_path_factory.mktemp("make-up"))
    yield up
    local_aws.down(up.run_dir)


def _clean_exit(output: str) -> None:
    assert "Traceback" not in output, output


def _last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


# ---- 1. a taken port; the emulator killed mid-apply -------------------------------------------
def squat(port: int) -> socket.socket:
    """Another program listening on `port` (127.0.0.1)."""
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", port))
    squatter.listen(1)
    return squatter


@dataclass
class Killed(Run):
    emulator: local_aws.Emulator
    terraform_left: list[int]


@pytest.fixture(scope="module")
def killed(up) -> Killed:
    squatter = squat(up.port)
    try:
        proc = up.start()
        up.wait_for(proc, "Creating...")
    finally:
        squatter.close()
    emulator = up.emulator()
    os.kill(emulator.pid, signal.SIGKILL)
    code = proc.wait(timeout=120)
    return Killed(code, up.output(), emulator, lock_holders(up.stack_dir))


def test_a_taken_port_starts_the_emulator_on_another(up, killed):
    assert killed.emulator.port != up.port
    assert f"==> local AWS emulator at {killed.emulator.endpoint}" in killed.output


def test_the_emulator_dying_mid_apply_is_named_and_terraform_stopped(killed):
    assert killed.code == 2, killed.output
    _clean_exit(killed.output)
    assert _last_line(killed.output).startswith(
        f"error: the local AWS emulator (pid {killed.emulator.pid}, {killed.emulator.endpoint}) "
        "stopped while `make up` was deploying"
    )
    assert "Fix: run `make up` again" in killed.output
    assert killed.terraform_left == []


# ---- 2. a new emulator and a fresh deployment; Ctrl-C mid-apply; a second make up meanwhile ----
@dataclass
class Interrupted(Run):
    second: subprocess.CompletedProcess
    first_pid: int
    first_still_ran: bool
    emulator: local_aws.Emulator
    terraform_left: list[int]
    locked: bool


@pytest.fixture(scope="module")
def interrupted(up, killed) -> Interrupted:
    proc = up.start()
    up.wait_for(proc, "Creating...")
    second = subprocess.run(
        up.command, cwd=up.project, env=project_env(), capture_output=True, text=True, timeout=60
    )
    still_ran = proc.poll() is None
    os.killpg(proc.pid, signal.SIGINT)
    code = proc.wait(timeout=120)
    return Interrupted(
        code,
        up.output(),
        second,
        proc.pid,
        still_ran,
        up.emulator(),
        lock_holders(up.stack_dir),
        up.locked(),
    )


def test_after_the_emulator_died_a_new_one_gets_a_fresh_deployment(killed, interrupted):
    # The port the synthesis targets, free again: the synthesis (and an exported endpoint) stays
    # valid.
    assert interrupted.emulator.pid != killed.emulator.pid
    assert interrupted.emulator.port == killed.emulator.port
    assert "the last synthesis is current: no source changed" in interrupted.output
    assert "first deployment into an empty state (nothing to guard): apply" in interrupted.output


def test_ctrl_c_mid_apply_lets_the_apply_finish_and_exits_130(interrupted):
    assert interrupted.code == EXIT_INTERRUPTED, interrupted.output
    _clean_exit(interrupted.output)
    assert "interrupt: letting terraform apply in image-service-local finish" in (
        interrupted.output
    )
    assert _last_line(interrupted.output).startswith(
        "interrupted: `make up` stopped during terraform apply in image-service-local"
    )
    assert "Apply complete!" in interrupted.output  # nothing half-created
    assert interrupted.terraform_left == [] and not interrupted.locked


def test_a_second_make_up_is_told_at_once_naming_the_first(interrupted):
    second = interrupted.second
    assert second.returncode == EXIT_BUSY, second.stdout + second.stderr
    assert interrupted.first_still_ran  # refused while the first was still applying
    assert f"image-service-local is busy: `make up` (pid {interrupted.first_pid}" in second.stderr
    _clean_exit(second.stderr)


# ---- 3. converged, with the handler's code changed -----------------------------------------------
@dataclass
class Converged(Run):
    code_before: str
    code_after: str


@pytest.fixture(scope="module")
def converged(up, interrupted) -> Converged:
    """`make up` after the Ctrl-C'd apply, with the handler's source edited meanwhile (issue 25,
    bug 2: make up took its synthesis for current and deployed the old code)."""
    lambda_ = up.aws("lambda")
    before = lambda_.get_function(FunctionName=FUNCTION)["Configuration"]["CodeSha256"]
    source = up.project / "handlers" / "get_image" / "app.py"
    source.write_text(source.read_text().replace("200", "203"))
    code = up.run()
    after = lambda_.get_function(FunctionName=FUNCTION)["Configuration"]["CodeSha256"]
    return Converged(code, up.output(), before, after)


def test_the_next_run_converges_deploying_exactly_the_edited_handler(up, converged):
    """Nothing else is left to do after the interrupted apply (it finished), and the edited
    source is synthesized again and deployed: the function's code is what the folder holds."""
    assert converged.code == 0, converged.output
    assert "reusing the local AWS emulator and synthesizing" in converged.output
    assert "Apply complete! Resources: 0 added, 1 changed, 0 destroyed." in converged.output
    assert "aws_lambda_function.GetImage_Function" in converged.output
    assert converged.code_after != converged.code_before
    assert [
        p["Name"] for p in up.aws("cognito-idp").list_user_pools(MaxResults=10)["UserPools"]
    ] == ["image-service-local"]
    assert [a["Name"] for a in up.aws("apigatewayv2").get_apis()["Items"]] == [STACK]
    assert "image-service-local outputs:" in converged.output


def test_make_up_serves_the_api_and_the_edited_handler_through_the_local_gateway(up, converged):
    """The handler the next epic added answers through the gateway `make up` started, with a
    real user's token, as its folder now reads (203); the URLs are printed and in the env file."""
    import urllib.request

    from ops.gateway import daemon

    gateway = daemon.status(up.run_dir)
    assert gateway is not None, converged.output
    assert f"API (local gateway)        {gateway.api_url}" in converged.output
    assert f"export IMAGE_SERVICE_CDN_URL={gateway.cdn_url}" in (up.run_dir / "env").read_text()
    idp = up.aws("cognito-idp")
    [pool] = idp.list_user_pools(MaxResults=10)["UserPools"]
    [client] = idp.list_user_pool_clients(UserPoolId=pool["Id"])["UserPoolClients"]
    email, password = confirmed_user(idp, pool["Id"], client["ClientId"], "up")
    token = srp_tokens(idp, pool["Id"], client["ClientId"], email, password)["AccessToken"]
    request = urllib.request.Request(
        f"{gateway.api_url}/images/lego-42", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=60) as resp:
        assert (resp.status, resp.read()) == (203, b"lego-42")


# ---- 4. Ctrl-C mid-plan ------------------------------------------------------------------------
@dataclass
class PlanInterrupted(Run):
    terraform_left: list[int]
    locked: bool


@pytest.fixture(scope="module")
def plan_interrupted(up, converged) -> PlanInterrupted:
    proc = up.start()
    up.wait_for(proc, "plan, plan guard")
    # Terraform holds the state lock while it plans: interrupt it then.
    wait_until(lambda: up.locked() or proc.poll() is not None, "planning", timeout=120)
    os.killpg(proc.pid, signal.SIGINT)
    code = proc.wait(timeout=120)
    return PlanInterrupted(code, up.output(), lock_holders(up.stack_dir), up.locked())


def test_ctrl_c_mid_plan_exits_130_and_leaves_no_lock(plan_interrupted):
    assert plan_interrupted.code == EXIT_INTERRUPTED, plan_interrupted.output
    _clean_exit(plan_interrupted.output)
    assert "interrupted: `make up` stopped during terraform plan" in plan_interrupted.output
    assert plan_interrupted.terraform_left == [] and not plan_interrupted.locked


# ---- 5. bin/cdktf deploy -----------------------------------------------------------------------
def _retention(up) -> int:
    [group] = up.aws("logs").describe_log_groups(logGroupNamePrefix=ACCESS_LOGS)["logGroups"]
    return group["retentionInDays"]


def _with_retention(config: dict, days: int) -> dict:
    [group] = [
        g
        for g in config["resource"]["aws_cloudwatch_log_group"].values()
        if g["name"] == ACCESS_LOGS
    ]
    group["retention_in_days"] = days
    return config


def _bucket_policy(up) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        policy = up.aws("s3").get_bucket_policy(Bucket="images-lego-moc-local")["Policy"]
    except ClientError:
        return None
    return json.loads(policy)


APPROVAL_PROMPT = b"Only 'yes' applies: "


def in_a_terminal(
    args: list[str], cwd: Path, env: dict[str, str], answer, timeout: float = 300
) -> Run:
    """Run `args` with a pseudo-terminal as its stdin and output, as in a developer's shell;
    when it asks for approval, `answer()` says what to type."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        args, cwd=cwd, env=env, stdin=child, stdout=child, stderr=child, start_new_session=True
    )
    os.close(child)
    output, answered = b"", False
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, output.decode(errors="replace")[-3000:]
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the child has exited and closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if not answered and output.endswith(APPROVAL_PROMPT):
                os.write(main, answer().encode() + b"\n")
                answered = True
        elif proc.poll() is not None:
            break
    os.close(main)
    return Run(proc.wait(timeout=60), output.decode(errors="replace").replace("\r\n", "\n"))


@dataclass
class DeployFlow:
    unattended: subprocess.CompletedProcess
    retention_after_unattended: int
    policy_after_unattended: dict | None
    approved: Run
    retention_after_approved: int
    policy_after_approved: dict | None
    table_tags_after_approved: dict[str, str]


@pytest.fixture(scope="module")
def deploy_flow(up, plan_interrupted) -> DeployFlow:
    """A changed setting (the API's access logs kept 60 days instead of 14) and a drift (the
    bucket policy deleted by hand), deployed with `bin/cdktf deploy`: first without a terminal,
    then in one, where a change is written into the configuration after the plan guard checked
    the plan and before `yes` is typed."""
    env = up.env()
    config_file = up.stack_dir / "cdk.tf.json"
    checked = json.dumps(_with_retention(json.loads(config_file.read_text()), 60))
    config_file.write_text(checked)
    up.aws("s3").delete_bucket_policy(Bucket="images-lego-moc-local")
    deploy = up.bin_cdktf("deploy")
    unattended = subprocess.run(
        deploy, cwd=up.project, env=env, text=True, capture_output=True, stdin=subprocess.DEVNULL
    )
    after_unattended = (_retention(up), _bucket_policy(up))

    def change_after_the_check() -> str:
        late = json.loads(config_file.read_text())
        [table] = late["resource"]["aws_dynamodb_table"].values()
        table["tags"] = {"Late": "unchecked"}
        config_file.write_text(json.dumps(late))
        return "yes"

    approved = in_a_terminal(deploy, up.project, env, change_after_the_check)
    table_arn = up.aws("dynamodb").describe_table(TableName="ImageMetadata-local")["Table"][
        "TableArn"
    ]
    tags = up.aws("dynamodb").list_tags_of_resource(ResourceArn=table_arn)["Tags"]
    after_approved = (_retention(up), _bucket_policy(up), {t["Key"]: t["Value"] for t in tags})
    return DeployFlow(unattended, *after_unattended, approved, *after_approved)


def test_deploy_without_a_terminal_shows_the_plan_and_applies_nothing(deploy_flow):
    unattended = deploy_flow.unattended
    assert unattended.returncode == 2, unattended.stdout + unattended.stderr
    assert "needs approval, and there is no terminal to ask in; nothing was applied" in (
        unattended.stderr
    )
    assert "retention_in_days = 14 -> 60" in unattended.stdout  # the plan, shown
    assert "aws_s3_bucket_policy." in unattended.stdout and "will be created" in unattended.stdout
    _clean_exit(unattended.stderr)
    assert deploy_flow.retention_after_unattended == 14
    assert deploy_flow.policy_after_unattended is None


def test_deploy_applies_exactly_the_plan_approved_in_the_terminal(deploy_flow):
    """The checked change and the repaired drift are applied; the change written after the
    check is not (Terraform applies the saved plan as saved)."""
    approved = deploy_flow.approved
    assert approved.code == 0, approved.output
    assert "retention_in_days = 14 -> 60" in approved.output
    assert "Apply exactly this plan to image-service-local? Only 'yes' applies:" in (
        approved.output
    )
    assert "Apply complete! Resources: 1 added, 1 changed, 0 destroyed." in approved.output
    assert "  TableName = ImageMetadata-local" in approved.output
    assert deploy_flow.retention_after_approved == 60
    assert deploy_flow.policy_after_approved is not None
    assert {s["Sid"] for s in deploy_flow.policy_after_approved["Statement"]} == {
        "AllowCloudFrontRead"
    }
    assert "Late" not in deploy_flow.table_tags_after_approved


# ---- 6. bin/cdktf destroy ----------------------------------------------------------------------
def _stateful(up) -> list[str]:
    config = json.loads((up.stack_dir / "cdk.tf.json").read_text())
    return sorted(
        f"{tf_type}.{name}"
        for tf_type in STATEFUL_TYPES
        for name in config["resource"].get(tf_type, {})
    )


@dataclass
class Refused:
    proc: subprocess.CompletedProcess
    stateful: list[str]
    state: list[str]


@pytest.fixture(scope="module")
def destroy_refused(up, deploy_flow) -> Refused:
    stateful = _stateful(up)
    proc = subprocess.run(
        up.bin_cdktf("destroy", "--auto-approve", "--allow-data-loss", stateful[0]),
        cwd=up.project,
        env=up.env(),
        text=True,
        capture_output=True,
    )
    return Refused(proc, stateful, state_addresses(up.aws("s3"), up.stack_dir))


def test_destroy_is_refused_until_each_loss_is_named(destroy_refused):
    proc, stateful = destroy_refused.proc, destroy_refused.stateful
    assert proc.returncode == EXIT_REFUSED, proc.stdout + proc.stderr
    assert f"refusing the plan for {STACK}" in proc.stderr
    for address in stateful[1:]:
        assert f"delete {address}" in proc.stderr
    assert f"delete {stateful[0]}" not in proc.stderr
    assert set(stateful) <= set(destroy_refused.state)


@dataclass
class Destroyed:
    proc: subprocess.CompletedProcess
    state: list[str]
    distribution_id: str


@pytest.fixture(scope="module")
def destroyed(up, destroy_refused) -> Destroyed:
    [distribution] = up.aws("cloudfront").list_distributions()["DistributionList"]["Items"]
    named = [arg for address in destroy_refused.stateful for arg in ("--allow-data-loss", address)]
    proc = subprocess.run(
        up.bin_cdktf("destroy", "--auto-approve", *named),
        cwd=up.project,
        env=up.env(),
        text=True,
        capture_output=True,
    )
    state = state_addresses(up.aws("s3"), up.stack_dir)
    return Destroyed(proc, state, distribution["Id"])


def test_with_every_loss_named_destroy_removes_everything_but_the_state_bucket(up, destroyed):
    assert destroyed.proc.returncode == 0, destroyed.proc.stdout[-3000:] + destroyed.proc.stderr
    assert destroyed.state == []
    assert "ImageMetadata-local" not in up.aws("dynamodb").list_tables()["TableNames"]
    buckets = [b["Name"] for b in up.aws("s3").list_buckets()["Buckets"]]
    assert buckets == [LOCAL_STATE.bucket]
    assert up.aws("apigatewayv2").get_apis()["Items"] == []
    assert up.aws("cognito-idp").list_user_pools(MaxResults=10)["UserPools"] == []
    # retain_on_delete: Terraform forgot the (disabled) distribution instead of deleting it.
    listed = up.aws("cloudfront").list_distributions()["DistributionList"]["Items"]
    assert [(d["Id"], d["Enabled"]) for d in listed] == [(destroyed.distribution_id, False)]


def test_the_deploy_role_is_granted_every_action_the_local_loop_called(
    up, destroyed, stacks, catalogue
):
    """Issue 35: each AWS action Terraform called for image-service-local in the whole
    scenario (applies, re-plans, the deploy and the destroy; not the account's bootstrap,
    which an administrator applies) is one its deploy role may do."""
    from tests.policies.recorded import missing_grants

    missing = missing_grants(
        catalogue,
        stacks["image-service-state-local"].json,
        "image-service-deploy-local",
        [up.calls],
        STACK,
    )
    assert missing == []
