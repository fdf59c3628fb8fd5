"""The image-service stack of one stage: providers, remote state, constructs, outputs."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from cdktf import Aspects, TerraformOutput, TerraformStack
from constructs import Construct

from constructs_lib.domains import (
    DnsValidatedCertificate,
    DnsValidatedCertificateProps,
    HostedZone,
    HostedZoneProps,
    alias_records,
)
from constructs_lib.image_api import ImageApi, ImageApiProps
from constructs_lib.image_bucket import ImageBucket, ImageBucketProps
from constructs_lib.image_cdn import ImageCdn, ImageCdnProps
from constructs_lib.image_handler import ImageHandler
from constructs_lib.metadata_table import MetadataTable, MetadataTableProps
from constructs_lib.props import MANAGED_SECURITY_HEADERS_POLICY_ID, CustomDomain
from constructs_lib.user_auth import UserAuth, UserAuthProps
from stacks.policies import BUCKET_DENY_INSECURE_TRANSPORT, OrganisationPolicy, PolicyProps
from stacks.providers import aws_provider, pin_toolchain, s3_backend
from stacks.settings import StageSettings

P = TypeVar("P")

# What `add_service_environment` tells a handler: where the service's data lives.
TABLE_NAME_VARIABLE = "TABLE_NAME"
BUCKET_NAME_VARIABLE = "BUCKET_NAME"
CDN_DOMAIN_VARIABLE = "CDN_DOMAIN"


def props_from(section: object, props: type[P], **given: Any) -> P:
    """A construct's props from a settings section: every field the two share by name (the
    settings use the props' names for the same concept), plus what the stack `given` adds."""
    names = {f.name for f in fields(props)}  # type: ignore[arg-type]
    shared = {
        f.name: getattr(section, f.name)
        for f in fields(section)  # type: ignore[arg-type]
        if f.name in names and f.name not in given
    }
    return props(**shared, **given)


class ImageServiceStack(TerraformStack):
    def __init__(self, scope: Construct, settings: StageSettings):
        super().__init__(scope, settings.stack_name)
        self.settings = settings
        pin_toolchain(self)
        aws_provider(
            self,
            "aws",
            region=settings.region,
            stage=settings.stage,
            account=settings.account,
            emulator=settings.emulator,
        )
        # CloudFront only accepts ACM certificates issued in us-east-1.
        us_east_1 = aws_provider(
            self,
            "aws_us_east_1",
            region="us-east-1",
            stage=settings.stage,
            account=settings.account,
            emulator=settings.emulator,
            alias="us_east_1",
        )
        s3_backend(self, settings.state, settings.state_key, settings.emulator, settings.account)
        # Checked when the stack is synthesized; a violation stops synthesis.
        insecure_transport_reason = settings.bucket.insecure_transport_allowed_because
        self.policy = OrganisationPolicy(
            PolicyProps(
                protect_data=settings.protect_data,
                waivers={BUCKET_DENY_INSECURE_TRANSPORT: insecure_transport_reason}
                if insecure_transport_reason
                else {},
            )
        )
        Aspects.of(self).add(self.policy)

        self.table = MetadataTable(
            self,
            "MetadataTable",
            props_from(settings.table, MetadataTableProps, protect_data=settings.protect_data),
        )
        self.bucket = ImageBucket(
            self,
            "ImageBucket",
            props_from(
                settings.bucket,
                ImageBucketProps,
                protect_data=settings.protect_data,
                deny_insecure_transport=insecure_transport_reason is None,
            ),
        )

        zone_id = None
        cdn_domain = api_domain = None
        if settings.domains.enabled:
            zone_id = HostedZone(
                self,
                "HostedZone",
                HostedZoneProps(
                    name=settings.domains.hosted_zone_name,
                    create=settings.domains.create_hosted_zone,
                ),
            ).zone_id
            cdn_cert = DnsValidatedCertificate(
                self,
                "CdnCertificate",
                DnsValidatedCertificateProps(
                    domain_name=settings.domains.cdn_hostname, zone_id=zone_id, provider=us_east_1
                ),
            )
            api_cert = DnsValidatedCertificate(
                self,
                "ApiCertificate",
                DnsValidatedCertificateProps(
                    domain_name=settings.domains.api_hostname, zone_id=zone_id
                ),
            )
            cdn_domain = CustomDomain(settings.domains.cdn_hostname, cdn_cert.certificate_arn)
            if settings.domains.api_domain_omitted_because is None:
                api_domain = CustomDomain(settings.domains.api_hostname, api_cert.certificate_arn)

        self.cdn = ImageCdn(
            self,
            "ImageCdn",
            self.bucket,
            props_from(
                settings.cdn,
                ImageCdnProps,
                name=settings.stack_name,
                custom_domain=cdn_domain,
                response_headers_policy_id=MANAGED_SECURITY_HEADERS_POLICY_ID
                if settings.cdn.managed_response_headers_because
                else None,
            ),
        )
        self.auth = UserAuth(
            self,
            "UserAuth",
            props_from(
                settings.auth,
                UserAuthProps,
                name=settings.auth.user_pool_name,
                region=settings.region,
                protect_data=settings.protect_data,
            ),
        )
        self.api = ImageApi(
            self,
            "ImageApi",
            self.auth,
            props_from(
                settings.api, ImageApiProps, name=settings.stack_name, custom_domain=api_domain
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
        self.cdn_hostname = cdn_domain.hostname if cdn_domain else self.cdn.domain_name
        if cdn_domain:
            outputs["CdnCustomDomain"] = cdn_domain.hostname
        if api_domain:
            outputs["ApiCustomDomain"] = api_domain.hostname
        for name, value in outputs.items():
            TerraformOutput(self, name, value=value)

    def add_service_environment(self, handler: ImageHandler) -> None:
        """Tell a handler where the service's data lives: TABLE_NAME, BUCKET_NAME and
        CDN_DOMAIN (the hostname images are served from). Access is granted separately, with
        the table's and the bucket's grant methods."""
        handler.add_environment(TABLE_NAME_VARIABLE, self.table.name)
        handler.add_environment(BUCKET_NAME_VARIABLE, self.bucket.name)
        handler.add_environment(CDN_DOMAIN_VARIABLE, self.cdn_hostname)
