"""What the network costs a month (constructs_lib/billing.py): interface endpoints per
Availability Zone, NAT gateways and public addresses by the hour; gateway endpoints (S3,
DynamoDB), subnets, route tables and security groups are free. Flow logs are charged at their
log group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from constructs_lib.billing import HOURS_PER_MONTH, Charge, Pricer, Usage, UsageKey, free

USAGE = {"network.nat_gb": UsageKey(10.0, "GB through each NAT gateway a month")}


def _endpoint(body: Mapping[str, Any], _usage: Usage) -> list[Charge]:
    if (body.get("vpc_endpoint_type") or "Gateway") != "Interface":
        return []
    zones = max(1, len(body.get("subnet_ids") or []))
    hours = zones * HOURS_PER_MONTH
    return [Charge("vpc.interface-endpoint-hour", hours, f"{zones} zone(s) × 730 h")]


def _nat(_body: Mapping[str, Any], usage: Usage) -> list[Charge]:
    return [
        Charge("vpc.nat-gateway-hour", HOURS_PER_MONTH, "730 h"),
        Charge("vpc.nat-processed-gb", usage("network.nat_gb"), "usage network.nat_gb"),
    ]


def _address(_body: Mapping[str, Any], _usage: Usage) -> list[Charge]:
    return [Charge("vpc.public-ipv4-hour", HOURS_PER_MONTH, "730 h")]


BILLING: dict[str, Pricer] = {
    "aws_vpc_endpoint": _endpoint,
    "aws_nat_gateway": _nat,
    "aws_eip": _address,
    **free(
        "aws_vpc",
        "aws_default_security_group",
        "aws_subnet",
        "aws_route_table",
        "aws_route_table_association",
        "aws_route",
        "aws_security_group",
        "aws_security_group_rule",
        "aws_internet_gateway",
        "aws_flow_log",
    ),
}
