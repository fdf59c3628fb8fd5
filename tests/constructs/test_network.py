"""Network (issue 28): the private network of staging and production, none in dev; its subnets
per zone, the gateway endpoints, the locked default group, NAT as a setting, flow logs in
production. Asserted on the synthesized JSON; local-production's is applied and read back in
tests/deploy/test_production_deploy.py."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.constructs import refusal

WITH_NETWORK = ("staging", "production", "local-production")
WITHOUT_NETWORK = ("dev", "local")
NETWORK_TYPES = (
    "aws_vpc",
    "aws_subnet",
    "aws_route_table",
    "aws_vpc_endpoint",
    "aws_default_security_group",
    "aws_flow_log",
    "aws_nat_gateway",
)


@pytest.mark.parametrize("name", WITHOUT_NETWORK)
def test_dev_has_no_network_by_default(stage, name):
    synth = stage(name)
    assert [t for t in NETWORK_TYPES if synth.resources(t)] == []
    assert "VpcId" not in synth.json["output"]


@pytest.mark.parametrize("name", WITH_NETWORK)
def test_a_vpc_with_one_private_subnet_per_zone(stage, name):
    synth = stage(name)
    vpc = synth.one("aws_vpc")
    assert (vpc["cidr_block"], vpc["enable_dns_support"], vpc["enable_dns_hostnames"]) == (
        "10.20.0.0/16",
        True,
        True,
    )
    assert vpc["tags"] == {"Name": f"image-service-{name}"}
    subnets = sorted(synth.resources("aws_subnet").values(), key=lambda s: s["cidr_block"])
    assert [
        (s["cidr_block"], s["availability_zone_id"], s["map_public_ip_on_launch"], s["vpc_id"])
        for s in subnets
    ] == [
        ("10.20.0.0/20", "use1-az1", False, synth.ref("aws_vpc", "Network_Vpc")),
        ("10.20.16.0/20", "use1-az2", False, synth.ref("aws_vpc", "Network_Vpc")),
    ]
    # One route table per subnet, with no route to the internet (no NAT by default).
    associations = synth.resources("aws_route_table_association").values()
    assert sorted((a["subnet_id"], a["route_table_id"]) for a in associations) == [
        (synth.ref("aws_subnet", f"Private{i}"), synth.ref("aws_route_table", f"PrivateRoutes{i}"))
        for i in (0, 1)
    ]
    assert [
        t
        for t in ("aws_route", "aws_internet_gateway", "aws_nat_gateway", "aws_eip")
        if synth.resources(t)
    ] == []
    assert synth.json["output"]["VpcId"]["value"] == synth.ref("aws_vpc", "Network_Vpc")


@pytest.mark.parametrize("name", WITH_NETWORK)
def test_s3_and_dynamodb_are_reached_through_gateway_endpoints(stage, name):
    synth = stage(name)
    [region_data] = synth.data("aws_region")
    region = f"${{data.aws_region.{region_data}.name}}"
    tables = sorted(synth.ref("aws_route_table", f"PrivateRoutes{i}") for i in (0, 1))
    endpoints = {e["service_name"]: e for e in synth.resources("aws_vpc_endpoint").values()}
    assert sorted(endpoints) == [f"com.amazonaws.{region}.dynamodb", f"com.amazonaws.{region}.s3"]
    for endpoint in endpoints.values():
        assert endpoint["vpc_endpoint_type"] == "Gateway"
        assert sorted(endpoint["route_table_ids"]) == tables


@pytest.mark.parametrize("name", WITH_NETWORK)
def test_the_default_security_group_is_taken_over_with_no_rules(stage, name):
    group = stage(name).one("aws_default_security_group")
    assert "ingress" not in group and "egress" not in group
    assert group["vpc_id"] == stage(name).ref("aws_vpc", "Network_Vpc")


@pytest.mark.parametrize("name", ("production", "local-production"))
def test_production_keeps_flow_logs_for_90_days(stage, name):
    synth = stage(name)
    flow = synth.one("aws_flow_log")
    group = synth.resources("aws_cloudwatch_log_group")
    [log_group] = [g for g in group.values() if g["name"] == f"/aws/vpc/image-service-{name}"]
    assert log_group["retention_in_days"] == 90
    role_ref = synth.ref("aws_iam_role", "FlowLogRole", "arn")
    assert flow == {
        **flow,
        "vpc_id": synth.ref("aws_vpc", "Network_Vpc"),
        "traffic_type": "ALL",
        "log_destination_type": "cloud-watch-logs",
        "max_aggregation_interval": 600,
        "iam_role_arn": role_ref,
    }
    [role] = [r for r in synth.resources("aws_iam_role").values() if "flow-logs" in r["name"]]
    assert role["name"] == f"image-service-{name}-flow-logs"
    assert role["permissions_boundary"].endswith(":policy/image-service-boundary")
    trust = synth.data("aws_iam_policy_document")
    [statement] = [d for k, d in trust.items() if "FlowLogTrust" in k][0]["statement"]
    assert statement["principals"] == [
        {"type": "Service", "identifiers": ["vpc-flow-logs.amazonaws.com"]}
    ]
    [account] = synth.data("aws_caller_identity")
    assert statement["condition"] == [
        {
            "test": "StringEquals",
            "variable": "aws:SourceAccount",
            "values": [f"${{data.aws_caller_identity.{account}.account_id}}"],
        }
    ]
    [access] = [d for k, d in trust.items() if "FlowLogAccess" in k]
    assert [(s["sid"], s["actions"], s["resources"]) for s in access["statement"]] == [
        (
            "WriteFlowLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [synth.ref("aws_cloudwatch_log_group", "FlowLogGroup", "arn") + ":*"],
        ),
        ("FindLogGroups", ["logs:DescribeLogGroups"], ["*"]),
    ]


def test_staging_keeps_no_flow_logs(stage):
    assert stage("staging").resources("aws_flow_log") == {}


def test_nat_gateways_are_a_setting_one_per_zone(variant, stage):
    from stacks.settings import stage_settings

    settings = stage_settings("staging")
    synth = variant("staging", network=replace(settings.network, nat_gateways=True))
    public = sorted(
        (s for s in synth.resources("aws_subnet").values() if "public" in s["tags"]["Name"]),
        key=lambda s: s["cidr_block"],
    )
    assert [(s["cidr_block"], s["availability_zone_id"]) for s in public] == [
        ("10.20.32.0/20", "use1-az1"),
        ("10.20.48.0/20", "use1-az2"),
    ]
    nats = synth.resources("aws_nat_gateway")
    assert sorted(n["subnet_id"] for n in nats.values()) == sorted(
        synth.ref("aws_subnet", f"Public{i}") for i in (0, 1)
    )
    routes = {r["route_table_id"]: r for r in synth.resources("aws_route").values()}
    for i in (0, 1):
        private = routes[synth.ref("aws_route_table", f"PrivateRoutes{i}")]
        assert (private["destination_cidr_block"], private["nat_gateway_id"]) == (
            "0.0.0.0/0",
            synth.ref("aws_nat_gateway", f"Nat{i}"),
        )
    public_route = routes[synth.ref("aws_route_table", "PublicRoutes")]
    assert public_route["gateway_id"] == synth.ref("aws_internet_gateway", "InternetGateway")
    assert len(synth.resources("aws_eip")) == 2


BAD_PROPS = [
    ({"cidr": "10.20.0.0/33"}, "`cidr`: '10.20.0.0/33' is not an IPv4 network block"),
    ({"cidr": "8.8.0.0/16"}, "`cidr`: 8.8.0.0/16 is not a private block of /16 to /28"),
    ({"cidr": "10.0.0.0/8"}, "`cidr`: 10.0.0.0/8 is not a private block of /16 to /28"),
    ({"zone_ids": ("use1-az1",)}, "`zone_ids`: ['use1-az1'] is not at least two different zones"),
    (
        {"zone_ids": ("use1-az1", "use1-az1")},
        "`zone_ids`: ['use1-az1', 'use1-az1'] is not at least two different zones",
    ),
    (
        {"zone_ids": ("us-east-1a", "use1-az2")},
        "`zone_ids`: 'us-east-1a' is not an availability zone id",
    ),
    (
        {
            "cidr": "10.20.0.0/24",
            "subnet_prefix": 26,
            "zone_ids": ("use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6"),
        },
        "`subnet_prefix`: 5 subnets of /26 do not fit in 10.20.0.0/24 (room for 4)",
    ),
    ({"subnet_prefix": 12}, "`subnet_prefix`: /12 subnets cannot be carved from 10.20.0.0/16"),
]


@pytest.mark.parametrize("changes,problem", BAD_PROPS, ids=[p for p, _ in enumerate(BAD_PROPS)])
def test_bad_network_props_are_refused(bare_stack, changes, problem):
    from constructs_lib.network.construct import Network
    from constructs_lib.network.props import NetworkProps

    props = replace(NetworkProps(name="n"), **changes)
    assert refusal(bare_stack, lambda: Network(bare_stack, "Network", props)).startswith(
        f"Network 'n': {problem}"
    )


def test_every_bad_flow_log_setting_is_reported_at_once(bare_stack):
    from constructs_lib.network.construct import Network
    from constructs_lib.network.props import FlowLogs, NetworkProps

    props = NetworkProps(
        name="n", flow_logs=FlowLogs(retention_days=10, traffic="SOME", aggregation_seconds=30)
    )
    text = refusal(bare_stack, lambda: Network(bare_stack, "Network", props))
    assert text.splitlines() == [
        "Network 'n': 3 problems:",
        "  - `flow_logs.retention_days`: 10 is not a retention period CloudWatch Logs accepts. "
        "Fix: use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, "
        "1827, 2192, 2557, 2922, 3288, 3653.",
        "  - `flow_logs.traffic`: 'SOME' is not a flow-log traffic filter. "
        "Fix: use 'ALL', 'ACCEPT', 'REJECT'.",
        "  - `flow_logs.aggregation_seconds`: 30 is not an aggregation interval VPC flow logs "
        "offer. Fix: use 60 or 600.",
    ]


def test_a_joined_group_may_only_reach_the_gateway_endpoints(bare_stack):
    """What `security_group` gives whatever joins the network: no ingress, HTTPS egress to the
    endpoints' prefix lists only."""
    from cdktf import Testing

    from constructs_lib.network.construct import Network
    from constructs_lib.network.props import NetworkProps

    network = Network(bare_stack, "Network", NetworkProps(name="n"))
    network.security_group(bare_stack, "Joined", "joined", "a test member")
    config = json.loads(Testing.synth(bare_stack))
    [group] = config["resource"]["aws_security_group"].values()
    assert "ingress" not in group and "egress" not in group
    rules = config["resource"]["aws_security_group_rule"].values()
    assert sorted(
        (
            r["type"],
            r["protocol"],
            r["from_port"],
            r["to_port"],
            r["prefix_list_ids"][0].split(".")[1],
        )
        for r in rules
    ) == [
        ("egress", "tcp", 443, 443, "Network_DynamodbEndpoint_7D9BF62E"),
        ("egress", "tcp", 443, 443, "Network_S3Endpoint_635CABAC"),
    ]
    assert all("cidr_blocks" not in r for r in rules)
