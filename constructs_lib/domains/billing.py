"""What the stage's names cost a month (constructs_lib/billing.py): the hosted zone. Public
certificates are free, and queries to alias records of AWS resources too."""

from __future__ import annotations

from constructs_lib.billing import Pricer, UsageKey, fixed, free

USAGE: dict[str, UsageKey] = {}

BILLING: dict[str, Pricer] = {
    "aws_route53_zone": fixed("route53.hosted-zone"),
    **free("aws_acm_certificate", "aws_acm_certificate_validation", "aws_route53_record"),
}
