"""The image-service stack of one stage: providers, remote state, constructs, outputs."""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cdktf import (
    Aspects,
    AssetType,
    S3Backend,
    S3BackendEndpointConfig,
    TerraformAsset,
    TerraformOutput,
    TerraformStack,
)
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from constructs_lib.domains import (
    DnsValidatedCertificate,
    DnsValidatedCertificateProps,
    HostedZone,
    HostedZoneProps,
    alias_records,
)
from constructs_lib.image_api import ApiCustomDomain, ImageApi, ImageApiProps
from constructs_lib.image_bucket import ImageBucket, ImageBucketProps
from constructs_lib.image_cdn import CdnCustomDomain, ImageCdn, ImageCdnProps
from constructs_lib.metadata_table import MetadataTable, MetadataTableProps
from constructs_lib.policies import BUCKET_DENY_INSECURE_TRANSPORT, OrganisationPolicy, PolicyProps
from constructs_lib.user_auth import UserAuth, UserAuthProps
from stacks.settings import (
    EMULATOR_ACCESS_KEY,
    EMULATOR_PROFILE,
    EMULATOR_SECRET_KEY,
    EmulatorSettings,
    StageSettings,
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
            access_key=EMULATOR_ACCESS_KEY,
            secret_key=EMULATOR_SECRET_KEY,
            skip_credentials_validation=True,
            skip_requesting_account_id=True,
            skip_metadata_api_check="true",
            skip_region_validation=True,
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
            access_key=EMULATOR_ACCESS_KEY,
            secret_key=EMULATOR_SECRET_KEY,
            endpoints=S3BackendEndpointConfig(s3=emulator.endpoint, sts=emulator.endpoint),
            use_path_style=True,
            skip_credentials_validation=True,
            skip_requesting_account_id=True,
            skip_metadata_api_check=True,
            skip_region_validation=True,
        )
    backend = S3Backend(
        stack, bucket=state.bucket, key=key, region=state.region, encrypt=True, **emulator_args
    )
    # cdktf 0.21's S3BackendConfig predates Terraform 1.10's S3-native locking (`use_lockfile`),
    # so the flag is added as an override; it replaces the DynamoDB lock table.
    stack.add_override("terraform.backend.s3.use_lockfile", True)
    return backend


