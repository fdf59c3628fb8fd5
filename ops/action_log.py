"""The local emulator, recording every AWS API call Terraform makes to it, and those calls as the
IAM actions they need.

    python -m ops.action_log FILE [moto_server's arguments]   the emulator, recording to FILE
    python -m ops.action_log actions FILE                     the IAM actions FILE's calls need

`ops.local_aws.up(record_to=FILE)` (or IMAGE_SERVICE_RECORD_ACTIONS=FILE in the environment of
`make up`) starts the emulator this way. Each call that moto authenticates is one JSON line:
the service it was signed for, the API operation, and who made it: Terraform (its User-Agent
names Terraform: the AWS provider and the S3 backend do), the project's own commands (they add
OPS_AGENT to theirs), or anyone else (the tests' and the local gateway's clients). moto
authorizes nothing here (it allows every call); the CI roles' policies are checked against the
record (tests/policies/recorded.py).

An API operation is mostly the IAM action of the same name in the service's prefix; the
exceptions are listed below, each from AWS's documentation: API Gateway authorizes HTTP verbs on
resource paths, CloudWatch signs as `monitoring`, S3's operations map to IAM names that differ,
CloudFront's "WithTags" creates need the create and the tagging action.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The environment variable `make up` and the tests set to record the emulator's calls.
RECORD_ENV = "IMAGE_SERVICE_RECORD_ACTIONS"
# What the project's own commands add to their SDK clients' User-Agent (bin/cdktf's destroy of a
# derived stage's state versions, the nightly clean-up), so that their calls are recorded as
# theirs: the CI roles run them too.
OPS_AGENT = "image-service-ops"
# What the restore commands add (ops/restore): an on-call engineer runs them with their own
# credentials, not a CI role, so their calls are no deploy role's to grant.
RESTORE_AGENT = "image-service-restore"
# How Terraform's calls name their stack (ops/toolchain.py, stack_agent).
_STACK = re.compile(r"image-service-stack/([A-Za-z0-9_.-]+)")

# The signing name of a request -> the IAM service prefix, where they differ.
_PREFIX = {"monitoring": "cloudwatch", "tagging": "tag", "email": "ses"}
# API Gateway's management API is authorized as the HTTP verb on the resource path
# (API Gateway's docs, "Control access to the API Gateway management API with IAM permissions":
# apigateway:GET, POST, PUT, PATCH, DELETE).
_VERB_SERVICES = ("apigateway",)
# S3 operations whose IAM action is named otherwise (S3's docs, "Required permissions for
# Amazon S3 API operations"); the rest are s3:<Operation>.
_S3 = {
    "HeadBucket": ("s3:ListBucket",),
    "ListObjects": ("s3:ListBucket",),
    "ListObjectsV2": ("s3:ListBucket",),
    "ListObjectVersions": ("s3:ListBucketVersions",),
    "HeadObject": ("s3:GetObject",),
    "GetBucketCors": ("s3:GetBucketCORS",),
    "PutBucketCors": ("s3:PutBucketCORS",),
    "DeleteBucketCors": ("s3:PutBucketCORS",),
    "GetBucketEncryption": ("s3:GetEncryptionConfiguration",),
    "PutBucketEncryption": ("s3:PutEncryptionConfiguration",),
    "DeleteBucketEncryption": ("s3:PutEncryptionConfiguration",),
    "GetBucketLifecycleConfiguration": ("s3:GetLifecycleConfiguration",),
    "GetBucketLifecycle": ("s3:GetLifecycleConfiguration",),
    "PutBucketLifecycleConfiguration": ("s3:PutLifecycleConfiguration",),
    "PutBucketLifecycle": ("s3:PutLifecycleConfiguration",),
    "DeleteBucketLifecycle": ("s3:PutLifecycleConfiguration",),
    "GetBucketReplication": ("s3:GetReplicationConfiguration",),
    "GetBucketAccelerateConfiguration": ("s3:GetAccelerateConfiguration",),
    "GetBucketRequestPayment": ("s3:GetBucketRequestPayment",),
    "GetObjectLockConfiguration": ("s3:GetBucketObjectLockConfiguration",),
    "GetPublicAccessBlock": ("s3:GetBucketPublicAccessBlock",),
    "PutPublicAccessBlock": ("s3:PutBucketPublicAccessBlock",),
    "DeletePublicAccessBlock": ("s3:PutBucketPublicAccessBlock",),
    "DeleteBucketOwnershipControls": ("s3:PutBucketOwnershipControls",),
    "DeleteBucketTagging": ("s3:PutBucketTagging",),
    "DeleteObjects": ("s3:DeleteObject",),
    "GetBucketLocation": ("s3:GetBucketLocation",),
}
# Other operations whose IAM action differs from their name.
_RENAMED = {
    # CloudFront's create-with-tags needs the create and the tagging action (CloudFront's docs,
    # "Actions, resources, and condition keys": CreateDistributionWithTags is authorized as
    # cloudfront:CreateDistribution and cloudfront:TagResource).
    "cloudfront:CreateDistributionWithTags": (
        "cloudfront:CreateDistribution",
        "cloudfront:TagResource",
    ),
    "cloudfront:CreateStreamingDistributionWithTags": (
        "cloudfront:CreateStreamingDistribution",
        "cloudfront:TagResource",
    ),
    # STS: every caller may ask who it is; IAM authorizes no GetCallerIdentity.
    "sts:GetCallerIdentity": (),
}


@dataclass(frozen=True)
class Call:
    service: str  # the signing name (credential scope)
    operation: str  # the API operation
    method: str
    #: Who made it: "terraform" (the AWS provider or the S3 backend), "ops" (the project's own
    #: commands the CI roles run), "restore" (ops/restore, run by an on-call engineer) or
    #: "other" (the tests', the local gateway's clients).
    caller: str
    #: The stack Terraform made it for (its User-Agent names it: ops/toolchain.py,
    #: stack_agent), if it says.
    stack: str | None = None

    def iam_actions(self) -> tuple[str, ...]:
        """The IAM actions this call needs."""
        if self.service in _VERB_SERVICES:
            return (f"apigateway:{self.method}",)
        if self.service == "s3":
            return _S3.get(self.operation, (f"s3:{self.operation}",))
        prefix = _PREFIX.get(self.service, self.service)
        name = f"{prefix}:{self.operation}"
        return _RENAMED.get(name, (name,))


def calls(path: Path) -> list[Call]:
    """The calls recorded in `path` (none if nothing was recorded)."""
    if not path.exists():
        return []
    return [Call(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def terraform_actions(paths: Iterable[Path], stack: str | None = None) -> dict[str, set[str]]:
    """Each IAM action that the calls of Terraform and of the project's commands recorded in
    `paths` need -> the operations that needed it; only Terraform's for `stack`, if named (and
    those that name no stack)."""
    found: dict[str, set[str]] = {}
    for path in paths:
        for call in calls(path):
            if call.caller not in ("terraform", "ops") or (
                stack and call.stack not in (None, stack)
            ):
                continue
            for action in call.iam_actions():
                found.setdefault(action, set()).add(f"{call.service}:{call.operation}")
    return found


# ---- inside the emulator -----------------------------------------------------------------------
def _credential_service(headers: Any) -> str | None:
    authorization = headers.get("Authorization") or ""
    if "Credential=" not in authorization:
        return None
    scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    return scope[3] if len(scope) > 3 else None


def _install(path: Path) -> None:
    """Record each authenticated call moto handles to `path` (one JSON line each)."""
    from moto.core.authorization import ActionAuthenticatorMixin

    lock = threading.Lock()
    original = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def recording(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        try:
            service = _credential_service(self.headers)
            if service:
                operation = None
                if service == "s3":
                    operation = self._get_action_from_method_and_request_uri(
                        self.normalized_request
                    )
                operation = operation or self._get_action()
                agent = self.headers.get("User-Agent") or ""
                caller = (
                    "terraform"
                    if "Terraform/" in agent
                    else "ops"
                    if OPS_AGENT in agent
                    else "restore"
                    if RESTORE_AGENT in agent
                    else "other"
                )
                stack = _STACK.search(agent)
                line = json.dumps(
                    {
                        "service": service,
                        "operation": operation,
                        "method": self.method,
                        "caller": caller,
                        "stack": stack.group(1) if stack else None,
                    }
                )
                with lock, path.open("a") as log:
                    log.write(line + "\n")
        except Exception as exc:  # recording must never break the emulator
            print(f"action_log: could not record a call: {exc!r}", file=sys.stderr)
        original(self, iam_request_cls, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = recording  # type: ignore[method-assign]


def serve(path: Path, moto_args: list[str]) -> None:
    """moto's server (its own main, with `moto_args`), recording to `path`."""
    _install(path)
    from moto.server import main as moto_main

    sys.argv = ["moto_server", *moto_args]
    moto_main(moto_args)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["actions"] and len(args) == 2:
        for action, operations in sorted(terraform_actions([Path(args[1])]).items()):
            print(f"{action}  ({', '.join(sorted(operations))})")
        return 0
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    serve(Path(args[0]), args[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
