"""DnsDelegationProps: the roles in the account that holds the parent zone (lego-api.com)
through which each real stage writes its own zone's NS record there, and review plans read it
(constructs_lib/dns_delegation/).

One writer per stage, trusted only by that stage's deploy role, allowed to change only the NS
record of the stage's own zone name; one reader, trusted by the stages' review roles, that
changes nothing. The preview role and the review role reach no writer.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.errors import Problem
from constructs_lib.validation import ACCOUNT_ID, ROLE_ARN, hostname_problems

# The roles' names in the DNS account (the stages' settings name their ARNs).
DNS_WRITER_ROLE_PREFIX = "image-service-dns-write-"
DNS_READER_ROLE = "image-service-dns-read"
# The Terraform variable of a stage's stack holding the role through which its parent zone is
# reached: the stage's writer by default; review and drift plans set it (TF_VAR_<name>) to the
# reader (ops/review.py).
DNS_ROLE_VARIABLE = "dns_delegation_role_arn"
# One-hour sessions: a delegation's plan and apply take minutes.
DNS_SESSION_SECONDS = 3600


def dns_writer_role_arn(dns_account_id: str, stage: str) -> str:
    """The role through which `stage` writes its zone's NS record in the parent zone."""
    return f"arn:aws:iam::{dns_account_id}:role/{DNS_WRITER_ROLE_PREFIX}{stage}"


def dns_reader_role_arn(dns_account_id: str) -> str:
    """The role through which review plans read the parent zone."""
    return f"arn:aws:iam::{dns_account_id}:role/{DNS_READER_ROLE}"


@dataclass(frozen=True)
class DelegatedZone:
    """One stage's zone, delegated from the parent."""

    stage: str
    #: The stage's own zone, e.g. images-dev.lego-api.com: the one NS record its writer may
    #: change.
    zone_name: str
    #: The stage's deploy role (in the stage's account): the writer's only trustee.
    deploy_role_arn: str

    def problems(self) -> list[Problem]:
        found = hostname_problems("zone_name", self.zone_name)
        if not ROLE_ARN.match(self.deploy_role_arn):
            found.append(
                Problem(
                    "deploy_role_arn",
                    f"{self.deploy_role_arn!r} is not an IAM role ARN",
                    "name the stage's deploy role: arn:aws:iam::<account>:role/<name>",
                )
            )
        return found


@dataclass(frozen=True)
class DnsDelegationProps:
    """The DNS account's delegation roles for the parent zone `parent_zone_name`."""

    parent_zone_name: str
    #: The account that holds the parent zone (where the roles are created).
    account_id: str
    #: Each real stage's zone, and the deploy role that may write its NS record.
    zones: tuple[DelegatedZone, ...]
    #: The roles that may read the parent zone through the reader (the stages' review roles).
    readers: tuple[str, ...]
    #: Create the parent zone instead of looking it up: only on the emulator, which starts
    #: empty (the emulator table). Default: look it up.
    create_parent_zone: bool = False

    def problems(self) -> list[Problem]:
        found = hostname_problems("parent_zone_name", self.parent_zone_name)
        if not ACCOUNT_ID.match(self.account_id):
            found.append(
                Problem(
                    "account_id",
                    f"{self.account_id!r} is not an AWS account id",
                    "use the 12 digits of the account that holds the parent zone",
                )
            )
        for i, zone in enumerate(self.zones):
            found += [p.within(f"zones[{i}]") for p in zone.problems()]
            if not zone.zone_name.endswith("." + self.parent_zone_name):
                found.append(
                    Problem(
                        f"zones[{i}].zone_name",
                        f"{zone.zone_name!r} is not inside the parent zone "
                        f"{self.parent_zone_name!r}",
                        "delegate only names below the parent zone",
                    )
                )
        stages = [z.stage for z in self.zones]
        if len(set(stages)) != len(stages):
            found.append(Problem("zones", "a stage is named twice", "give each stage one zone"))
        for reader in self.readers:
            if not ROLE_ARN.match(reader):
                found.append(
                    Problem(
                        "readers",
                        f"{reader!r} is not an IAM role ARN",
                        "name the stages' review roles: arn:aws:iam::<account>:role/<name>",
                    )
                )
        return found
