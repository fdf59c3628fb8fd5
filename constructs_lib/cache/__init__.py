"""The Valkey cache in the private network: construct.py, props.py, permissions.py,
rules.py."""

from constructs_lib.cache import billing, permissions, rules
from constructs_lib.concern import Concern

CONCERN = Concern(
    "cache",
    families=permissions.FAMILIES,
    boundary=permissions.boundary,
    outage={
        "aws_elasticache_replication_group": (
            "cache: every handler's connections drop while a new one is created (10-20 minutes), "
            "and it starts empty, so every read goes to the table until it fills"
        ),
        "aws_elasticache_subnet_group": (
            "cache subnet group: the cache is replaced with it (every connection drops, and the "
            "new cache starts empty)"
        ),
    },
    rules=rules.RULES,
    billing=billing.BILLING,
    usage=billing.USAGE,
)
