"""NetworkProps: the private network the cache lives in and the handlers may join
(constructs_lib/network/)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TypedDict

from constructs_lib.errors import Problem
from constructs_lib.validation import retention_problems

# An availability zone's id, e.g. use1-az1 (DescribeAvailabilityZones' ZoneId).
ZONE_ID = re.compile(r"^[a-z]{2,5}\d-az\d{1,2}$")
# VPC flow logs' traffic filters (CreateFlowLogs' TrafficType).
FLOW_LOG_TRAFFIC = ("ALL", "ACCEPT", "REJECT")
# AWS accepts a VPC's IPv4 block from /16 to /28; a subnet needs at least /28.
_VPC_PREFIXES = range(16, 29)
_SUBNET_PREFIXES = range(16, 29)
# The private address ranges of RFC 1918, which a VPC's block should come from.
_PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(r) for r in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)


@dataclass(frozen=True)
class FlowLogs:
    """VPC flow logs to a CloudWatch Logs group `/aws/vpc/<name>`: who talked to what, for an
    incident's investigation (and checkov's CKV2_AWS_11)."""

    #: Days the log group keeps them. Default: 90.
    retention_days: int = 90
    #: "ALL", "ACCEPT" (allowed traffic) or "REJECT" (refused traffic). Default: "ALL".
    traffic: str = "ALL"
    #: Seconds over which a flow is aggregated into one record: 60 or 600. Default: 600 (the
    #: cheapest: fewer records).
    aggregation_seconds: int = 600

    def problems(self) -> list[Problem]:
        found = retention_problems("retention_days", self.retention_days)
        if self.traffic not in FLOW_LOG_TRAFFIC:
            found.append(
                Problem(
                    "traffic",
                    f"{self.traffic!r} is not a flow-log traffic filter",
                    "use " + ", ".join(repr(t) for t in FLOW_LOG_TRAFFIC),
                )
            )
        if self.aggregation_seconds not in (60, 600):
            found.append(
                Problem(
                    "aggregation_seconds",
                    f"{self.aggregation_seconds!r} is not an aggregation interval VPC flow "
                    "logs offer",
                    "use 60 or 600",
                )
            )
        return found


@dataclass(frozen=True)
class NetworkProps:
    """Network: a VPC with one private subnet per availability zone, S3 and DynamoDB reached
    through gateway endpoints (free, and no traffic leaves AWS's network), no internet access
    unless `nat_gateways` adds it, and no security group that lets anything in by default."""

    #: Names the VPC and its parts (Name tags), the flow-log group and role.
    name: str
    #: The VPC's IPv4 block (RFC 1918). Default: "10.20.0.0/16".
    cidr: str = "10.20.0.0/16"
    #: The availability zones the private subnets span, one subnet each (the cache's replicas
    #: and the handlers' network interfaces spread over them), by zone id: an id names the same
    #: physical zone in every account (a name such as us-east-1a does not), so every stage is
    #: in the same zones, and the set never grows by itself (checkov's CKV_AWS_394). At least
    #: 2, in the stack's region. Default: us-east-1's use1-az1 and use1-az2.
    zone_ids: tuple[str, ...] = ("use1-az1", "use1-az2")
    #: The prefix length of each subnet, carved from `cidr` in order: the private subnets
    #: first, then (with NAT) the public ones. Default: 20 (4,091 addresses each).
    subnet_prefix: int = 20
    #: A NAT gateway in each zone, in a public subnet of its own, so handlers can reach the
    #: internet (and AWS APIs without a gateway endpoint, e.g. Cognito). Costs $0.045 an hour
    #: per gateway plus $0.045 per GB processed in us-east-1 (about $33 a month each before
    #: traffic). Default: off (S3 and DynamoDB through the free gateway endpoints).
    nat_gateways: bool = False
    #: Flow logs of the VPC. None: none. Default: none.
    flow_logs: FlowLogs | None = None

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        if not self.name:
            found.append(Problem("name", "the name is empty", "name the network, e.g. its stack"))
        found += self._zone_problems()
        found += self._cidr_problems()
        if self.flow_logs is not None:
            found += [p.within("flow_logs") for p in self.flow_logs.problems()]
        return found

    def _zone_problems(self) -> list[Problem]:
        bad = [z for z in self.zone_ids if not ZONE_ID.match(z)]
        if bad:
            return [
                Problem(
                    "zone_ids",
                    f"{bad[0]!r} is not an availability zone id",
                    "use zone ids such as 'use1-az1' (`aws ec2 describe-availability-zones` "
                    "lists the region's ZoneId values)",
                )
            ]
        if len(set(self.zone_ids)) < 2 or len(set(self.zone_ids)) != len(self.zone_ids):
            return [
                Problem(
                    "zone_ids",
                    f"{list(self.zone_ids)} is not at least two different zones",
                    "list two or more different zones: a cache replica and the handlers need "
                    "a second zone to survive the first's outage",
                )
            ]
        return []

    def _cidr_problems(self) -> list[Problem]:
        try:
            vpc = ipaddress.IPv4Network(self.cidr)
        except ValueError:
            return [
                Problem(
                    "cidr",
                    f"{self.cidr!r} is not an IPv4 network block",
                    "use a block like '10.20.0.0/16' (its address the first of the block)",
                )
            ]
        if vpc.prefixlen not in _VPC_PREFIXES or not any(vpc.subnet_of(r) for r in _PRIVATE_RANGES):
            return [
                Problem(
                    "cidr",
                    f"{self.cidr} is not a private block of /16 to /28",
                    "use a block inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, between "
                    "/16 and /28 (AWS's limits)",
                )
            ]
        if self.subnet_prefix not in _SUBNET_PREFIXES or self.subnet_prefix < vpc.prefixlen:
            return [
                Problem(
                    "subnet_prefix",
                    f"/{self.subnet_prefix} subnets cannot be carved from {self.cidr}",
                    f"use a prefix between /{vpc.prefixlen} and /28",
                )
            ]
        needed = self.subnet_count
        available = 2 ** (self.subnet_prefix - vpc.prefixlen)
        if needed > available:
            return [
                Problem(
                    "subnet_prefix",
                    f"{needed} subnets of /{self.subnet_prefix} do not fit in {self.cidr} "
                    f"(room for {available})",
                    "use a longer prefix (smaller subnets), fewer zones or a larger block",
                )
            ]
        return []

    @property
    def subnet_count(self) -> int:
        """Private subnets, one per zone, and as many public ones with NAT."""
        return len(self.zone_ids) * (2 if self.nat_gateways else 1)

    def subnet_cidrs(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(the private subnets' blocks, the public ones'), one per zone, in order."""
        blocks = [
            str(b)
            for b, _ in zip(
                ipaddress.IPv4Network(self.cidr).subnets(new_prefix=self.subnet_prefix),
                range(self.subnet_count),
                strict=False,
            )
        ]
        zones = len(self.zone_ids)
        return tuple(blocks[:zones]), tuple(blocks[zones:])


class NetworkChanges(TypedDict, total=False):
    """What a stage's row may change of NetworkProps (stacks/settings/stages.py): every field but
    its name, which the stage gives, and what the stack sets. mypy checks the stage table
    against it."""

    cidr: str
    zone_ids: tuple[str, ...]
    subnet_prefix: int
    nat_gateways: bool
    flow_logs: FlowLogs | None
