"""One Lambda handler of the Image Service: its code, its own role, its log group, and exactly the
access the stack's constructs grant it.

    handler = ImageHandler(stack, "GetImage", ImageHandlerProps(
        name="image-service-dev-get-image", source_dir=Path("handlers/get_image"),
        handler="app.handler"))
    stack.table.grant_read_data(handler)
    stack.api.integrate("GET /images/{imageId}", handler)

The role trusts lambda.amazonaws.com only and starts with one permission: writing to the
function's own log group. Every grant adds a statement to the role's one inline policy (a policy
document filled as grants arrive, like BucketSecurity's bucket policy).

The code is zipped here, not by cdktf's ARCHIVE asset: that zip stamps each file with its
modification time, so a fresh checkout of unchanged code would show every function as changed in
review. Ours is reproducible (sorted entries, fixed timestamps, no __pycache__), and its SHA-256
is the function's `source_code_hash`, so a plan shows a code change exactly when the code changed.
The zip is handed to cdktf's TerraformAsset, which copies it into the synthesized stack.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
import zipfile
from pathlib import Path

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction, LambdaFunctionVpcConfig
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from constructs import Construct

from constructs_lib.errors import ConstructError
from constructs_lib.grants import service_trust
from constructs_lib.image_handler import alarms
from constructs_lib.image_handler.permissions import LAMBDA_VPC_ACCESS_ACTIONS
from constructs_lib.image_handler.props import ROLE_SUFFIX, environment_problems
from constructs_lib.image_handler.props import ImageHandlerProps as ImageHandlerProps
from constructs_lib.metrics import Metric
from constructs_lib.monitoring.construct import Monitoring, monitoring_of
from constructs_lib.shared import PERMISSIONS_BOUNDARY_CONTEXT
from constructs_lib.validation import check

# Not packaged: interpreter caches differ from machine to machine and are rebuilt by Lambda.
EXCLUDED_DIRS = frozenset({"__pycache__", ".git", ".pytest_cache", ".mypy_cache"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: the same for every build
LOG_WRITE_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


def package(source_dir: Path) -> Path:
    """The folder as a reproducible zip: the same bytes for the same files on every machine.

    Content-addressed in the temporary directory (written whole, then renamed into place), so
    synthesizing twice, or two syntheses at once, reuse or replace it harmlessly."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(_files(source_dir)):
            entry = zipfile.ZipInfo(path.relative_to(source_dir).as_posix(), ZIP_TIMESTAMP)
            entry.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes())
    data = buffer.getvalue()
    folder = Path(tempfile.gettempdir()) / "image-service-handlers"
    folder.mkdir(exist_ok=True)
    target = folder / hashlib.sha256(data).hexdigest() / "code.zip"
    if not target.exists():
        target.parent.mkdir(exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(data)
        os.replace(partial, target)
    return target


def _files(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in EXCLUDED_DIRS]
        found += [Path(root, f) for f in files if not f.endswith(EXCLUDED_SUFFIXES)]
    return found


def code_sha256(zip_file: Path) -> str:
    """The zip's SHA-256 in base64: what Lambda reports as CodeSha256."""
    return base64.b64encode(hashlib.sha256(zip_file.read_bytes()).digest()).decode()


class ImageHandler(Construct):
    """A Lambda function with a role of its own; grant it access with the other constructs'
    grant methods (they call `add_to_role_policy`) and route requests to it with
    `ImageApi.integrate`."""

    def __init__(self, scope: Construct, id_: str, props: ImageHandlerProps):
        # Before joining the construct tree: a refused handler leaves no trace.
        check(props, f"ImageHandler '{props.name}'")
        super().__init__(scope, id_)
        self.props = props
        zip_file = package(Path(props.source_dir))
        self.code = TerraformAsset(self, "Code", path=str(zip_file), type=AssetType.FILE)

        self.log_group = CloudwatchLogGroup(
            self,
            "LogGroup",
            name=f"/aws/lambda/{props.name}",
            retention_in_days=props.log_retention_days,
        )
        self._create_role(props.name)
        #: The network it runs in (props.network) and its security group there, or None.
        self.network = props.network
        self.security_group = self._join_network() if props.network else None

        self._environment: dict[str, str] = {}
        self.function = LambdaFunction(
            self,
            "Function",
            function_name=props.name,
            role=self.role.arn,
            runtime=props.runtime,
            handler=props.handler,
            architectures=[props.architecture],
            memory_size=props.memory_mb,
            timeout=props.timeout_seconds,
            filename=self.code.path,
            source_code_hash=code_sha256(zip_file),
            reserved_concurrent_executions=props.reserved_concurrency,
            vpc_config=LambdaFunctionVpcConfig(
                subnet_ids=props.network.private_subnet_ids,
                security_group_ids=[self.security_group.id],
            )
            if props.network and self.security_group
            else None,
            # The log group first: the first invocation's logs land in it, with its retention,
            # and the role may write them (the function cannot create a group of its own).
            depends_on=[self.log_group, self.role_policy],
        )
        for name, value in props.environment.items():
            self.add_environment(name, value)
        # Its errors, throttles and duration alarms, where the stack has monitoring.
        monitoring = monitoring_of(self)
        if monitoring is not None:
            monitoring.watch(self)

    def _create_role(self, name: str) -> None:
        """The function's own role: Lambda may assume it, and its one inline policy starts
        with writing the function's logs (grants add the rest)."""
        trust = service_trust(self, "TrustPolicy", "lambda.amazonaws.com")
        boundary = self.props.permissions_boundary_arn or self.node.try_get_context(
            PERMISSIONS_BOUNDARY_CONTEXT
        )
        self.role = IamRole(
            self,
            "Role",
            name=f"{name}{ROLE_SUFFIX}",
            assume_role_policy=trust.json,
            # The deploy role may create this role only with the account's boundary on it.
            permissions_boundary=boundary,
        )
        self._statements: list[DataAwsIamPolicyDocumentStatement] = []
        self._sids: set[str] = set()
        self._policy_document = DataAwsIamPolicyDocument(self, "PolicyDocument")
        self.role_policy = IamRolePolicy(
            self,
            "Policy",
            name=f"{name}-access",
            role=self.role.id,
            policy=self._policy_document.json,
        )
        self.add_to_role_policy(
            DataAwsIamPolicyDocumentStatement(
                sid="WriteOwnLogs",
                effect="Allow",
                actions=list(LOG_WRITE_ACTIONS),
                resources=[f"{self.log_group.arn}:*"],
            )
        )

    def _join_network(self) -> SecurityGroup:
        """A security group of its own in the network, and the network-interface actions
        Lambda performs with the function's role to place it there (AWS's managed
        AWSLambdaVPCAccessExecutionRole's EC2 actions, which EC2 authorizes only on every
        resource: permissions.py, LAMBDA_VPC_ACCESS_ACTIONS)."""
        assert self.props.network is not None
        name = self.props.name
        group = self.props.network.security_group(
            self, "SecurityGroup", name, f"{name}: the handler; nothing may connect to it"
        )
        self.add_to_role_policy(
            DataAwsIamPolicyDocumentStatement(
                sid="NetworkInterfaces",
                effect="Allow",
                actions=list(LAMBDA_VPC_ACCESS_ACTIONS),
                resources=["*"],
            )
        )
        return group

    def add_to_role_policy(self, statement: DataAwsIamPolicyDocumentStatement) -> None:
        """Add a statement to the role's one inline policy (the grant methods call this). IAM
        wants statement ids unique in a policy: a repeated one gets a number."""
        sid = statement.sid
        if sid:
            unique, n = sid, 2
            while unique in self._sids:
                unique, n = f"{sid}{n}", n + 1
            if unique != sid:
                statement = DataAwsIamPolicyDocumentStatement(
                    sid=unique,
                    effect=statement.effect,
                    actions=statement.actions,
                    resources=statement.resources,
                    condition=statement.condition,
                )
            self._sids.add(unique)
        self._statements.append(statement)
        self._policy_document.put_statement(self._statements)

    def add_environment(self, name: str, value: str) -> None:
        """Set an environment variable of the function (a value may be a reference, e.g. a
        table's name)."""
        problems = environment_problems({name: value})
        if problems:
            raise ConstructError(f"ImageHandler '{self.props.name}'", problems)
        self._environment[name] = value
        self.function.put_environment(variables=dict(self._environment))

    # ---- metrics (AWS/Lambda, by FunctionName) ---------------------------------------------
    def _metric(self, name: str, statistic: str) -> Metric:
        return Metric("AWS/Lambda", name, {"FunctionName": self.props.name}, statistic, label=name)

    def metric_invocations(self) -> Metric:
        return self._metric("Invocations", "Sum")

    def metric_errors(self) -> Metric:
        """Invocations that failed (Sum): an exception, a timeout, out of memory."""
        return self._metric("Errors", "Sum")

    def metric_throttles(self) -> Metric:
        """Invocations refused for concurrency (Sum)."""
        return self._metric("Throttles", "Sum")

    def metric_duration(self, statistic: str = "p90") -> Metric:
        """Milliseconds per invocation."""
        return self._metric("Duration", statistic)

    @property
    def function_name(self) -> str:
        return self.function.function_name

    @property
    def arn(self) -> str:
        return self.function.arn

    @property
    def invoke_arn(self) -> str:
        return self.function.invoke_arn

    @property
    def role_arn(self) -> str:
        return self.role.arn

    @property
    def role_name(self) -> str:
        return self.role.name

    def add_alarms(self, monitoring: Monitoring) -> None:
        """AWS's recommended alarms on the handler, and its graph (alarms.py)."""
        alarms.add_alarms(monitoring, self)
