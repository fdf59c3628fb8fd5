"""A Lambda handler of the service, its role and log group: construct.py, props.py,
permissions.py."""

from constructs_lib.concern import Concern
from constructs_lib.image_handler import billing, permissions

_NETWORK_INTERFACES = (
    "a handler in a VPC: Lambda creates, describes and deletes the function's network "
    "interfaces with its role, actions EC2 authorizes only on every resource (Lambda's docs, "
    "'Giving Lambda functions access to resources in an Amazon VPC'; AWS's managed "
    "AWSLambdaVPCAccessExecutionRole grants exactly these on '*')"
)
_TRACES = "X-Ray's write actions have no resource-level permissions"
CONCERN = Concern(
    "image_handler",
    families=permissions.FAMILIES,
    passes_roles_to=("lambda.amazonaws.com",),
    boundary=permissions.boundary,
    boundary_anywhere=permissions.HANDLER_ON_EVERY_RESOURCE,
    log_groups=("/aws/lambda/{stack}-*",),
    managed_policies={
        "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole": (
            "a handler in a VPC: Lambda creates, describes and deletes the function's network "
            "interfaces, which EC2 authorizes only on every resource"
        ),
        "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess": (
            "a handler's traces: X-Ray's write actions have no resource-level permissions"
        ),
    },
    on_every_resource={
        "xray:PutTraceSegments": _TRACES,
        "xray:PutTelemetryRecords": _TRACES,
        **{action: _NETWORK_INTERFACES for action in permissions.LAMBDA_VPC_ACCESS_ACTIONS},
    },
    billing=billing.BILLING,
    usage=billing.USAGE,
)
