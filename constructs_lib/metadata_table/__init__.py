"""The metadata table (DynamoDB): construct.py, props.py, permissions.py, rules.py, alarms on
it in monitoring's construct."""

from constructs_lib.concern import Concern
from constructs_lib.metadata_table import billing, permissions, rules

CONCERN = Concern(
    "metadata_table",
    families=permissions.FAMILIES,
    boundary=permissions.boundary,
    data={"aws_dynamodb_table": "metadata table"},
    rules=rules.RULES,
    billing=billing.BILLING,
    usage=billing.USAGE,
)
