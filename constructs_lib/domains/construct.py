"""Custom domains: the hosted zone, DNS-validated certificates and alias records, and
CustomDomains, which puts them together for a stage's API and CDN."""

from __future__ import annotations

from typing import Protocol

from cdktf import TerraformIterator, TerraformProvider, TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.acm_certificate import AcmCertificate
from cdktf_cdktf_provider_aws.acm_certificate_validation import (
    AcmCertificateValidation,
    AcmCertificateValidationTimeouts,
)
from cdktf_cdktf_provider_aws.data_aws_route53_zone import DataAwsRoute53Zone
from cdktf_cdktf_provider_aws.route53_record import Route53Record, Route53RecordAlias
from cdktf_cdktf_provider_aws.route53_zone import Route53Zone
from constructs import Construct

from constructs_lib.domains import alarms
from constructs_lib.domains.props import CustomDomain, CustomDomainsProps, ZoneDelegation
from constructs_lib.domains.props import (
    DnsValidatedCertificateProps as DnsValidatedCertificateProps,
)
from constructs_lib.domains.props import HostedZoneProps as HostedZoneProps
from constructs_lib.metrics import Metric
from constructs_lib.monitoring.construct import Monitoring
from constructs_lib.shared import CLOUDFRONT_REGION, WAIT_TIMEOUT
from constructs_lib.validation import check

# Who may issue certificates for a zone we own: Amazon (ACM) only (AWS's ACM docs, "CAA
# records"); issuewild the same, as ACM issues no wildcard for us but may be asked to.
CAA_RECORDS = ('0 issue "amazon.com"', '0 issuewild "amazon.com"')
# The NS record's TTL in the parent zone: Route53's own for a zone's NS record (2 days).
DELEGATION_TTL_SECONDS = 172_800


class HostedZone(Construct):
    """A public Route53 zone, looked up or created (with its CAA record); exposes `.zone_id`
    and, for a created zone, `.name_servers`."""

    def __init__(self, scope: Construct, id_: str, props: HostedZoneProps):
        check(props, f"HostedZone '{props.name}'")
        super().__init__(scope, id_)
        self.name_servers: list[str] | None = None
        if props.create:
            zone = Route53Zone(
                self,
                "Zone",
                name=props.name,
                provider=props.provider,
                lifecycle=TerraformResourceLifecycle(prevent_destroy=props.protect)
                if props.protect
                else None,
            )
            self.zone_id, self.name_servers = zone.zone_id, zone.name_servers
            Route53Record(
                self,
                "Caa",
                zone_id=zone.zone_id,
                name=props.name,
                type="CAA",
                ttl=3600,
                records=list(CAA_RECORDS),
                provider=props.provider,
            )
        else:
            self.zone_id = DataAwsRoute53Zone(
                self, "Zone", name=props.name, private_zone=False, provider=props.provider
            ).zone_id


