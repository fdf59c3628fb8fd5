"""The custom domains: the stage's zone and its delegation, certificates, alias records
(construct.py, props.py, permissions.py)."""

from constructs_lib.concern import Concern
from constructs_lib.domains import billing, permissions

CONCERN = Concern(
    "domains",
    families=permissions.FAMILIES,
    identity={
        "aws_route53_zone": (
            "hosted zone: a new zone gets new name servers, and resolvers keep asking the old ones "
            "for up to the delegation's TTL (2 days): the stage's names stop resolving"
        ),
    },
    on_every_resource={
        "acm:RequestCertificate": "a certificate's ARN does not exist before it is requested",
        "route53:CreateHostedZone": "a zone's id does not exist before it is created",
        "route53:ListHostedZones": "the parent zone is found by listing zones",
        "route53:ListHostedZonesByName": "the parent zone is found by listing zones by name",
    },
    billing=billing.BILLING,
    usage=billing.USAGE,
)
