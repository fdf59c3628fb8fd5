"""What the web ACL costs a month (constructs_lib/billing.py): the ACL, each rule or rule group
(AWS managed groups without a subscription fee cost their rule charge alone), and the
requests it inspects (the CDN's). Its logs are charged at their log group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from constructs_lib.billing import Charge, Pricer, Usage, UsageKey, blocks, free

USAGE = {"waf.requests_millions": UsageKey(5.0, "million requests inspected a month")}


def _acl(body: Mapping[str, Any], usage: Usage) -> list[Charge]:
    rules = len(blocks(body, "rule"))
    return [
        Charge("wafv2.web-acl", 1.0, "1 web ACL"),
        Charge("wafv2.rule", float(rules), f"{rules} rule(s)"),
        Charge(
            "wafv2.request-million", usage("waf.requests_millions"), "usage waf.requests_millions"
        ),
    ]


BILLING: dict[str, Pricer] = {
    "aws_wafv2_web_acl": _acl,
    **free("aws_wafv2_web_acl_logging_configuration"),
}
