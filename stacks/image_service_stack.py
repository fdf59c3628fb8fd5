"""The image-service stack of one stage: providers, remote state, constructs, outputs."""

from __future__ import annotations

from cdktf import Aspects, TerraformOutput, TerraformStack
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
from constructs_lib.user_auth import UserAuth, UserAuthProps
from stacks.policies import BUCKET_DENY_INSECURE_TRANSPORT, OrganisationPolicy, PolicyProps
from stacks.providers import aws_provider, s3_backend
from stacks.settings import StageSettings


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
                protect_data=s.protect_data,
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
                protect_data=s.protect_data,
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
                protect_data=s.protect_data,
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
                ignore_drift_in=s.cdn.ignore_drift_in,
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
                protect_data=s.protect_data,
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
