"""CloudFront in front of the private image bucket."""

from __future__ import annotations

from cdktf import TerraformProvider, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.cloudfront_cache_policy import (
    CloudfrontCachePolicy,
    CloudfrontCachePolicyParametersInCacheKeyAndForwardedToOrigin,
    CloudfrontCachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfig,
    CloudfrontCachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfig,
    CloudfrontCachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfig,
)
from cdktf_cdktf_provider_aws.cloudfront_distribution import (
    CloudfrontDistribution,
    CloudfrontDistributionDefaultCacheBehavior,
    CloudfrontDistributionOrigin,
    CloudfrontDistributionOriginS3OriginConfig,
    CloudfrontDistributionRestrictions,
    CloudfrontDistributionRestrictionsGeoRestriction,
    CloudfrontDistributionViewerCertificate,
)
from cdktf_cdktf_provider_aws.cloudfront_origin_access_control import (
    CloudfrontOriginAccessControl,
)
from cdktf_cdktf_provider_aws.cloudfront_origin_access_identity import (
    CloudfrontOriginAccessIdentity,
)
from cdktf_cdktf_provider_aws.cloudfront_response_headers_policy import (
    CloudfrontResponseHeadersPolicy,
    CloudfrontResponseHeadersPolicyCorsConfig,
    CloudfrontResponseHeadersPolicyCorsConfigAccessControlAllowHeaders,
    CloudfrontResponseHeadersPolicyCorsConfigAccessControlAllowMethods,
    CloudfrontResponseHeadersPolicyCorsConfigAccessControlAllowOrigins,
    CloudfrontResponseHeadersPolicySecurityHeadersConfig,
    CloudfrontResponseHeadersPolicySecurityHeadersConfigContentTypeOptions,
    CloudfrontResponseHeadersPolicySecurityHeadersConfigFrameOptions,
    CloudfrontResponseHeadersPolicySecurityHeadersConfigReferrerPolicy,
    CloudfrontResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurity,
    CloudfrontResponseHeadersPolicySecurityHeadersConfigXssProtection,
)
from cdktf_cdktf_provider_aws.cloudwatch_log_delivery import CloudwatchLogDelivery
from cdktf_cdktf_provider_aws.cloudwatch_log_delivery_destination import (
    CloudwatchLogDeliveryDestination,
    CloudwatchLogDeliveryDestinationDeliveryDestinationConfiguration,
)
from cdktf_cdktf_provider_aws.cloudwatch_log_delivery_source import CloudwatchLogDeliverySource
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from constructs import Construct

from constructs_lib.domains.props import CustomDomain as CustomDomain
from constructs_lib.image_bucket.construct import ImageBucket
from constructs_lib.image_cdn import alarms
from constructs_lib.image_cdn.props import (
    CORS_MAX_AGE_SECONDS,
    CORS_METHODS,
    FRAME_OPTION,
    HSTS_MAX_AGE_SECONDS,
    REFERRER_POLICY,
    CdnAccessLogs,
)
from constructs_lib.image_cdn.props import (
    MANAGED_CACHING_OPTIMIZED_POLICY_ID as MANAGED_CACHING_OPTIMIZED_POLICY_ID,
)
from constructs_lib.image_cdn.props import ImageCdnProps as ImageCdnProps
from constructs_lib.metrics import Metric
from constructs_lib.monitoring.construct import Monitoring
from constructs_lib.shared import CLOUDFRONT_REGION
from constructs_lib.validation import check

MINIMUM_TLS_POLICY = "TLSv1.2_2021"


# Who may read the bucket's objects, and on which conditions.
ReadGrant = tuple[
    DataAwsIamPolicyDocumentStatementPrincipals,
    list[DataAwsIamPolicyDocumentStatementCondition] | None,
]


