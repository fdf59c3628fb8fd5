"""The DNS account's delegation roles (DnsDelegationProps): through them each real stage writes
its own zone's NS record in the parent zone (lego-api.com), and review plans read it.

    DnsDelegation(stack, "DnsDelegation", DnsDelegationProps(
        parent_zone_name="lego-api.com", account_id="444444444444",
        zones=(DelegatedZone("dev", "images-dev.lego-api.com", "<dev's deploy role ARN>"), ...),
        readers=("<each stage account's review role ARN>", ...),
    ))

- `image-service-dns-write-<stage>`, trusted only by that stage's deploy role: it may change
  the parent zone's records only where every record named is the stage's own zone name and of
  type NS (Route53's `ChangeResourceRecordSetsNormalizedRecordNames` and
  `ChangeResourceRecordSetsRecordTypes` condition keys: Route53's docs, "Using IAM policy
  conditions for fine-grained access control to manage resource record sets"), and read the
  zone and its changes.
- `image-service-dns-read`, trusted by the review roles: it reads the zone and changes nothing.

Whoever controls a name's NS record controls the name (and can get certificates for it), so no
other role of the service reaches a writer: the preview role and the review role are trusted by
none, and a stage's writer cannot touch another stage's name.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_route53_zone import DataAwsRoute53Zone
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.route53_zone import Route53Zone
from constructs import Construct

from constructs_lib.concern import document, statement
from constructs_lib.dns_delegation.props import (
    DNS_READER_ROLE,
    DNS_SESSION_SECONDS,
    DNS_WRITER_ROLE_PREFIX,
    DnsDelegationProps,
)
from constructs_lib.validation import check

# What reading the parent zone takes: the provider finds it by name (aws_route53_zone's data
# source lists zones by name, then reads the zone and its tags) and reads the record back.
READ_ZONE_ACTIONS = (
    "route53:GetHostedZone",
    "route53:ListResourceRecordSets",
    "route53:ListTagsForResource",
)
# Route53 authorizes these on no resource (their reasons: the domains concern's
# on_every_resource, constructs_lib/domains/).
FIND_ZONE_ACTIONS = ("route53:ListHostedZones", "route53:ListHostedZonesByName")
# The record's change is waited for until INSYNC.
CHANGE_ACTIONS = ("route53:GetChange",)
NAMES_KEY = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
TYPES_KEY = "route53:ChangeResourceRecordSetsRecordTypes"


class DnsDelegation(Construct):
    """Exposes `writers` (by stage), `reader` and `parent_zone_arn`."""

    def __init__(self, scope: Construct, id_: str, props: DnsDelegationProps):
        check(props, "DnsDelegation")
        super().__init__(scope, id_)
        if props.create_parent_zone:
            self.parent_zone_arn = Route53Zone(self, "ParentZone", name=props.parent_zone_name).arn
        else:
            self.parent_zone_arn = DataAwsRoute53Zone(
                self, "ParentZone", name=props.parent_zone_name, private_zone=False
            ).arn
        self.writers = {
            zone.stage: self._role(
                f"Writer-{zone.stage}",
                f"{DNS_WRITER_ROLE_PREFIX}{zone.stage}",
                [zone.deploy_role_arn],
                [
                    *self._reads(),
                    statement(
                        "DelegateOwnZoneOnly",
                        ("route53:ChangeResourceRecordSets",),
                        [self.parent_zone_arn],
                        condition={
                            # Every record the change names is the stage's zone, of type NS
                            # (ForAllValues over keys a change always carries; Null keeps an
                            # empty list from passing).
                            "ForAllValues:StringEquals": {
                                NAMES_KEY: [zone.zone_name],
                                TYPES_KEY: ["NS"],
                            },
                            "Null": {NAMES_KEY: "false", TYPES_KEY: "false"},
                        },
                    ),
                    statement("WaitForChanges", CHANGE_ACTIONS, ["arn:aws:route53:::change/*"]),
                ],
            )
            for zone in props.zones
        }
        self.reader = self._role("Reader", DNS_READER_ROLE, list(props.readers), self._reads())

    def _reads(self) -> list[dict[str, object]]:
        return [
            statement("ReadParentZone", READ_ZONE_ACTIONS, [self.parent_zone_arn]),
            statement("FindParentZone", FIND_ZONE_ACTIONS, ["*"]),
        ]

    def _role(
        self, id_: str, name: str, trusted: list[str], statements: list[dict[str, object]]
    ) -> IamRole:
        trust = document(
            [
                {
                    "Sid": "TrustedRolesOnly",
                    "Effect": "Allow",
                    "Principal": {"AWS": trusted},
                    "Action": "sts:AssumeRole",
                }
            ]
        )
        role = IamRole(
            self,
            id_,
            name=name,
            assume_role_policy=trust,
            max_session_duration=DNS_SESSION_SECONDS,
        )
        IamRolePolicy(self, f"{id_}Policy", name=name, role=role.id, policy=document(statements))
        return role
