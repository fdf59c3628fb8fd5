"""The WAF web ACL in front of the CDN: construct.py, props.py, permissions.py."""

from constructs_lib.concern import Concern
from constructs_lib.waf import permissions

CONCERN = Concern(
    "waf",
    families=permissions.FAMILIES,
    log_groups=("aws-waf-logs-{stack}-*",),
)
