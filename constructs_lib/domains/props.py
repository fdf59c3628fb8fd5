"""The settings of the custom domains (constructs_lib/domains/): the zone, the API's and the
CDN's hostnames, and what a zone and a DNS-validated certificate are given."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from constructs_lib.errors import Problem
from constructs_lib.metrics import Threshold, alarm_problems
from constructs_lib.validation import ACCOUNT_ID, ROLE_ARN, hostname_problems, set_by_the_stack

if TYPE_CHECKING:
    from cdktf import TerraformProvider


@dataclass(frozen=True)
class CustomDomain:
    """A hostname of our own for the CDN or the API, and the ACM certificate that covers it
    (for the CDN issued in us-east-1, for the API in the API's own region)."""

    hostname: str
    certificate_arn: str


@dataclass(frozen=True)
class ZoneDelegation:
    """How a stage's own zone is made reachable: an NS record for it in the parent zone (e.g.
    lego-api.com), written in the account that holds the parent through a role assumed there.
    """

    #: The parent zone, e.g. 'lego-api.com'.
    parent_zone_name: str
    #: The account that holds the parent zone.
    parent_account_id: str
    #: The role in that account that may write the stage's NS record in the parent zone (the
    #: DNS account's bootstrap creates one per stage: constructs_lib/dns_delegation/). None:
    #: the credentials themselves act there (the emulator: one account).
    role_arn: str | None
    #: The role there through which review plans read the parent zone (it writes nothing).
    #: None: review plans use `role_arn` too.
    read_role_arn: str | None = None
    #: Create the parent zone too, instead of looking it up. Only for an emulator, which starts
    #: empty (the emulator table). Default: look it up.
    create_parent_zone: bool = False

    def problems(self) -> list[Problem]:
        found = hostname_problems("parent_zone_name", self.parent_zone_name)
        if not ACCOUNT_ID.match(self.parent_account_id):
            found.append(
                Problem(
                    "parent_account_id",
                    f"{self.parent_account_id!r} is not an AWS account id",
                    "use the 12 digits of the account that holds the parent zone",
                )
            )
        for setting, arn in (("role_arn", self.role_arn), ("read_role_arn", self.read_role_arn)):
            if arn is None:
                continue
            match = ROLE_ARN.match(arn)
            if not match:
                found.append(
                    Problem(
                        setting,
                        f"{arn!r} is not an IAM role ARN",
                        "use arn:aws:iam::<parent account id>:role/<name>",
                    )
                )
            elif match.group(1) != self.parent_account_id:
                found.append(
                    Problem(
                        setting,
                        f"the role is in account {match.group(1)}, not in the parent zone's "
                        f"account {self.parent_account_id}",
                        "name the delegation role of the account that holds the parent zone",
                    )
                )
        return found


@dataclass(frozen=True)
class CertificateAlarms:
    """Each certificate's alarm (constructs_lib/domains/alarms.py)."""

    #: Days to expiry below this, one daily period. Default: 45 (ACM renews 60 days ahead, so
    #: fewer means its renewal is stuck).
    days_to_expiry: Threshold = Threshold(45, 1)

    def problems(self) -> list[Problem]:
        return alarm_problems(self)


@dataclass(frozen=True)
class CustomDomainsProps:
    """CustomDomains: the stage's hosted zone, a DNS-validated certificate for the API and one
    for the CDN, and the alias records that point the hostnames at them."""

    #: The API's hostname, e.g. images-dev.lego-api.com.
    api_hostname: str
    #: The CDN's hostname, e.g. cdn.images-dev.lego-api.com (not the API's: one hostname can
    #: point at only one of them).
    cdn_hostname: str
    #: The stage's own Route53 zone, holding both hostnames. Default: None, the API's
    #: hostname (the zone holds the API's name at its apex and the CDN's below it).
    hosted_zone_name: str | None = None
    #: True: this stack creates the zone (in the stage's account) and delegates it from the
    #: parent (`delegation`); False: it looks up a zone the stage's account holds already.
    #: Default: create.
    create_hosted_zone: bool = True
    #: The parent zone's NS record for a created zone. Default: none (required to create one:
    #: an undelegated zone answers nobody).
    delegation: ZoneDelegation | None = None
    #: The stage's names: a created zone gets prevent_destroy (deleting it is an outage, and a
    #: new one has new name servers). The stack sets it. Default: protected.
    protect_data: bool = field(
        default=True,
        metadata=set_by_the_stack("the stage's `protect_data`"),
    )
    #: The API's domain name, mapping and alias record (its certificate is issued either way).
    #: False only for an emulator that cannot apply them (the emulator table). Default: on.
    api_domain: bool = True
    #: Its certificates' alarm threshold. Default: 45 days.
    alarms: CertificateAlarms = CertificateAlarms()

    @property
    def zone_name(self) -> str:
        return self.hosted_zone_name if self.hosted_zone_name is not None else self.api_hostname

    def problems(self) -> list[Problem]:
        zone = self.zone_name
        found = self._delegation_problems()
        if not zone:
            found.append(
                Problem(
                    "hosted_zone_name",
                    "custom domains are on but no hosted zone is named",
                    "name the stage's Route53 zone, e.g. 'images-dev.lego-api.com', or set "
                    "domains=None",
                )
            )
        # A zone named after the API's hostname is checked as that hostname.
        zone_problems = hostname_problems("hosted_zone_name", zone)
        if self.hosted_zone_name is not None:
            found += zone_problems
        for setting, host in (
            ("api_hostname", self.api_hostname),
            ("cdn_hostname", self.cdn_hostname),
        ):
            found += hostname_problems(setting, host)
            if zone and not zone_problems and not (host == zone or host.endswith("." + zone)):
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
        found += [p.within("alarms") for p in self.alarms.problems()]
        return found

    def _delegation_problems(self) -> list[Problem]:
        if self.delegation is None:
            if not self.create_hosted_zone:
                return []
            return [
                Problem(
                    "delegation",
                    f"the stage creates the zone '{self.zone_name}' but nothing delegates it, "
                    "so no resolver would find its records (and certificate validation would "
                    "wait for records nobody can see)",
                    "set delegation=ZoneDelegation(parent_zone_name=..., parent_account_id=..., "
                    "role_arn=...), or create_hosted_zone=False to look up a zone the account "
                    "holds already",
                )
            ]
        found = [p.within("delegation") for p in self.delegation.problems()]
        parent, zone = self.delegation.parent_zone_name, self.zone_name
        if not self.create_hosted_zone:
            found.append(
                Problem(
                    "delegation",
                    "a looked-up zone is delegated already by whoever created it",
                    "remove delegation, or set create_hosted_zone=True",
                )
            )
        elif parent and zone and not zone.endswith("." + parent):
            found.append(
                Problem(
                    "delegation.parent_zone_name",
                    f"'{zone}' is not below the parent zone '{parent}', so the parent cannot "
                    "delegate it",
                    "name the zone the stage's zone is a subdomain of, e.g. 'lego-api.com'",
                )
            )
        return found


@dataclass(frozen=True)
class HostedZoneProps:
    name: str
    #: False: look up a zone that already exists (the usual case: the domain is registered
    #: elsewhere in the organisation). True: this stack owns the zone, with a CAA record that
    #: lets Amazon (ACM) issue its certificates. Default: look up.
    create: bool = False
    #: A created zone gets prevent_destroy. Default: off.
    protect: bool = False
    #: The provider (and so the account) the zone is in. Default: the stack's default.
    provider: TerraformProvider | None = None

    def problems(self) -> list[Problem]:
        return hostname_problems("name", self.name)


@dataclass(frozen=True)
class DnsValidatedCertificateProps:
    domain_name: str
    zone_id: str
    #: More names the certificate covers (subject alternative names), each validated in the
    #: same zone. Default: none.
    alternative_names: tuple[str, ...] = ()
    #: The provider (and so the region) that issues the certificate: CloudFront only accepts
    #: certificates from us-east-1; regional APIs need one from their own region.
    #: Default: the stack's default provider.
    provider: TerraformProvider | None = None

    def problems(self) -> list[Problem]:
        found = hostname_problems("domain_name", self.domain_name)
        for name in self.alternative_names:
            found += hostname_problems("alternative_names", name)
        if len({self.domain_name, *self.alternative_names}) != 1 + len(self.alternative_names):
            found.append(
                Problem(
                    "alternative_names",
                    "a name is listed twice",
                    "list each name once, the certificate's domain_name not among them",
                )
            )
        return found
