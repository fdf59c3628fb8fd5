"""The network's deploy and review permissions, and what its flow-log role may do."""

from __future__ import annotations

from collections.abc import Sequence

from constructs_lib.ci_identity.props import DeployScope
from constructs_lib.concern import Family, Resources, Statement, statement

# What the network's flow-log role does in its log group (VPC Flow Logs' docs, "IAM role for
# publishing flow logs to CloudWatch Logs"; the group exists, so no CreateLogGroup).
FLOW_LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams")
# EC2's Describe actions: the deploy and review roles read the network with them (and Lambda
# checks a function's subnets and groups with them when the deploy role creates it).
EC2_DESCRIBE_ACTIONS = (
    "ec2:DescribeVpcs",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeSubnets",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribePrefixLists",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNatGateways",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeAddresses",
    "ec2:DescribeAddressesAttribute",
    "ec2:DescribeFlowLogs",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeAvailabilityZones",
)
# The flow-log role finds its log group (an action on no resource).
FLOW_LOG_ON_EVERY_RESOURCE = ("logs:DescribeLogGroups",)


def _ec2(kinds: tuple[str, ...]) -> Resources:
    return lambda s, a: [f"arn:aws:ec2:{s.region}:{a}:{kind}/*" for kind in kinds]


# The network's resources have generated ids: the account's, in the stage's region.
_NETWORK_KINDS = (
    "vpc",
    "subnet",
    "route-table",
    "security-group",
    "security-group-rule",
    "vpc-endpoint",
    "internet-gateway",
    "natgateway",
    "elastic-ip",
    "vpc-flow-log",
    "network-interface",
)

FAMILIES = (
    # The private network: generated ids, so the account's network resources in the region
    # (reading them is EC2's Describe*, which authorizes on no resource: READ_ON_EVERY_RESOURCE).
    Family(
        "Network",
        _ec2(_NETWORK_KINDS),
        read=(),
        write=(
            "ec2:CreateVpc",
            "ec2:DeleteVpc",
            "ec2:ModifyVpcAttribute",
            "ec2:CreateSubnet",
            "ec2:DeleteSubnet",
            "ec2:ModifySubnetAttribute",
            "ec2:CreateRouteTable",
            "ec2:DeleteRouteTable",
            "ec2:AssociateRouteTable",
            "ec2:DisassociateRouteTable",
            "ec2:CreateRoute",
            "ec2:DeleteRoute",
            "ec2:CreateVpcEndpoint",
            "ec2:ModifyVpcEndpoint",
            "ec2:DeleteVpcEndpoints",
            "ec2:CreateSecurityGroup",
            "ec2:DeleteSecurityGroup",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
            "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
            "ec2:CreateInternetGateway",
            "ec2:AttachInternetGateway",
            "ec2:DetachInternetGateway",
            "ec2:DeleteInternetGateway",
            "ec2:AllocateAddress",
            "ec2:ReleaseAddress",
            "ec2:DisassociateAddress",
            "ec2:CreateNatGateway",
            "ec2:DeleteNatGateway",
            "ec2:CreateFlowLogs",
            "ec2:DeleteFlowLogs",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ),
        types=(
            "aws_vpc",
            "aws_default_security_group",
            "aws_subnet",
            "aws_route_table",
            "aws_route_table_association",
            "aws_route",
            "aws_vpc_endpoint",
            "aws_security_group",
            "aws_security_group_rule",
            "aws_internet_gateway",
            "aws_eip",
            "aws_nat_gateway",
            "aws_flow_log",
        ),
        concern="network",
        read_anywhere=EC2_DESCRIBE_ACTIONS,
    ),
    # Lambda's network interfaces in the stage's subnets: the provider detaches and deletes the
    # ones Lambda leaves behind before a security group or subnet goes (its ec2 service,
    # deleteLingeringENIs), else destroying or replacing the network fails once handlers joined
    # it. DetachNetworkInterface authorizes on the interface and the instance it is attached to.
    Family(
        "LingeringInterfaces",
        _ec2(("network-interface", "instance")),
        read=(),
        write=("ec2:DetachNetworkInterface", "ec2:DeleteNetworkInterface"),
        concern="network",
    ),
)


def boundary(stages: Sequence[DeployScope], account: str) -> list[Statement]:
    """The flow-log role writes the stage's flow logs."""
    return [
        statement(
            "NetworkFlowLogs",
            FLOW_LOG_ACTIONS,
            [f"arn:aws:logs:{s.region}:{account}:log-group:/aws/vpc/{s.name}:*" for s in stages],
        )
    ]
