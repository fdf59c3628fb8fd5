"""CacheProps: the service's Valkey cache (constructs_lib/cache/).

Why a node-based replication group and not ElastiCache Serverless (docs/cache.md):
its cost is a fixed figure per node (cache.t4g.micro, $0.0128 an hour for Valkey in us-east-1,
about $9.34 a month per node, so ~$18.69 for a primary and a replica) that a budget can hold,
where Serverless bills per request and per GB stored and grows with traffic; a replica in
another zone with automatic failover is explicit; and Serverless cannot be applied on the
local emulator at all (moto 5.2 has no CreateServerlessCache), where a replication group is
at least created. At an idle minimum Serverless for Valkey would be cheaper (100 MB metered,
~$6 a month): a stage whose cache sits idle may be the case to revisit this.

Why IAM authentication and not an AUTH token: nothing to keep secret or rotate (a token in
Secrets Manager needs a rotation schedule and every client's reconnect), and each handler's
access is one IAM grant (`elasticache:Connect` on the cache and its user) that the account's
permissions boundary and CloudTrail see, instead of a shared password every granted handler
would read. It needs Valkey 7.2+ and TLS, which the cache has anyway (ElastiCache's docs,
"Authenticating with IAM").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypedDict

from constructs_lib.errors import Problem
from constructs_lib.metrics import Threshold, alarm_problems
from constructs_lib.validation import whole_number_problems

# ElastiCache's replication-group ids: 1-40 characters, lowercase letters, digits and hyphens,
# starting with a letter, no two hyphens in a row, no hyphen at the end (CreateReplicationGroup).
# The app user's id made from it ("<name>-app") must also fit 40, with room to spare.
CACHE_NAME = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,31}(?<!-)$")
CACHE_NAME_MAX = 32
# Valkey versions ElastiCache offers that support IAM authentication (7.2 and later).
VALKEY_VERSIONS = ("7.2", "8.0", "8.1")
# The node families that run Valkey on ElastiCache ("cache.<family>.<size>").
NODE_TYPE = re.compile(r"^cache\.(t4g|t3|m6g|m7g|r6g|r7g|c7gn|m5|r5)\.[a-z0-9]+$")
# ElastiCache's windows: "hh:mm-hh:mm" (snapshots) and "ddd:hh:mm-ddd:hh:mm" (maintenance), UTC.
_SNAPSHOT_WINDOW = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
_DAY = "(mon|tue|wed|thu|fri|sat|sun)"
_MAINTENANCE_WINDOW = re.compile(
    rf"^{_DAY}:([01]\d|2[0-3]):[0-5]\d-{_DAY}:([01]\d|2[0-3]):[0-5]\d$"
)
DEFAULT_PORT = 6379


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class CacheAlarms:
    """Each cache node's alarms (constructs_lib/cache/alarms.py), AWS's recommended ones."""

    #: Percent of its memory in use, 5 of 5 minutes (at 100 it evicts keys). Default: above 80.
    memory_percent: Threshold = Threshold(80, 5)
    #: Percent of the engine thread's CPU, 5 of 5 minutes. Default: above 90.
    engine_cpu_percent: Threshold = Threshold(90, 5)

    def problems(self) -> list[Problem]:
        return alarm_problems(self)


@dataclass(frozen=True)
class CacheProps:
    """Cache: a Valkey replication group in the network's private subnets, encrypted in transit
    and at rest, reached only by the handlers granted it (`grant_connect`), who authenticate
    with IAM."""

    #: The replication group's id (1-32 lowercase letters, digits and hyphens, starting with a
    #: letter); its one user is `<name>-app`.
    name: str
    #: Valkey's version. Default: "8.0".
    engine_version: str = "8.0"
    #: The node type of the primary and each replica. Default: "cache.t4g.micro" (0.5 GiB).
    node_type: str = "cache.t4g.micro"
    #: Read replicas, each in the next availability zone. With at least one, the replica takes
    #: over when the primary's zone fails (Multi-AZ, automatic failover). Default: 1.
    replicas: int = 1
    #: Days of daily snapshots kept. 0: none. Default: 0 (a cache can be refilled from the
    #: table; production keeps some to warm a replacement).
    snapshot_retention_days: int = 0
    #: When the daily snapshot is taken, UTC "hh:mm-hh:mm" (at least an hour). Default:
    #: "03:00-04:00".
    snapshot_window: str = "03:00-04:00"
    #: When ElastiCache may patch, UTC "ddd:hh:mm-ddd:hh:mm". Default: "sun:05:00-sun:06:00".
    maintenance_window: str = "sun:05:00-sun:06:00"
    #: The port clients connect to. Default: 6379.
    port: int = DEFAULT_PORT
    #: Its nodes' alarm thresholds. Default: AWS's recommended ones.
    alarms: CacheAlarms = CacheAlarms()

    def problems(self) -> list[Problem]:
        found = []
        if not CACHE_NAME.match(self.name):
            found.append(
                Problem(
                    "name",
                    f"{self.name!r} is not a usable cache name",
                    f"use 1-{CACHE_NAME_MAX} lowercase letters, digits and single hyphens, "
                    "starting with a letter and not ending with a hyphen (ElastiCache's "
                    "replication group ids, with room for its users' ids)",
                )
            )
        if self.engine_version not in VALKEY_VERSIONS:
            found.append(
                Problem(
                    "engine_version",
                    f"{self.engine_version!r} is not a Valkey version with IAM authentication",
                    "use one of " + ", ".join(VALKEY_VERSIONS),
                )
            )
        if not NODE_TYPE.match(self.node_type):
            found.append(
                Problem(
                    "node_type",
                    f"{self.node_type!r} is not an ElastiCache node type that runs Valkey",
                    "use a node type such as 'cache.t4g.micro' or 'cache.r7g.large'",
                )
            )
        found += self._count_problems()
        found += self._window_problems()
        found += [p.within("alarms") for p in self.alarms.problems()]
        return found

    def _count_problems(self) -> list[Problem]:
        found = whole_number_problems("replicas", self.replicas, 0, "replicas")
        if not found and self.replicas > 5:
            found.append(
                Problem(
                    "replicas",
                    f"{self.replicas} is more than ElastiCache's 5 replicas per shard",
                    "use 0-5 read replicas",
                )
            )
        retention = whole_number_problems(
            "snapshot_retention_days", self.snapshot_retention_days, 0, "days"
        )
        if not retention and self.snapshot_retention_days > 35:
            retention.append(
                Problem(
                    "snapshot_retention_days",
                    f"{self.snapshot_retention_days} is more than ElastiCache's 35",
                    "use 0-35 days",
                )
            )
        found += retention
        if not (isinstance(self.port, int) and 1024 <= self.port <= 65535):
            found.append(
                Problem(
                    "port",
                    f"{self.port!r} is not a port of 1024-65535",
                    "use Valkey's usual 6379 (or another port of 1024-65535)",
                )
            )
        return found

    def _window_problems(self) -> list[Problem]:
        found = []
        if not _SNAPSHOT_WINDOW.match(self.snapshot_window):
            found.append(
                Problem(
                    "snapshot_window",
                    f"{self.snapshot_window!r} is not a window of the form hh:mm-hh:mm (UTC)",
                    "write it like '03:00-04:00'",
                )
            )
        else:
            start, end = (_minutes(t) for t in self.snapshot_window.split("-"))
            if (end - start) % (24 * 60) < 60:
                found.append(
                    Problem(
                        "snapshot_window",
                        f"{self.snapshot_window} is shorter than ElastiCache's 60 minutes",
                        "give the window at least an hour, e.g. '03:00-04:00'",
                    )
                )
        if not _MAINTENANCE_WINDOW.match(self.maintenance_window):
            found.append(
                Problem(
                    "maintenance_window",
                    f"{self.maintenance_window!r} is not a window of the form "
                    "ddd:hh:mm-ddd:hh:mm (UTC)",
                    "write it like 'sun:05:00-sun:06:00'",
                )
            )
        return found

    @property
    def app_user(self) -> str:
        """The IAM-authenticated user the granted handlers connect as (its id is its name, as
        IAM authentication requires)."""
        return f"{self.name}-app"


class CacheChanges(TypedDict, total=False):
    """What a stage's row may change of CacheProps (stacks/settings/stages.py): every field but its
    name, which the stage gives, and what the stack sets. mypy checks the stage table against
    it."""

    engine_version: str
    node_type: str
    replicas: int
    snapshot_retention_days: int
    snapshot_window: str
    maintenance_window: str
    port: int
    alarms: CacheAlarms
