"""Providers and remote state of a stack: the AWS provider (default tags; on the emulator, every
request to the emulator and nowhere else) and the S3 backend. Used by every stack."""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cdktf import (
    AssetType,
    S3Backend,
    S3BackendEndpointConfig,
    TerraformAsset,
    TerraformStack,
)
from cdktf_cdktf_provider_aws.provider import (
    AwsProvider,
    AwsProviderAssumeRole,
    AwsProviderDefaultTags,
)
from constructs import Construct

from stacks.settings import (
    AWS_PROVIDER_VERSION,
    EMULATOR_ACCESS_KEY,
    EMULATOR_PROFILE,
    EMULATOR_SECRET_KEY,
    TERRAFORM_REQUIRED_VERSION,
    AccountSettings,
    EmulatorSettings,
    StateBackendSettings,
)

# The emulator's endpoint reaches the provider through a profile in a shared config file that is
# synthesized beside the stack (`endpoint_url`: every service, one URL), not through the
# provider's `endpoints` block: provider 5.100 spends ~6 s of CPU on that block in every plan,
# apply and destroy (measured: plan of image-service-local 7.5 s with it, 3.2 s without; apply
# 11.7 s -> 4.3 s).
EMULATOR_CONFIG_ASSET = "EmulatorAwsConfig"
# Every request that is not for the emulator's host goes to this proxy, where nothing listens:
# if the profile's endpoint were ever lost, requests fail on the machine instead of reaching AWS.
EMULATOR_DEAD_END_PROXY = "http://127.0.0.1:9"
EMULATOR_MAX_RETRIES = 2


def pin_toolchain(stack: TerraformStack) -> None:
    """The Terraform versions and the exact AWS provider every stack works with: an older
    Terraform stops at init with its own clear message instead of failing late."""
    stack.add_override("terraform.required_version", TERRAFORM_REQUIRED_VERSION)
    stack.add_override(
        "terraform.required_providers.aws",
        {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION},
    )


def default_tags(stage: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Service, Stage, ManagedBy on every resource (the organisation's), and `extra` (a derived
    stage's kind, owner and creation date)."""
    return {**(extra or {}), "Service": "image-service", "Stage": stage, "ManagedBy": "cdktf"}


def emulator_config_path(stack: TerraformStack, emulator: EmulatorSettings) -> str:
    """The stack's shared AWS config file (one per stack, as a cdktf asset), relative to the
    stack's directory, where Terraform runs."""
    existing = stack.node.try_find_child(EMULATOR_CONFIG_ASSET)
    if isinstance(existing, TerraformAsset):
        return existing.path
    text = emulator.aws_config()
    source = Path(tempfile.mkdtemp(prefix="image-service-emulator-")) / "aws-emulator.config"
    source.write_text(text)
    atexit.register(shutil.rmtree, source.parent, ignore_errors=True)
    return TerraformAsset(
        stack,
        EMULATOR_CONFIG_ASSET,
        path=str(source),
        type=AssetType.FILE,
        asset_hash=hashlib.sha256(text.encode()).hexdigest()[:16],
    ).path


# What the provider and the backend both need on the emulator: its fake credentials, and none of
# the calls that check credentials or the region with AWS. The provider does ask the emulator's
# STS who the caller is: that is how it checks `allowed_account_ids` (moto answers with
# 123456789012, the emulator stages' account).
_EMULATOR_CREDENTIALS: dict[str, Any] = dict(
    access_key=EMULATOR_ACCESS_KEY,
    secret_key=EMULATOR_SECRET_KEY,
    skip_credentials_validation=True,
    skip_region_validation=True,
)


def aws_provider(
    scope: Construct,
    id_: str,
    *,
    region: str,
    stage: str,
    account: AccountSettings,
    emulator: EmulatorSettings | None,
    alias: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> AwsProvider:
    """An AWS provider pinned to the stage's account (it refuses credentials for any other),
    with the stage's role or profile and the default tags; on the emulator, every request goes
    there."""
    emulator_args: dict[str, Any] = {}
    if emulator:
        emulator_host = urlsplit(emulator.endpoint).hostname or ""
        emulator_args = dict(
            **_EMULATOR_CREDENTIALS,
            skip_metadata_api_check="true",  # a string in the provider's schema
            s3_use_path_style=True,
            shared_config_files=[emulator_config_path(TerraformStack.of(scope), emulator)],
            profile=EMULATOR_PROFILE,
            # moto answers an action it lacks with HTTP 500, which the provider retries (25
            # times by default, with back-off): such a call fails after minutes instead of
            # seconds with moto's own error (measured in ../shared/EMULATOR.md's terms:
            # docs/emulator.md).
            max_retries=EMULATOR_MAX_RETRIES,
            http_proxy=EMULATOR_DEAD_END_PROXY,
            https_proxy=EMULATOR_DEAD_END_PROXY,
            no_proxy=emulator_host,
        )
    else:
        if account.profile:
            emulator_args["profile"] = account.profile
        if account.role_arn:
            emulator_args["assume_role"] = [
                AwsProviderAssumeRole(
                    role_arn=account.role_arn, session_name=f"image-service-{stage}"
                )
            ]
    return AwsProvider(
        scope,
        id_,
        region=region,
        alias=alias,
        allowed_account_ids=[account.account_id],
        default_tags=[AwsProviderDefaultTags(tags=default_tags(stage, tags))],
        **emulator_args,
    )


def s3_backend(
    stack: TerraformStack,
    state: StateBackendSettings,
    key: str,
    emulator: EmulatorSettings | None,
    account: AccountSettings | None = None,
) -> S3Backend:
    """The stage's remote state, read and written with the stage's own role or profile."""
    extra: dict[str, Any] = {}
    if emulator:
        extra = dict(
            **_EMULATOR_CREDENTIALS,
            skip_requesting_account_id=True,
            skip_metadata_api_check=True,
            endpoints=S3BackendEndpointConfig(s3=emulator.endpoint, sts=emulator.endpoint),
            use_path_style=True,
        )
    elif account and account.profile:
        extra["profile"] = account.profile
    backend = S3Backend(
        stack, bucket=state.bucket, key=key, region=state.region, encrypt=True, **extra
    )
    # cdktf 0.21's S3BackendConfig predates Terraform 1.10's S3-native locking (`use_lockfile`),
    # so the flag is added as an override; it replaces the DynamoDB lock table.
    stack.add_override("terraform.backend.s3.use_lockfile", True)
    if not emulator and account and account.role_arn:
        # Terraform 1.6+ spells it as a block (cdktf's `role_arn` is the deprecated form).
        stack.add_override(
            "terraform.backend.s3.assume_role",
            {"role_arn": account.role_arn, "session_name": "image-service-state"},
        )
    return backend