class ImageServiceStack(TerraformStack):
    def __init__(self, scope: Construct, settings: StageSettings):
        super().__init__(scope, settings.stack_name)
        s = settings
        self.settings = s
        aws_provider(self, "aws", region=s.region, stage=s.stage, emulator=s.emulator)
        # CloudFront only accepts ACM certificates issued in us-east-1.
        us_east_1 = aws_provider(
            self,
            "aws_us_east_1",
            region="us-east-1",
            stage=s.stage,
            emulator=s.emulator,
            alias="us_east_1",
        )
        s3_backend(self, s.state, s.state_key, s.emulator)
        # Checked when the stack is synthesized; a violation stops synthesis.
        insecure_transport_reason = s.bucket.insecure_transport_allowed_because
        self.policy = OrganisationPolicy(
            PolicyProps(
                protected_data=s.protect_data,
                waivers={BUCKET_DENY_INSECURE_TRANSPORT: insecure_transport_reason}
                if insecure_transport_reason
                else {},
            )
        )
        Aspects.of(self).add(self.policy)

        self.table = MetadataTable(
            self,
            "MetadataTable",
            MetadataTableProps(
                name=s.table.name,
                point_in_time_recovery=s.table.point_in_time_recovery,
                protect_from_deletion=s.protect_data,
            ),
        )
        self.bucket = ImageBucket(
            self,
            "ImageBucket",
            ImageBucketProps(
                name=s.bucket.name,
                cors_origins=s.bucket.cors_origins,
                versioning=s.bucket.versioning,
                intelligent_tiering_days=s.bucket.intelligent_tiering_days,
                noncurrent_version_expiration_days=s.bucket.noncurrent_version_expiration_days,
                abort_multipart_days=s.bucket.abort_multipart_days,
                protect_from_deletion=s.protect_data,
                inline_lifecycle_rules=s.bucket.inline_lifecycle_rules,
                deny_insecure_transport=insecure_transport_reason is None,
            ),
        )

        zone_id = None
        cdn_domain = api_domain = None
        if s.domains.enabled:
            zone_id = HostedZone(
                self,
                "HostedZone",
                HostedZoneProps(
                    name=s.domains.hosted_zone_name, create=s.domains.create_hosted_zone
                ),
            ).zone_id
            cdn_cert = DnsValidatedCertificate(
                self,
                "CdnCertificate",
                DnsValidatedCertificateProps(
                    domain_name=s.domains.cdn_hostname, zone_id=zone_id, provider=us_east_1
                ),
            )
            api_cert = DnsValidatedCertificate(
                self,
                "ApiCertificate",
                DnsValidatedCertificateProps(domain_name=s.domains.api_hostname, zone_id=zone_id),
            )
            cdn_domain = CdnCustomDomain(s.domains.cdn_hostname, cdn_cert.certificate_arn)
            if s.domains.api_domain_omitted_because is None:
                api_domain = ApiCustomDomain(s.domains.api_hostname, api_cert.certificate_arn)

        self.cdn = ImageCdn(
            self,
            "ImageCdn",
            self.bucket,
            ImageCdnProps(
                name=s.stack_name,
                origin_access=s.cdn.origin_access,
                cache_policy=s.cdn.cache_policy,
                min_ttl=s.cdn.min_ttl,
                default_ttl=s.cdn.default_ttl,
                max_ttl=s.cdn.max_ttl,
                price_class=s.cdn.price_class,
                wait_for_deployment=s.cdn.wait_for_deployment,
                custom_domain=cdn_domain,
                ignore_changes=s.cdn.ignore_drift_in,
                enabled=s.cdn.enabled,
                retain_on_delete=s.cdn.retain_on_delete,
            ),
        )
        self.auth = UserAuth(
            self,
            "UserAuth",
            UserAuthProps(
                name=s.auth.user_pool_name,
                region=s.region,
                protect_from_deletion=s.protect_data,
                existing_user_pool_id=s.auth.existing_user_pool_id,
                existing_client_ids=s.auth.existing_client_ids,
            ),
        )
        self.api = ImageApi(
            self,
            "ImageApi",
            self.auth,
            ImageApiProps(
                name=s.stack_name,
                cors_origins=s.api.cors_origins,
                throttling_burst_limit=s.api.throttling_burst_limit,
                throttling_rate_limit=s.api.throttling_rate_limit,
                access_log_retention_days=s.api.access_log_retention_days,
                custom_domain=api_domain,
            ),
        )

        if zone_id is not None and cdn_domain:
            alias_records(
                self,
                "CdnAlias",
                zone_id=zone_id,
                name=cdn_domain.hostname,
                target_name=self.cdn.domain_name,
                target_zone_id=self.cdn.hosted_zone_id,
                ipv6=True,
            )
        if zone_id is not None and api_domain and self.api.domain_name:
            target = self.api.domain_name.domain_name_configuration
            alias_records(
                self,
                "ApiAlias",
                zone_id=zone_id,
                name=api_domain.hostname,
                target_name=target.target_domain_name,
                target_zone_id=target.hosted_zone_id,
                ipv6=False,
            )

        outputs = {
            "TableName": self.table.name,
            "TableArn": self.table.arn,
            "TableStreamArn": self.table.stream_arn,
            "BucketName": self.bucket.name,
            "BucketArn": self.bucket.arn,
            "CloudFrontDomain": self.cdn.domain_name,
            "CloudFrontDistributionId": self.cdn.distribution_id,
            "ApiEndpoint": self.api.endpoint,
            "ApiId": self.api.api_id,
            "UserPoolId": self.auth.user_pool_id,
            "UserPoolClientId": self.auth.audience[0],
        }
        if cdn_domain:
            outputs["CdnCustomDomain"] = cdn_domain.hostname
        if api_domain:
            outputs["ApiCustomDomain"] = api_domain.hostname
        for name, value in outputs.items():
            TerraformOutput(self, name, value=value)