class DnsValidatedCertificate(Construct):
    """An ACM certificate, its DNS validation records and the wait for issuance.

    `certificate_arn` comes from the validation resource, so whatever uses it waits until the
    certificate is issued.
    """

    def __init__(self, scope: Construct, id_: str, props: DnsValidatedCertificateProps):
        check(props, f"DnsValidatedCertificate '{props.domain_name}'")
        super().__init__(scope, id_)
        self.certificate = AcmCertificate(
            self,
            "Certificate",
            domain_name=props.domain_name,
            subject_alternative_names=list(props.alternative_names) or None,
            validation_method="DNS",
            provider=props.provider,
            # A replacement certificate must exist before the old one is detached.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        # domain_validation_options is a set, which Terraform cannot index: one record per
        # name, keyed by the name (known at plan, unlike the records' values), as the
        # provider's docs for aws_acm_certificate_validation write it -- without tolist(),
        # whose list of a set with unknown members is unknown as a whole, so a certificate
        # with a second name would not plan.
        options = TerraformIterator.from_complex_list(
            self.certificate.domain_validation_options, "domain_name"
        )
        records = Route53Record(
            self,
            "ValidationRecord",
            for_each=options,
            zone_id=props.zone_id,
            name=options.get_string("resource_record_name"),
            type=options.get_string("resource_record_type"),
            records=[options.get_string("resource_record_value")],
            ttl=60,
            allow_overwrite=True,
        )
        records.add_override(
            "for_each",
            "${{ for option in "
            + f"{self.certificate.fqn}.domain_validation_options"
            + " : option.domain_name => option }}",
        )
        self.validation = AcmCertificateValidation(
            self,
            "Validation",
            certificate_arn=self.certificate.arn,
            validation_record_fqdns=Token.as_list(
                TerraformIterator.from_resources(records).pluck_property("fqdn")
            ),
            provider=props.provider,
            # The provider waits up to 75 minutes by default: past the deploy job's timeout.
            timeouts=AcmCertificateValidationTimeouts(create=WAIT_TIMEOUT),
        )
        self.certificate_arn = self.validation.certificate_arn
        self.domain_name = props.domain_name

    def metric_days_to_expiry(self, region: str | None = None) -> Metric:
        """Days until the certificate expires (Minimum, daily), where ACM publishes it: the
        region that issued it. ACM renews 60 days ahead; fewer means the renewal is stuck."""
        return Metric(
            "AWS/CertificateManager",
            "DaysToExpiry",
            {"CertificateArn": self.certificate.arn},
            "Minimum",
            period=86_400,
            region=region,
            label=f"DaysToExpiry {self.domain_name}",
        )


def alias_records(
    scope: Construct,
    id_: str,
    *,
    zone_id: str,
    name: str,
    target_name: str,
    target_zone_id: str,
    ipv6: bool,
) -> list[Route53Record]:
    """A (and, for IPv6 targets, AAAA) alias records from `name` to an AWS endpoint."""
    record_types = ("A", "AAAA") if ipv6 else ("A",)
    return [
        Route53Record(
            scope,
            f"{id_}{record_type}",
            zone_id=zone_id,
            name=name,
            type=record_type,
            alias=Route53RecordAlias(
                name=target_name, zone_id=target_zone_id, evaluate_target_health=False
            ),
        )
        for record_type in record_types
    ]


class AliasTarget(Protocol):
    """What a hostname can be aliased to: an AWS endpoint's name and its Route53 zone."""

    @property
    def target_name(self) -> str: ...

    @property
    def target_zone_id(self) -> str: ...


class CustomDomains:
    """A stage's custom domains in `scope` (CustomDomainsProps): its hosted zone (looked up, or
    created and delegated from the parent zone through `parent_provider`, the parent's
    account), a DNS-validated certificate for the CDN, issued by `cdn_certificate_provider`
    (CloudFront takes certificates from us-east-1 only), and one for the API; `cdn_domain` and
    `api_domain` go into the CDN's and the API's props, and `alias(...)` points each hostname
    at what serves it. The resources are created directly in `scope` with fixed ids
    (HostedZone, ParentZone, Delegation, CdnCertificate, ApiCertificate, CdnAlias*,
    ApiAlias*)."""

    def __init__(
        self,
        scope: Construct,
        props: CustomDomainsProps,
        cdn_certificate_provider: TerraformProvider | None = None,
        parent_provider: TerraformProvider | None = None,
    ):
        check(props, "CustomDomains")
        self.scope, self.props = scope, props
        zone = HostedZone(
            scope,
            "HostedZone",
            HostedZoneProps(
                name=props.zone_name,
                create=props.create_hosted_zone,
                protect=props.protect_data,
            ),
        )
        self.zone_id = zone.zone_id
        if props.delegation is not None and zone.name_servers is not None:
            self._delegate(props.zone_name, zone.name_servers, props.delegation, parent_provider)
        cdn_certificate = DnsValidatedCertificate(
            scope,
            "CdnCertificate",
            DnsValidatedCertificateProps(
                domain_name=props.cdn_hostname,
                zone_id=self.zone_id,
                provider=cdn_certificate_provider,
            ),
        )
        api_certificate = DnsValidatedCertificate(
            scope,
            "ApiCertificate",
            DnsValidatedCertificateProps(domain_name=props.api_hostname, zone_id=self.zone_id),
        )
        #: Each certificate by what it serves, with the region that issued it (the CDN's:
        #: us-east-1; None: the stack's).
        self.certificates = {
            "cdn": (cdn_certificate, CLOUDFRONT_REGION),
            "api": (api_certificate, None),
        }
        self.cdn_domain = CustomDomain(props.cdn_hostname, cdn_certificate.certificate_arn)
        self.api_domain = (
            CustomDomain(props.api_hostname, api_certificate.certificate_arn)
            if props.api_domain
            else None
        )

    def _delegate(
        self,
        zone_name: str,
        name_servers: list[str],
        delegation: ZoneDelegation,
        provider: TerraformProvider | None,
    ) -> None:
        """The parent zone (looked up, or on an emulator created) and its NS record for the
        stage's zone, both through `provider` (the parent's account)."""
        parent = HostedZone(
            self.scope,
            "ParentZone",
            HostedZoneProps(
                name=delegation.parent_zone_name,
                create=delegation.create_parent_zone,
                provider=provider,
            ),
        )
        Route53Record(
            self.scope,
            "Delegation",
            zone_id=parent.zone_id,
            name=zone_name,
            type="NS",
            ttl=DELEGATION_TTL_SECONDS,
            records=name_servers,
            provider=provider,
        )

    def alias(self, id_: str, domain: CustomDomain, target: AliasTarget, ipv6: bool) -> None:
        """A and (ipv6) AAAA alias records from the domain's hostname to `target`."""
        alias_records(
            self.scope,
            id_,
            zone_id=self.zone_id,
            name=domain.hostname,
            target_name=target.target_name,
            target_zone_id=target.target_zone_id,
            ipv6=ipv6,
        )

    def add_alarms(self, monitoring: Monitoring) -> None:
        """An expiry alarm on each certificate (alarms.py)."""
        alarms.add_alarms(monitoring, self)
