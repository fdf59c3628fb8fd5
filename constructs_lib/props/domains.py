"""The settings of the custom domains (constructs_lib/domains.py): the zone, the API's and the
CDN's hostnames, and what a zone and a DNS-validated certificate are given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from constructs_lib.errors import Problem
from constructs_lib.validation import hostname_problems

if TYPE_CHECKING:
    from cdktf import TerraformProvider


@dataclass(frozen=True)
class CustomDomain:
    """A hostname of our own for the CDN or the API, and the ACM certificate that covers it
    (for the CDN issued in us-east-1, for the API in the API's own region)."""

    hostname: str
    certificate_arn: str


@dataclass(frozen=True)
class CustomDomainsProps:
    """CustomDomains: the stage's hosted zone, a DNS-validated certificate for the API and one
    for the CDN, and the alias records that point the hostnames at them."""

    #: The API's hostname, e.g. images-dev.lego-api.com.
    api_hostname: str
    #: The CDN's hostname, e.g. cdn.images-dev.lego-api.com (not the API's: one hostname can
    #: point at only one of them).
    cdn_hostname: str
    #: The Route53 zone both hostnames are in. Default: lego-api.com.
    hosted_zone_name: str = "lego-api.com"
    #: True: this stack creates the zone; False: it looks up one that exists. Default: look up.
    create_hosted_zone: bool = False
    #: The API's domain name, mapping and alias record (its certificate is issued either way).
    #: False only for an emulator that cannot apply them (the emulator table). Default: on.
    api_domain: bool = True

    def problems(self) -> list[Problem]:
        zone = self.hosted_zone_name
        found = []
        if not zone:
            found.append(
                Problem(
                    "hosted_zone_name",
                    "custom domains are on but no hosted zone is named",
                    "name the Route53 zone, e.g. 'lego-api.com', or set domains=None",
                )
            )
        found += hostname_problems("hosted_zone_name", zone)
        for setting, host in (
            ("api_hostname", self.api_hostname),
            ("cdn_hostname", self.cdn_hostname),
        ):
            found += hostname_problems(setting, host)
            if zone and not (host == zone or host.endswith("." + zone)):
                found.append(
                    Problem(
                        setting,
                        f"'{host}' is not inside the zone '{zone}'",
                        "use a hostname under hosted_zone_name, or change the zone",
                    )
                )
        if self.api_hostname == self.cdn_hostname:
            found.append(
                Problem(
                    "cdn_hostname",
                    f"the CDN and the API both claim '{self.cdn_hostname}'; one hostname can "
                    "point at only one of them",
                    "give the CDN its own name, e.g. 'cdn.images.lego-api.com'",
                )
            )
        return found


@dataclass(frozen=True)
class HostedZoneProps:
    name: str
    #: False: look up a zone that already exists (the usual case: the domain is registered
    #: elsewhere in the organisation). True: this stack owns the zone. Default: look up.
    create: bool = False

    def problems(self) -> list[Problem]:
        return hostname_problems("name", self.name)


@dataclass(frozen=True)
class DnsValidatedCertificateProps:
    domain_name: str
    zone_id: str
    #: The provider (and so the region) that issues the certificate: CloudFront only accepts
    #: certificates from us-east-1; regional APIs need one from their own region.
    #: Default: the stack's default provider.
    provider: TerraformProvider | None = None

    def problems(self) -> list[Problem]:
        return hostname_problems("domain_name", self.domain_name)
