"""The private network of a stage (NetworkProps): a VPC with one private subnet per availability
zone, S3 and DynamoDB reached through gateway endpoints, optionally a NAT gateway per zone, and
flow logs.

    network = Network(stack, "Network", NetworkProps(name="image-service-production"))
    group = network.security_group(handler, "SecurityGroup", "...", "...")

What joins the network gets a security group of its own from `security_group`: nothing may
connect to it (no ingress), and it may only open HTTPS connections to S3 and DynamoDB through
their gateway endpoints (and, with NAT, to the internet); a grant adds exactly the connection
it needs (Cache.grant_connect). The VPC's default security group is taken over with no rules,
so nothing placed in the VPC without a group of its own can talk at all.

Gateway endpoints for S3 and DynamoDB are free and keep that traffic on AWS's network; a handler
in the private subnets reaches nothing else without NAT (Lambda's docs, "Giving Lambda functions
access to resources in an Amazon VPC": internet access from a VPC function needs a NAT gateway).
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
)
from cdktf_cdktf_provider_aws.data_aws_region import DataAwsRegion
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.security_group_rule import SecurityGroupRule
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from constructs import Construct

from constructs_lib.grants import service_trust
from constructs_lib.network.permissions import FLOW_LOG_ACTIONS
from constructs_lib.network.props import FlowLogs, NetworkProps
from constructs_lib.shared import PERMISSIONS_BOUNDARY_CONTEXT
from constructs_lib.validation import check

HTTPS = 443
# The services a handler reaches without NAT: gateway endpoints exist for these two only.
GATEWAY_ENDPOINT_SERVICES = ("s3", "dynamodb")
# The flow logs' log group (its name is a prefix the account's boundary lets the role write).
FLOW_LOG_GROUP_PREFIX = "/aws/vpc/"


def egress_rule(
    scope: Construct,
    id_: str,
    security_group_id: str,
    port: int,
    description: str,
    *,
    to_group: str | None = None,
    to_prefix_list: str | None = None,
    to_cidr: str | None = None,
) -> SecurityGroupRule:
    """One TCP port out of a security group, to another group, a prefix list or a block.
    (aws_security_group_rule: moto drops the description of aws_vpc_security_group_*_rule, so
    those would never re-plan empty on the emulator.)"""
    return SecurityGroupRule(
        scope,
        id_,
        type="egress",
        security_group_id=security_group_id,
        protocol="tcp",
        from_port=port,
        to_port=port,
        description=description,
        source_security_group_id=to_group,
        prefix_list_ids=[to_prefix_list] if to_prefix_list else None,
        cidr_blocks=[to_cidr] if to_cidr else None,
    )


def ingress_rule(
    scope: Construct,
    id_: str,
    security_group_id: str,
    port: int,
    description: str,
    from_group: str,
) -> SecurityGroupRule:
    """One TCP port into a security group, from another group only."""
    return SecurityGroupRule(
        scope,
        id_,
        type="ingress",
        security_group_id=security_group_id,
        protocol="tcp",
        from_port=port,
        to_port=port,
        description=description,
        source_security_group_id=from_group,
    )


class Network(Construct):
    """Exposes `.vpc_id`, `.private_subnet_ids` and `security_group()` for what joins it."""

    def __init__(self, scope: Construct, id_: str, props: NetworkProps):
        check(props, f"Network '{props.name}'")
        super().__init__(scope, id_)
        self.props = props
        self.region = DataAwsRegion(self, "Region")
        self.vpc = Vpc(
            self,
            "Vpc",
            cidr_block=props.cidr,
            # The cache's and the endpoints' names resolve inside the VPC.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": props.name},
        )
        # The VPC's default group, taken over with no rules: nothing in it may talk.
        DefaultSecurityGroup(self, "DefaultSecurityGroup", vpc_id=self.vpc.id)
        private, public = props.subnet_cidrs()
        self._private_subnets = [
            self._subnet(f"Private{i}", block, props.zone_ids[i], f"{props.name}-private-{i}")
            for i, block in enumerate(private)
        ]
        self._private_route_tables = []
        for i, subnet in enumerate(self._private_subnets):
            table = RouteTable(
                self,
                f"PrivateRoutes{i}",
                vpc_id=self.vpc.id,
                tags={"Name": f"{props.name}-private-{i}"},
            )
            RouteTableAssociation(
                self, f"PrivateRoutes{i}Subnet", subnet_id=subnet.id, route_table_id=table.id
            )
            self._private_route_tables.append(table)
        self.endpoints = {
            service: VpcEndpoint(
                self,
                f"{service.capitalize()}Endpoint",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{self.region.name}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[t.id for t in self._private_route_tables],
                tags={"Name": f"{props.name}-{service}"},
            )
            for service in GATEWAY_ENDPOINT_SERVICES
        }
        if props.nat_gateways:
            self._nat(public)
        if props.flow_logs is not None:
            self._flow_logs(props.flow_logs)

    def _subnet(self, id_: str, block: str, zone_id: str, name: str) -> Subnet:
        return Subnet(
            self,
            id_,
            vpc_id=self.vpc.id,
            cidr_block=block,
            availability_zone_id=zone_id,
            map_public_ip_on_launch=False,
            tags={"Name": name},
        )

    def _nat(self, public_blocks: tuple[str, ...]) -> None:
        """A public subnet and a NAT gateway per zone; each zone's private subnets send what is
        not for the VPC or an endpoint to their own zone's gateway (a zone's outage leaves the
        others' traffic alone)."""
        name = self.props.name
        gateway = InternetGateway(self, "InternetGateway", vpc_id=self.vpc.id, tags={"Name": name})
        public_routes = RouteTable(
            self, "PublicRoutes", vpc_id=self.vpc.id, tags={"Name": f"{name}-public"}
        )
        Route(
            self,
            "PublicDefaultRoute",
            route_table_id=public_routes.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway.id,
        )
        for i, block in enumerate(public_blocks):
            subnet = self._subnet(f"Public{i}", block, self.props.zone_ids[i], f"{name}-public-{i}")
            RouteTableAssociation(
                self, f"PublicRoutes{i}Subnet", subnet_id=subnet.id, route_table_id=public_routes.id
            )
            address = Eip(self, f"NatAddress{i}", domain="vpc", tags={"Name": f"{name}-nat-{i}"})
            nat = NatGateway(
                self,
                f"Nat{i}",
                subnet_id=subnet.id,
                allocation_id=address.id,
                tags={"Name": f"{name}-{i}"},
                depends_on=[gateway],
            )
            Route(
                self,
                f"PrivateDefaultRoute{i}",
                route_table_id=self._private_route_tables[i].id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat.id,
            )

    def _flow_logs(self, flow_logs: FlowLogs) -> None:
        """The VPC's flow logs into a log group of their own, written by a role that only VPC
        Flow Logs acting for this account may assume (the confused-deputy condition of the
        Flow Logs docs, "IAM role for publishing flow logs to CloudWatch Logs")."""
        name = self.props.name
        self.flow_log_group = CloudwatchLogGroup(
            self,
            "FlowLogGroup",
            name=f"{FLOW_LOG_GROUP_PREFIX}{name}",
            retention_in_days=flow_logs.retention_days,
        )
        role = IamRole(
            self,
            "FlowLogRole",
            name=f"{name}-flow-logs",
            assume_role_policy=self._flow_log_trust().json,
            permissions_boundary=self.node.try_get_context(PERMISSIONS_BOUNDARY_CONTEXT),
        )
        access = DataAwsIamPolicyDocument(
            self,
            "FlowLogAccess",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="WriteFlowLogs",
                    effect="Allow",
                    actions=list(FLOW_LOG_ACTIONS),
                    resources=[f"{self.flow_log_group.arn}:*"],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="FindLogGroups",
                    effect="Allow",
                    actions=["logs:DescribeLogGroups"],
                    resources=["*"],
                ),
            ],
        )
        policy = IamRolePolicy(
            self, "FlowLogPolicy", name=f"{name}-flow-logs", role=role.id, policy=access.json
        )
        self.flow_log = FlowLog(
            self,
            "FlowLog",
            vpc_id=self.vpc.id,
            traffic_type=flow_logs.traffic,
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=flow_logs.aggregation_seconds,
            depends_on=[policy],
            tags={"Name": name},
        )

    def _flow_log_trust(self) -> DataAwsIamPolicyDocument:
        """VPC Flow Logs may assume the role, acting for this account only."""
        account = DataAwsCallerIdentity(self, "Account")
        return service_trust(
            self,
            "FlowLogTrust",
            "vpc-flow-logs.amazonaws.com",
            condition=[
                DataAwsIamPolicyDocumentStatementCondition(
                    test="StringEquals", variable="aws:SourceAccount", values=[account.account_id]
                )
            ],
        )

    def security_group(
        self, scope: Construct, id_: str, name: str, description: str
    ) -> SecurityGroup:
        """A security group in the VPC for something that joins it (created in `scope`): no
        ingress; egress HTTPS to S3 and DynamoDB through their gateway endpoints, and with NAT
        to the internet. Grants add what else it may reach."""
        group = SecurityGroup(
            scope, id_, name=name, description=description, vpc_id=self.vpc.id, tags={"Name": name}
        )
        for service, endpoint in self.endpoints.items():
            egress_rule(
                scope,
                f"{id_}To{service.capitalize()}",
                group.id,
                HTTPS,
                f"HTTPS to {service} through the gateway endpoint of the VPC",
                to_prefix_list=endpoint.prefix_list_id,
            )
        if self.props.nat_gateways:
            egress_rule(
                scope,
                f"{id_}ToInternet",
                group.id,
                HTTPS,
                "HTTPS to the internet through the NAT gateway of its zone",
                to_cidr="0.0.0.0/0",
            )
        return group

    @property
    def vpc_id(self) -> str:
        return self.vpc.id

    @property
    def private_subnet_ids(self) -> list[str]:
        return [s.id for s in self._private_subnets]
