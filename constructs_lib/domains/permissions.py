"""The custom domains' deploy and review permissions: certificates, the stage's zone, its
records."""

from __future__ import annotations

from constructs_lib.concern import Family

RECORD_NAMES_KEY = "route53:ChangeResourceRecordSetsNormalizedRecordNames"

FAMILIES = (
    Family(
        "Certificates",
        lambda s, a: [f"arn:aws:acm:*:{a}:certificate/*"],
        read=("acm:DescribeCertificate", "acm:ListTagsForCertificate"),
        write=(
            "acm:DeleteCertificate",
            "acm:AddTagsToCertificate",
            "acm:RemoveTagsFromCertificate",
        ),
        types=("aws_acm_certificate", "aws_acm_certificate_validation"),
        concern="domains",
        write_anywhere=("acm:RequestCertificate",),
    ),
    Family(
        "Zones",
        lambda s, a: ["arn:aws:route53:::hostedzone/*"],
        read=(
            "route53:GetHostedZone",
            "route53:ListResourceRecordSets",
            "route53:ListTagsForResource",
            "route53:GetDNSSEC",
        ),
        write=("route53:DeleteHostedZone", "route53:ChangeTagsForResource"),
        types=("aws_route53_zone",),
        concern="domains",
        read_anywhere=("route53:ListHostedZones", "route53:ListHostedZonesByName"),
        write_anywhere=("route53:CreateHostedZone",),
    ),
    # Records only of the stage's own names (its zone and below): Route53 authorizes a change on
    # the zone, and conditions it on every record the change names (Route53's docs, "Using IAM
    # policy conditions for fine-grained access control to manage resource record sets").
    Family(
        "ZoneRecords",
        lambda s, a: ["arn:aws:route53:::hostedzone/*"],
        read=(),
        write=("route53:ChangeResourceRecordSets",),
        types=("aws_route53_record",),
        concern="domains",
        condition=lambda scopes: {
            "ForAllValues:StringLike": {
                RECORD_NAMES_KEY: sorted({n for s in scopes for n in s.record_names})
            },
            "Null": {RECORD_NAMES_KEY: "false"},
        },
    ),
    Family(
        "ZoneChanges",
        lambda s, a: ["arn:aws:route53:::change/*"],
        read=("route53:GetChange",),
        concern="domains",
    ),
)
