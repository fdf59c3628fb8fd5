"""WebAclProps: the WAF web ACL in front of the CDN (constructs_lib/waf/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict

from constructs_lib.errors import Problem
from constructs_lib.validation import retention_problems, set_by_the_stack

if TYPE_CHECKING:
    from cdktf import TerraformProvider

# AWS WAF's rate-based rule: requests per client IP per evaluation window (5 minutes by
# default); AWS's documented minimum is 10.
WAF_MINIMUM_RATE_LIMIT = 10
WAF_MAXIMUM_RATE_LIMIT = 2_000_000_000
# AWS's managed rule groups the web ACL uses by default: IPs with a bad reputation (bots,
# scanners) and known bad inputs (Log4j's JNDI lookups, among others).
DEFAULT_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesKnownBadInputsRuleSet",
)


@dataclass(frozen=True)
class WebAclProps:
    """A WAFv2 web ACL in front of the CDN (scope CLOUDFRONT, created in us-east-1): AWS's
    managed rule groups and a rate limit per client IP, each rule's metrics on."""

    name: str
    #: Requests per client IP per 5 minutes before it is blocked. Default: 2000.
    rate_limit: int = 2000
    #: AWS's managed rule groups (vendor AWS), evaluated in this order.
    managed_rule_groups: tuple[str, ...] = DEFAULT_MANAGED_RULE_GROUPS
    #: AWS's managed rule groups evaluated after those, whose matches are only counted (metrics,
    #: sampled requests, logs), never blocked. Default: the anonymous-IP list (VPNs, Tor,
    #: hosting providers): public images are fine to serve behind a VPN, but its counts show
    #: who scrapes from hosting ranges, to decide on blocking with figures.
    counted_rule_groups: tuple[str, ...] = ("AWSManagedRulesAnonymousIpList",)
    #: Days the ACL's request logs are kept in CloudWatch Logs (aws-waf-logs-<name>). None: no
    #: logs. Default: none.
    log_retention_days: int | None = None
    #: The provider (us-east-1) that creates it: CloudFront's web ACLs live there (the stack
    #: gives it).
    provider: TerraformProvider | None = field(
        default=None, compare=False, metadata=set_by_the_stack("the stack's us-east-1 provider")
    )

    def problems(self) -> list[Problem]:
        found = []
        if not WAF_MINIMUM_RATE_LIMIT <= self.rate_limit <= WAF_MAXIMUM_RATE_LIMIT:
            found.append(
                Problem(
                    "rate_limit",
                    f"{self.rate_limit} is outside what AWS WAF accepts for a rate-based rule "
                    f"({WAF_MINIMUM_RATE_LIMIT}-{WAF_MAXIMUM_RATE_LIMIT} per 5 minutes)",
                    f"use at least {WAF_MINIMUM_RATE_LIMIT}, e.g. 2000",
                )
            )
        groups = self.managed_rule_groups + self.counted_rule_groups
        if len(set(groups)) != len(groups):
            found.append(
                Problem("managed_rule_groups", "a rule group is listed twice", "list each once")
            )
        if self.log_retention_days is not None:
            found += retention_problems("log_retention_days", self.log_retention_days)
        return found


class WebAclChanges(TypedDict, total=False):
    """What a stage's row may change of WebAclProps (stacks/settings/stages.py): every field but
    its name, which the stage gives, and what the stack sets. mypy checks the stage table
    against it."""

    rate_limit: int
    managed_rule_groups: tuple[str, ...]
    counted_rule_groups: tuple[str, ...]
    log_retention_days: int | None