class _ControlAccess:
    """Origin Access Control: CloudFront signs its requests; the bucket trusts the CloudFront
    service for this distribution only."""

    def __init__(self, scope: Construct, name: str):
        self.origin_access_control_id: str | None = CloudfrontOriginAccessControl(
            scope,
            "OriginAccessControl",
            name=name,
            description=f"{name}: CloudFront reads the image bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
        ).id
        self.s3_origin_config: CloudfrontDistributionOriginS3OriginConfig | None = None

    def reader(self, distribution: CloudfrontDistribution) -> ReadGrant:
        # Only this distribution, not every CloudFront distribution in AWS.
        return DataAwsIamPolicyDocumentStatementPrincipals(
            type="Service", identifiers=["cloudfront.amazonaws.com"]
        ), [
            DataAwsIamPolicyDocumentStatementCondition(
                test="StringEquals", variable="AWS:SourceArn", values=[distribution.arn]
            )
        ]


class _IdentityAccess:
    """A legacy Origin Access Identity: the bucket trusts the identity's IAM principal."""

    def __init__(self, scope: Construct, name: str):
        self.identity = CloudfrontOriginAccessIdentity(
            scope, "OriginAccessIdentity", comment=f"{name}: reads the image bucket"
        )
        self.origin_access_control_id: str | None = None
        self.s3_origin_config: CloudfrontDistributionOriginS3OriginConfig | None = (
            CloudfrontDistributionOriginS3OriginConfig(
                origin_access_identity=self.identity.cloudfront_access_identity_path
            )
        )

    def reader(self, distribution: CloudfrontDistribution) -> ReadGrant:
        return DataAwsIamPolicyDocumentStatementPrincipals(
            type="AWS", identifiers=[self.identity.iam_arn]
        ), None


_Access = _ControlAccess | _IdentityAccess


