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
import re
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from constructs import Construct

from constructs_lib.errors import ConstructError
from constructs_lib.props import LOG_RETENTION_DAYS
from constructs_lib.props import ImageHandlerProps as ImageHandlerProps

ROLE_SUFFIX = "-role"
FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
HANDLER = re.compile(r"^[A-Za-z_][\w./-]*\.[A-Za-z_]\w*$")
ENVIRONMENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
ARCHITECTURES = ("x86_64", "arm64")
# Variables the Lambda runtime sets itself; Lambda refuses a function that sets them.
RESERVED_ENVIRONMENT = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_REGION",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
    }
)
# Not packaged: interpreter caches differ from machine to machine and are rebuilt by Lambda.
EXCLUDED_DIRS = frozenset({"__pycache__", ".git", ".pytest_cache", ".mypy_cache"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: the same for every build
LOG_WRITE_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


def _problems(props: ImageHandlerProps) -> list[tuple[str, str]]:
    """Every problem with the props, each with its fix (all reported at once)."""
    found: list[tuple[str, str]] = []
    if not FUNCTION_NAME.match(props.name):
        found.append(
            (
                f"name {props.name!r} is not a Lambda function name",
                "use 1-64 letters, digits, '-' or '_'",
            )
        )
    elif len(props.name) + len(ROLE_SUFFIX) > 64:
        found.append(
            (
                f"name {props.name!r} is {len(props.name)} characters; its role "
                f"'{props.name}{ROLE_SUFFIX}' would pass IAM's 64",
                f"shorten the name to at most {64 - len(ROLE_SUFFIX)} characters",
            )
        )
    source = Path(props.source_dir)
    if not source.is_dir():
        found.append(
            (
                f"source_dir '{source}' is not a folder (resolved from {os.getcwd()})",
                "point source_dir at the folder holding the handler's code",
            )
        )
    if not HANDLER.match(props.handler):
        found.append(
            (
                f"handler {props.handler!r} is not of the form module.function",
                "name the file and the function in it, e.g. 'app.handler' for app.py's handler",
            )
        )
    elif props.runtime.startswith("python") and source.is_dir():
        module = props.handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
        if not (source / module).is_file():
            found.append(
                (
                    f"handler {props.handler!r} needs {module} in '{source}', which has none",
                    f"add {module} to the folder, or name the module it has",
                )
            )
    if props.architecture not in ARCHITECTURES:
        found.append(
            (
                f"architecture {props.architecture!r} is not one Lambda offers",
                "use " + " or ".join(ARCHITECTURES),
            )
        )
    if not 128 <= props.memory_mb <= 10_240:
        found.append((f"memory_mb {props.memory_mb} is outside 128-10240", "use 128-10240 MB"))
    if not 1 <= props.timeout_seconds <= 900:
        found.append(
            (f"timeout_seconds {props.timeout_seconds} is outside 1-900", "use 1-900 seconds")
        )
    if props.log_retention_days not in LOG_RETENTION_DAYS:
        found.append(
            (
                f"log_retention_days {props.log_retention_days} is not a period CloudWatch "
                "Logs accepts",
                "use one of " + ", ".join(map(str, LOG_RETENTION_DAYS)),
            )
        )
    if props.reserved_concurrency is not None and props.reserved_concurrency < 0:
        found.append(
            (
                f"reserved_concurrency {props.reserved_concurrency} is negative",
                "use 0 (switched off) or more, or None for the unreserved pool",
            )
        )
    found.extend(_environment_problems(props.environment))
    return found


def _environment_problems(environment: Mapping[str, str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name in environment:
        if name in RESERVED_ENVIRONMENT:
            found.append(
                (
                    f"environment variable {name!r} is reserved by the Lambda runtime",
                    "choose another name (the runtime sets this one itself)",
                )
            )
        elif not ENVIRONMENT_NAME.match(name):
            found.append(
                (
                    f"environment variable {name!r} is not a name Lambda accepts",
                    "start with a letter; use letters, digits and '_'",
                )
            )
    return found


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
        problems = _problems(props)
        if problems:  # before joining the construct tree: a refused handler leaves no trace
            raise ConstructError(f"ImageHandler '{props.name}'", problems)
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
        trust = DataAwsIamPolicyDocument(
            self,
            "TrustPolicy",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    effect="Allow",
                    actions=["sts:AssumeRole"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Service", identifiers=["lambda.amazonaws.com"]
                        )
                    ],
                )
            ],
        )
        self.role = IamRole(
            self, "Role", name=f"{props.name}{ROLE_SUFFIX}", assume_role_policy=trust.json
        )
        self._statements: list[DataAwsIamPolicyDocumentStatement] = []
        self._sids: set[str] = set()
        self._policy_document = DataAwsIamPolicyDocument(self, "PolicyDocument")
        self.role_policy = IamRolePolicy(
            self,
            "Policy",
            name=f"{props.name}-access",
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
            # The log group first: the first invocation's logs land in it, with its retention,
            # and the role may write them (the function cannot create a group of its own).
            depends_on=[self.log_group, self.role_policy],
        )
        for name, value in props.environment.items():
            self.add_environment(name, value)

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
        problems = _environment_problems({name: value})
        if problems:
            raise ConstructError(f"ImageHandler '{self.props.name}'", problems)
        self._environment[name] = value
        self.function.put_environment(variables=dict(self._environment))

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
