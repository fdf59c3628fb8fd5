"""An emulator deployment as the tests use it: its endpoint, the environment that points every
tool at it, and the app synthesized for it (tests/deploy/shared.py applies the session's)."""

from __future__ import annotations

import json
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ops import local_aws
from ops.plan_guard import STATEFUL_TYPES
from ops.toolchain import ROOT, project_env
from stacks.settings import (
    LOCAL_ENDPOINT_ENV,
    STAGES_ENV,
)


@dataclass
class Deployment:
    """An emulator, the env that points every tool at it, and the app synthesized for it."""

    endpoint: str
    env: dict[str, str]
    outdir: Path

    @classmethod
    def at(cls, endpoint: str, outdir: Path, stages: tuple[str, ...]) -> Deployment:
        # The emulator's credentials, but not AWS_ENDPOINT_URL: Terraform must reach the
        # emulator through the stack's own configuration (test_local_deploy tests that).
        credentials = {
            k: v for k, v in local_aws.client_env(endpoint).items() if k != "AWS_ENDPOINT_URL"
        }
        return cls(
            endpoint,
            project_env(
                {LOCAL_ENDPOINT_ENV: endpoint, STAGES_ENV: ",".join(stages), **credentials}
            ),
            outdir,
        )

    def stack_dir(self, stack: str) -> Path:
        return self.outdir / "stacks" / stack

    def stateful_addresses(self, stack: str) -> list[str]:
        """The addresses of the stack's tables, buckets and user pools, from its cdk.tf.json."""
        config = json.loads((self.stack_dir(stack) / "cdk.tf.json").read_text())
        return sorted(
            f"{tf_type}.{name}"
            for tf_type in STATEFUL_TYPES
            for name in config["resource"].get(tf_type, {})
        )

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """A project command (from the project root) against this deployment, output kept."""
        return subprocess.run(list(args), cwd=ROOT, env=self.env, text=True, capture_output=True)

    def wrapper_destroy(self, stack: str, *extra: str) -> subprocess.CompletedProcess:
        """`bin/cdktf destroy STACK` of this deployment's synthesis (plan guard first)."""
        return self.run(
            str(ROOT / "bin" / "cdktf"),
            "destroy",
            stack,
            "--auto-approve",
            "--skip-synth",
            "--output",
            str(self.outdir),
            *extra,
        )

    def client(self, service: str):
        return local_aws.client(service, self.endpoint)

    def state_addresses(self, stack: str) -> list[str]:
        return state_addresses(self.client("s3"), self.stack_dir(stack))


def stored_state(s3, stack_dir: Path) -> dict:
    """The stack's Terraform state as its S3 backend stores it in the emulator (what `terraform
    state pull` prints, without starting Terraform)."""
    backend = json.loads((stack_dir / "cdk.tf.json").read_text())["terraform"]["backend"]["s3"]
    return json.loads(s3.get_object(Bucket=backend["bucket"], Key=backend["key"])["Body"].read())


def state_addresses(s3, stack_dir: Path) -> list[str]:
    """What `terraform state list` prints for the stack, sorted, read from the stored state."""
    addresses = []
    for resource in stored_state(s3, stack_dir)["resources"]:
        prefix = "data." if resource["mode"] == "data" else ""
        base = f"{prefix}{resource['type']}.{resource['name']}"
        for instance in resource["instances"]:
            key = instance.get("index_key")
            addresses.append(base if key is None else f"{base}[{json.dumps(key)}]")
    return sorted(addresses)


def confirmed_user(idp, pool_id: str, client_id: str, prefix: str) -> tuple[str, str]:
    """A new user of the pool, signed up and confirmed (standing in for the code Cognito would
    e-mail): its e-mail and a password that meets the pool's policy."""
    email = f"{prefix}-{secrets.token_hex(4)}@example.com"
    password = f"User-{secrets.token_hex(6)}-1"
    idp.sign_up(
        ClientId=client_id,
        Username=email,
        Password=password,
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=email)
    return email, password


def srp_tokens(idp, pool_id: str, client_id: str, email: str, password: str) -> dict[str, str]:
    """The user's tokens (AccessToken, IdToken, ...) from an SRP sign-in, as a browser signs in."""
    from pycognito.aws_srp import AWSSRP

    return AWSSRP(
        username=email, password=password, pool_id=pool_id, client_id=client_id, client=idp
    ).authenticate_user()["AuthenticationResult"]
