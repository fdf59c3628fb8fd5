"""Providers and remote state of a stack: the AWS provider (default tags; on the emulator, every
request to the emulator and nowhere else) and the S3 backend. Used by every stack."""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
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
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from stacks.settings import (
    EMULATOR_ACCESS_KEY,
    EMULATOR_PROFILE,
    EMULATOR_SECRET_KEY,
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


def default_tags(stage: str) -> dict[str, str]:
    return {"Service": "image-service", "Stage": stage, "ManagedBy": "cdktf"}


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
# the calls that check credentials, the account or the region with AWS.
_EMULATOR_IDENTITY: dict[str, Any] = dict(
    access_key=EMULATOR_ACCESS_KEY,
    secret_key=EMULATOR_SECRET_KEY,
    skip_credentials_validation=True,
    skip_requesting_account_id=True,
    skip_region_validation=True,
)


def aws_provider(
    scope: Construct,
    id_: str,
    *,
    region: str,
    stage: str,
    emulator: EmulatorSettings | None,
    alias: str | None = None,
) -> AwsProvider:
    """An AWS provider with the default tags; on the emulator, every request goes there."""
    emulator_args: dict[str, Any] = {}
    if emulator:
        emulator_host = urlsplit(emulator.endpoint).hostname or ""
        emulator_args = dict(
            **_EMULATOR_IDENTITY,
            skip_metadata_api_check="true",  # a string in the provider's schema
            s3_use_path_style=True,
            shared_config_files=[emulator_config_path(TerraformStack.of(scope), emulator)],
            profile=EMULATOR_PROFILE,
            http_proxy=EMULATOR_DEAD_END_PROXY,
            https_proxy=EMULATOR_DEAD_END_PROXY,
            no_proxy=emulator_host,
        )
    return AwsProvider(
        scope,
        id_,
        region=region,
        alias=alias,
        default_tags=[AwsProviderDefaultTags(tags=default_tags(stage))],
        **emulator_args,
    )


def s3_backend(
    stack: TerraformStack,
    state: StateBackendSettings,
    key: str,
    emulator: EmulatorSettings | None,
) -> S3Backend:
    emulator_args: dict[str, Any] = {}
    if emulator:
        emulator_args = dict(
            **_EMULATOR_IDENTITY,
            skip_metadata_api_check=True,
            endpoints=S3BackendEndpointConfig(s3=emulator.endpoint, sts=emulator.endpoint),
            use_path_style=True,
        )
    backend = S3Backend(
        stack, bucket=state.bucket, key=key, region=state.region, encrypt=True, **emulator_args
    )
    # cdktf 0.21's S3BackendConfig predates Terraform 1.10's S3-native locking (`use_lockfile`),
    # so the flag is added as an override; it replaces the DynamoDB lock table.
    stack.add_override("terraform.backend.s3.use_lockfile", True)
    return backend
