"""ImageHandlerProps: one Lambda handler (constructs_lib/image_handler/)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from constructs_lib.errors import Problem
from constructs_lib.metrics import Threshold, alarm_problems
from constructs_lib.validation import retention_problems

if TYPE_CHECKING:
    from constructs_lib.network.construct import Network

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


@dataclass(frozen=True)
class HandlerAlarms:
    """A handler's alarms (constructs_lib/image_handler/alarms.py), AWS's recommended ones."""

    #: Errors per minute, 3 of 3. Default: any.
    errors: Threshold = Threshold(0, 3)
    #: Throttles per minute, 5 of 5. Default: any.
    throttles: Threshold = Threshold(0, 5)
    #: p90 duration above this fraction of its timeout, 15 of 15. Default: 0.8.
    duration_of_timeout: float = 0.8

    def problems(self) -> list[Problem]:
        found = alarm_problems(self)
        if not 0 < self.duration_of_timeout <= 1:
            found.append(
                Problem(
                    "duration_of_timeout",
                    f"{self.duration_of_timeout} is not a fraction of the timeout",
                    "use a fraction in (0, 1], e.g. 0.8",
                )
            )
        return found


@dataclass(frozen=True)
class ImageHandlerProps:
    """ImageHandler: one Lambda function with its own role, log group and exactly the access it
    is granted (table.grant_read_data(handler), bucket.grant_put(handler), ...)."""

    #: The function name (1-64 letters, digits, '-', '_'); its role is named `<name>-role`, so
    #: at most 59 characters here.
    name: str
    #: The folder packaged as the function's zip when the stack is synthesized.
    source_dir: Path
    #: `module.function` inside source_dir, e.g. "app.handler" for app.py's `handler`.
    handler: str
    #: Default: "python3.12".
    runtime: str = "python3.12"
    #: "x86_64" or "arm64". Default: "x86_64" (wheels with native code are built for it).
    architecture: str = "x86_64"
    #: MB, 128-10,240. Default: 256.
    memory_mb: int = 256
    #: Seconds, 1-900. An HTTP API gives up on its integration after 30 s. Default: 10.
    timeout_seconds: int = 10
    #: Variables the code reads; the stack adds the service's own with
    #: `stack.add_service_environment(handler)`. Default: none.
    environment: Mapping[str, str] = field(default_factory=dict)
    #: Days the function's log group /aws/lambda/<name> keeps its logs. Default: 14.
    log_retention_days: int = 14
    #: Executions reserved for (and capped at) this function. Default: none (the account's
    #: unreserved pool).
    reserved_concurrency: int | None = None
    #: The permissions boundary of the function's role: the most it may ever be granted.
    #: Default: the stack's (the account bootstrap's image-service-boundary, which
    #: ImageServiceStack gives every role in it), else none.
    permissions_boundary_arn: str | None = None
    #: The network the function joins (`stack.network`): it runs in the network's private
    #: subnets with a security group of its own (no ingress; HTTPS to S3 and DynamoDB through
    #: the gateway endpoints), and its role gets the network-interface permissions Lambda
    #: needs. Required to `cache.grant_connect(handler)`. Default: none (Lambda's own network:
    #: the internet and every AWS API, but not the cache).
    network: Network | None = field(default=None, compare=False)
    #: Its alarms' thresholds. Default: AWS's recommended ones.
    alarms: HandlerAlarms = HandlerAlarms()

    def problems(self) -> list[Problem]:
        """Every problem with the props, each with its fix (all reported at once)."""
        return [
            *self._name_problems(),
            *self._code_problems(),
            *self._size_problems(),
            *retention_problems("log_retention_days", self.log_retention_days),
            *environment_problems(self.environment),
            *(p.within("alarms") for p in self.alarms.problems()),
        ]

    def _name_problems(self) -> list[Problem]:
        if not FUNCTION_NAME.match(self.name):
            return [
                Problem(
                    "name",
                    f"{self.name!r} is not a Lambda function name",
                    "use 1-64 letters, digits, '-' or '_'",
                )
            ]
        if len(self.name) + len(ROLE_SUFFIX) > 64:
            return [
                Problem(
                    "name",
                    f"{self.name!r} is {len(self.name)} characters; its role "
                    f"'{self.name}{ROLE_SUFFIX}' would pass IAM's 64",
                    f"shorten the name to at most {64 - len(ROLE_SUFFIX)} characters",
                )
            ]
        return []

    def _code_problems(self) -> list[Problem]:
        found = []
        source = Path(self.source_dir)
        if not source.is_dir():
            found.append(
                Problem(
                    "source_dir",
                    f"'{source}' is not a folder (resolved from {os.getcwd()})",
                    "point source_dir at the folder holding the handler's code",
                )
            )
        if not HANDLER.match(self.handler):
            found.append(
                Problem(
                    "handler",
                    f"{self.handler!r} is not of the form module.function",
                    "name the file and the function in it, e.g. 'app.handler' for app.py's handler",
                )
            )
        elif self.runtime.startswith("python") and source.is_dir():
            module = self.handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
            if not (source / module).is_file():
                found.append(
                    Problem(
                        "handler",
                        f"{self.handler!r} needs {module} in '{source}', which has none",
                        f"add {module} to the folder, or name the module it has",
                    )
                )
        return found

    def _size_problems(self) -> list[Problem]:
        found = []
        if self.architecture not in ARCHITECTURES:
            found.append(
                Problem(
                    "architecture",
                    f"{self.architecture!r} is not one Lambda offers",
                    "use " + " or ".join(ARCHITECTURES),
                )
            )
        if not 128 <= self.memory_mb <= 10_240:
            found.append(
                Problem("memory_mb", f"{self.memory_mb} is outside 128-10240", "use 128-10240 MB")
            )
        if not 1 <= self.timeout_seconds <= 900:
            found.append(
                Problem(
                    "timeout_seconds",
                    f"{self.timeout_seconds} is outside 1-900",
                    "use 1-900 seconds",
                )
            )
        if self.reserved_concurrency is not None and self.reserved_concurrency < 0:
            found.append(
                Problem(
                    "reserved_concurrency",
                    f"{self.reserved_concurrency} is negative",
                    "use 0 (switched off) or more, or None for the unreserved pool",
                )
            )
        return found


def environment_problems(environment: Mapping[str, str]) -> list[Problem]:
    found = []
    for name in environment:
        if name in RESERVED_ENVIRONMENT:
            found.append(
                Problem(
                    "environment",
                    f"{name!r} is reserved by the Lambda runtime",
                    "choose another name (the runtime sets this one itself)",
                )
            )
        elif not ENVIRONMENT_NAME.match(name):
            found.append(
                Problem(
                    "environment",
                    f"{name!r} is not a variable name Lambda accepts",
                    "start with a letter; use letters, digits and '_'",
                )
            )
    return found
