"""The private network: construct.py, props.py, permissions.py, rules.py."""

from constructs_lib.concern import Concern
from constructs_lib.network import billing, permissions, rules

_EC2_DESCRIBE = "EC2's Describe actions authorize on no resource (they list what exists)"
CONCERN = Concern(
    "network",
    families=permissions.FAMILIES,
    passes_roles_to=("vpc-flow-logs.amazonaws.com",),
    boundary=permissions.boundary,
    boundary_anywhere=permissions.FLOW_LOG_ON_EVERY_RESOURCE,
    log_groups=("/aws/vpc/{stack}", "/aws/vpc/{stack}:*"),
    outage={
        "aws_vpc": (
            "VPC: its subnets, security groups, the cache and every handler placed in it are "
            "replaced with it; the handlers cannot reach the cache until all are re-created"
        ),
    },
    on_every_resource={action: _EC2_DESCRIBE for action in permissions.EC2_DESCRIBE_ACTIONS},
    rules=rules.RULES,
    billing=billing.BILLING,
    usage=billing.USAGE,
)
