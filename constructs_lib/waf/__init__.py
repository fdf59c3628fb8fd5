"""The WAF web ACL in front of the CDN: construct.py, props.py, permissions.py."""

from constructs_lib.concern import Concern
from constructs_lib.waf import billing, permissions

CONCERN = Concern(
    "waf",
    families=permissions.FAMILIES,
    log_groups=("aws-waf-logs-{stack}-*",),
    billing=billing.BILLING,
    usage=billing.USAGE,
)