class ImageCdn(Construct):
    """A distribution whose only origin is the bucket; the bucket grants read to it alone."""

    ORIGIN_ID = "image-bucket"

    def __init__(self, scope: Construct, id_: str, bucket: ImageBucket, props: ImageCdnProps):
        check(props, f"ImageCdn '{props.name}'")
        super().__init__(scope, id_)
        self.props = props
        access = (_ControlAccess if props.origin_access == "OAC" else _IdentityAccess)(
            self, props.name
        )
        self.cache_policy_id = self._cache_policy_id(props)
        self.response_headers_policy_id = (
            props.response_headers_policy_id or self._response_headers_policy(props).id
        )
        domain = props.custom_domain
        self.distribution = CloudfrontDistribution(
            self,
            "Distribution",
            enabled=props.enabled,
            # Left out unless set, so the synthesized JSON of the real stages stays as it was.
            retain_on_delete=True if props.retain_on_delete else None,
            comment=f"{props.name} images",
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=props.price_class,
            aliases=[domain.hostname] if domain else None,
            web_acl_id=props.web_acl_id,
            origin=[
                CloudfrontDistributionOrigin(
                    origin_id=self.ORIGIN_ID,
                    domain_name=bucket.regional_domain_name,
                    origin_access_control_id=access.origin_access_control_id,
                    s3_origin_config=access.s3_origin_config,
                )
            ],
            default_cache_behavior=self._default_cache_behavior(),
            restrictions=CloudfrontDistributionRestrictions(
                geo_restriction=CloudfrontDistributionRestrictionsGeoRestriction(
                    restriction_type="none"
                )
            ),
            viewer_certificate=self._viewer_certificate(domain),
            wait_for_deployment=props.wait_for_deployment,
            lifecycle=TerraformResourceLifecycle(ignore_changes=list(props.ignore_drift_in))
            if props.ignore_drift_in
            else None,
        )
        self.access_logs: CloudwatchLogGroup | None = None
        if props.access_logs is not None:
            self.access_logs = self._standard_logging(
                props.name, props.access_logs, props.log_delivery_provider
            )
        self._grant_read_to_the_distribution(bucket, access)

    def _default_cache_behavior(self) -> CloudfrontDistributionDefaultCacheBehavior:
        return CloudfrontDistributionDefaultCacheBehavior(
            target_origin_id=self.ORIGIN_ID,
            viewer_protocol_policy="redirect-to-https",
            allowed_methods=list(CORS_METHODS),
            cached_methods=list(CORS_METHODS),
            compress=True,
            cache_policy_id=self.cache_policy_id,
            # CORS is answered at the edge by the response headers policy, per viewer
            # request, after the cache: S3 never needs the Origin header (so it stays out of
            # the cache key, and a cached image never carries another origin's
            # Access-Control-Allow-Origin). Chosen over forwarding Origin to S3's CORS
            # rules, which would split the cache per origin.
            response_headers_policy_id=self.response_headers_policy_id,
        )

    def _grant_read_to_the_distribution(self, bucket: ImageBucket, access: _Access) -> None:
        """The bucket's policy lets this distribution, and only it, read its objects."""
        reader, conditions = access.reader(self.distribution)
        bucket.add_policy_statement(
            DataAwsIamPolicyDocumentStatement(
                sid="AllowCloudFrontRead",
                effect="Allow",
                principals=[reader],
                actions=["s3:GetObject"],
                resources=[f"{bucket.arn}/*"],
                condition=conditions,
            )
        )

    def _cache_policy_id(self, props: ImageCdnProps) -> str:
        """The custom policy (created here) or AWS's managed CachingOptimized, by id."""
        if props.cache_policy != "custom":
            return MANAGED_CACHING_OPTIMIZED_POLICY_ID
        return CloudfrontCachePolicy(
            self,
            "CachePolicy",
            name=f"{props.name}-images",
            comment="Images are immutable: cache long, compress, ignore cookies and queries",
            min_ttl=props.min_ttl,
            default_ttl=props.default_ttl,
            max_ttl=props.max_ttl,
            parameters_in_cache_key_and_forwarded_to_origin=(
                CloudfrontCachePolicyParametersInCacheKeyAndForwardedToOrigin(
                    enable_accept_encoding_brotli=True,
                    enable_accept_encoding_gzip=True,
                    cookies_config=(
                        CloudfrontCachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfig(
                            cookie_behavior="none"
                        )
                    ),
                    headers_config=(
                        CloudfrontCachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfig(
                            header_behavior="none"
                        )
                    ),
                    query_strings_config=(
                        CloudfrontCachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfig(
                            query_string_behavior="none"
                        )
                    ),
                )
            ),
        ).id

    def _response_headers_policy(self, props: ImageCdnProps) -> CloudfrontResponseHeadersPolicy:
        """CORS for the app's origins (GET/HEAD/OPTIONS, no credentials), and the security
        headers of AWS's managed SecurityHeadersPolicy, with the same values."""
        return CloudfrontResponseHeadersPolicy(
            self,
            "ResponseHeadersPolicy",
            name=f"{props.name}-images",
            comment="CORS for the app's origins + the managed SecurityHeadersPolicy's headers",
            cors_config=CloudfrontResponseHeadersPolicyCorsConfig(
                access_control_allow_credentials=False,
                access_control_allow_headers=(
                    CloudfrontResponseHeadersPolicyCorsConfigAccessControlAllowHeaders(items=["*"])
                ),
                access_control_allow_methods=(
                    CloudfrontResponseHeadersPolicyCorsConfigAccessControlAllowMethods(
                        items=list(CORS_METHODS)
                    )
                ),
                access_control_allow_origins=(
                    CloudfrontResponseHeadersPolicyCorsConfigAccessControlAllowOrigins(
                        items=list(props.cors_origins)
                    )
                ),
                access_control_max_age_sec=CORS_MAX_AGE_SECONDS,
                origin_override=True,
            ),
            security_headers_config=CloudfrontResponseHeadersPolicySecurityHeadersConfig(
                content_type_options=(
                    CloudfrontResponseHeadersPolicySecurityHeadersConfigContentTypeOptions(
                        override=True
                    )
                ),
                frame_options=CloudfrontResponseHeadersPolicySecurityHeadersConfigFrameOptions(
                    frame_option=FRAME_OPTION, override=True
                ),
                referrer_policy=(
                    CloudfrontResponseHeadersPolicySecurityHeadersConfigReferrerPolicy(
                        referrer_policy=REFERRER_POLICY, override=True
                    )
                ),
                # includeSubDomains and preload change nothing for a CDN hostname (it has no
                # subdomains, and the preload list takes apex domains only); they are set so
                # the header meets the organisation's scanner (checkov CKV_AWS_259) unskipped.
                strict_transport_security=(
                    CloudfrontResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurity(
                        access_control_max_age_sec=HSTS_MAX_AGE_SECONDS,
                        include_subdomains=True,
                        preload=True,
                        override=True,
                    )
                ),
                xss_protection=CloudfrontResponseHeadersPolicySecurityHeadersConfigXssProtection(
                    protection=True, mode_block=True, override=True
                ),
            ),
        )

    def _standard_logging(
        self, name: str, logs: CdnAccessLogs, provider: TerraformProvider | None
    ) -> CloudwatchLogGroup:
        """Standard logging v2: the distribution as a vended-log delivery source, delivered as
        JSON to a log group with a retention period, all four made by `provider` (us-east-1:
        CloudFront delivers its logs from there only)."""
        group = CloudwatchLogGroup(
            self,
            "AccessLogs",
            provider=provider,
            name=f"/aws/cloudfront/{name}",
            retention_in_days=logs.retention_days,
        )
        source = CloudwatchLogDeliverySource(
            self,
            "AccessLogSource",
            provider=provider,
            name=f"{name}-cdn",
            log_type="ACCESS_LOGS",
            resource_arn=self.distribution.arn,
        )
        destination = CloudwatchLogDeliveryDestination(
            self,
            "AccessLogDestination",
            provider=provider,
            name=f"{name}-cdn-logs",
            output_format="json",
            delivery_destination_configuration=[
                CloudwatchLogDeliveryDestinationDeliveryDestinationConfiguration(
                    destination_resource_arn=group.arn
                )
            ],
        )
        CloudwatchLogDelivery(
            self,
            "AccessLogDelivery",
            provider=provider,
            delivery_source_name=source.name,
            delivery_destination_arn=destination.arn,
        )
        return group

    @staticmethod
    def _viewer_certificate(
        domain: CustomDomain | None,
    ) -> CloudfrontDistributionViewerCertificate:
        """The ACM certificate of the custom domain, else CloudFront's default certificate."""
        if domain is None:
            return CloudfrontDistributionViewerCertificate(cloudfront_default_certificate=True)
        return CloudfrontDistributionViewerCertificate(
            acm_certificate_arn=domain.certificate_arn,
            ssl_support_method="sni-only",
            minimum_protocol_version=MINIMUM_TLS_POLICY,
        )

    # ---- metrics (AWS/CloudFront: published in us-east-1 only, dimension Region=Global) ------
    def _metric(self, name: str, statistic: str) -> Metric:
        return Metric(
            "AWS/CloudFront",
            name,
            {"DistributionId": self.distribution.id, "Region": "Global"},
            statistic,
            region=CLOUDFRONT_REGION,
            label=name,
        )

    def metric_requests(self) -> Metric:
        return self._metric("Requests", "Sum")

    def metric_5xx_error_rate(self) -> Metric:
        """Percent of responses that are 5xx (Average): the origin (S3) or CloudFront failed."""
        return self._metric("5xxErrorRate", "Average")

    def metric_4xx_error_rate(self) -> Metric:
        return self._metric("4xxErrorRate", "Average")

    def metric_bytes_downloaded(self) -> Metric:
        return self._metric("BytesDownloaded", "Sum")

    @property
    def domain_name(self) -> str:
        return self.distribution.domain_name

    @property
    def distribution_id(self) -> str:
        return self.distribution.id

    @property
    def hosted_zone_id(self) -> str:
        return self.distribution.hosted_zone_id

    @property
    def target_name(self) -> str:
        """Where an alias record of a custom domain points."""
        return self.distribution.domain_name

    @property
    def target_zone_id(self) -> str:
        return self.distribution.hosted_zone_id

    def add_alarms(self, monitoring: Monitoring) -> None:
        """AWS's recommended alarm on the CDN, and its graphs (alarms.py)."""
        alarms.add_alarms(monitoring, self)
