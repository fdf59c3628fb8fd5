"""DNS pieces shared by the CDN and the API: the hosted zone, validated certificates, aliases."""

from __future__ import annotations

from cdktf import TerraformIterator, TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.acm_certificate import AcmCertificate
from cdktf_cdktf_provider_aws.acm_certificate_validation import AcmCertificateValidation
from cdktf_cdktf_provider_aws.data_aws_route53_zone import DataAwsRoute53Zone
from cdktf_cdktf_provider_aws.route53_record import Route53Record, Route53RecordAlias
from cdktf_cdktf_provider_aws.route53_zone import Route53Zone
from constructs import Construct

from constructs_lib.props import (
    DnsValidatedCertificateProps as DnsValidatedCertificateProps,
)
from constructs_lib.props import (
    HostedZoneProps as HostedZoneProps,
)


class HostedZone(Construct):
    """A public Route53 zone, looked up or created; exposes `.zone_id`."""

    def __init__(self, scope: Construct, id_: str, props: HostedZoneProps):
        super().__init__(scope, id_)
        if props.create:
            self.zone_id = Route53Zone(self, "Zone", name=props.name).zone_id
        else:
            self.zone_id = DataAwsRoute53Zone(
                self, "Zone", name=props.name, private_zone=False
            ).zone_id


class DnsValidatedCertificate(Construct):
    """An ACM certificate, its DNS validation records and the wait for issuance.

    `certificate_arn` comes from the validation resource, so whatever uses it waits until the
    certificate is issued.
    """

    def __init__(self, scope: Construct, id_: str, props: DnsValidatedCertificateProps):
        super().__init__(scope, id_)
        self.certificate = AcmCertificate(
            self,
            "Certificate",
            domain_name=props.domain_name,
            validation_method="DNS",
            provider=props.provider,
            # A replacement certificate must exist before the old one is detached.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        # domain_validation_options is a set, which Terraform cannot index: iterate it.
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
        self.validation = AcmCertificateValidation(
            self,
            "Validation",
            certificate_arn=self.certificate.arn,
            validation_record_fqdns=Token.as_list(
                TerraformIterator.from_resources(records).pluck_property("fqdn")
            ),
            provider=props.provider,
        )
        self.certificate_arn = self.validation.certificate_arn


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
