"""An account's CI identity (construct.py, props.py), and what it grants across concerns
(permissions.py: a stage's log groups and the roles its deploy creates)."""

from constructs_lib.ci_identity import billing, permissions
from constructs_lib.concern import Concern

CONCERN = Concern(
    "ci_identity",
    families=permissions.FAMILIES,
    on_every_resource=permissions.ON_EVERY_RESOURCE,
    billing=billing.BILLING,
    usage=billing.USAGE,
)
