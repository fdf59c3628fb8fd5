"""A WAFv2 web ACL in front of the CDN (WebAclProps): scope CLOUDFRONT, so created in us-east-1
(the props' provider); AWS's managed rule groups, then a rate limit per client IP; every rule's
metrics on; optionally its request logs in CloudWatch Logs (the group's name must start with
`aws-waf-logs-`: WAF's docs, "Sending web ACL traffic logs to CloudWatch Logs")."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclDefaultActionAllow,
    Wafv2WebAclRule,
    Wafv2WebAclRuleAction,
    Wafv2WebAclRuleActionBlock,
    Wafv2WebAclRuleOverrideAction,
    Wafv2WebAclRuleOverrideActionCount,
    Wafv2WebAclRuleOverrideActionNone,
    Wafv2WebAclRuleVisibilityConfig,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
)
from constructs import Construct

from constructs_lib.validation import check
from constructs_lib.waf.props import WebAclProps

WAF_LOG_GROUP_PREFIX = "aws-waf-logs-"


def _visibility(name: str) -> Wafv2WebAclRuleVisibilityConfig:
    return Wafv2WebAclRuleVisibilityConfig(
        cloudwatch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


class WebAcl(Construct):
    """Exposes `.arn` (what the distribution's web_acl_id takes) and `.logs` (or None)."""

    def __init__(self, scope: Construct, id_: str, props: WebAclProps):
        check(props, f"WebAcl '{props.name}'")
        super().__init__(scope, id_)
        provider = props.provider
        rules = _rules(props)
        self.acl = Wafv2WebAcl(
            self,
            "WebAcl",
            name=props.name,
            description=f"{props.name}: in front of the image CDN",
            scope="CLOUDFRONT",
            default_action=Wafv2WebAclDefaultAction(allow=Wafv2WebAclDefaultActionAllow()),
            rule=rules,
            visibility_config=Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True,
                metric_name=props.name,
                sampled_requests_enabled=True,
            ),
            provider=provider,
        )
        self.logs: CloudwatchLogGroup | None = None
        if props.log_retention_days is not None:
            self.logs = CloudwatchLogGroup(
                self,
                "Logs",
                name=f"{WAF_LOG_GROUP_PREFIX}{props.name}",
                retention_in_days=props.log_retention_days,
                provider=provider,
            )
            Wafv2WebAclLoggingConfiguration(
                self,
                "Logging",
                resource_arn=self.acl.arn,
                log_destination_configs=[self.logs.arn],
                provider=provider,
            )

    @property
    def arn(self) -> str:
        return self.acl.arn


def _rules(props: WebAclProps) -> list[Wafv2WebAclRule]:
    """The managed rule groups that block, those that only count, then the rate limit."""
    rules = [
        Wafv2WebAclRule(
            name=group,
            priority=priority,
            override_action=Wafv2WebAclRuleOverrideAction(none=Wafv2WebAclRuleOverrideActionNone()),
            statement={"managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}},
            visibility_config=_visibility(group),
        )
        for priority, group in enumerate(props.managed_rule_groups)
    ]
    rules += [
        Wafv2WebAclRule(
            name=group,
            priority=len(rules) + offset,
            override_action=Wafv2WebAclRuleOverrideAction(
                count=Wafv2WebAclRuleOverrideActionCount()
            ),
            statement={"managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}},
            visibility_config=_visibility(group),
        )
        for offset, group in enumerate(props.counted_rule_groups)
    ]
    rules.append(
        Wafv2WebAclRule(
            name="rate-per-ip",
            priority=len(rules),
            action=Wafv2WebAclRuleAction(block=Wafv2WebAclRuleActionBlock()),
            statement={
                "rate_based_statement": {"limit": props.rate_limit, "aggregate_key_type": "IP"}
            },
            visibility_config=_visibility("rate-per-ip"),
        )
    )
    return rules
