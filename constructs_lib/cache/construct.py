"""The service's cache (CacheProps): a Valkey replication group in the network's private subnets,
encrypted in transit and at rest, with IAM authentication through a user group.

    cache = Cache(stack, "Cache", network, CacheProps(name="image-service-production"))
    cache.grant_connect(handler)    # the handler must be in the same network

Nothing may connect at first: the cache's security group has no ingress and no egress, and its
user group holds one user, which authenticates with IAM only (no `default` user: a Valkey user
group needs none, and may hold only users that authenticate with a password or IAM).
`grant_connect(handler)` opens the cache's port to that handler's security group only (and
lets the handler's group reach it), lets the handler's role `elasticache:Connect` as the
cache's IAM user, and tells the handler where the cache is (CACHE_ENDPOINT, CACHE_PORT,
CACHE_USER, CACHE_NAME). The handler then connects over TLS with the user's name and a
short-lived IAM token as the password (docs/cache.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
)
from cdktf_cdktf_provider_aws.elasticache_replication_group import (
    ElasticacheReplicationGroup,
    ElasticacheReplicationGroupTimeouts,
)
from cdktf_cdktf_provider_aws.elasticache_subnet_group import ElasticacheSubnetGroup
from cdktf_cdktf_provider_aws.elasticache_user import (
    ElasticacheUser,
    ElasticacheUserAuthenticationMode,
)
from cdktf_cdktf_provider_aws.elasticache_user_group import ElasticacheUserGroup
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from constructs import Construct

from constructs_lib.cache import alarms
from constructs_lib.cache.props import CacheProps
from constructs_lib.errors import ConstructError, Problem
from constructs_lib.metrics import Metric
from constructs_lib.monitoring.construct import Monitoring, monitoring_of
from constructs_lib.network.construct import Network, egress_rule, ingress_rule
from constructs_lib.shared import WAIT_TIMEOUT
from constructs_lib.validation import check

if TYPE_CHECKING:
    from constructs_lib.image_handler.construct import ImageHandler

ENGINE = "valkey"
# What a granted handler learns: where the cache is, and who to connect as.
CACHE_ENDPOINT_VARIABLE = "CACHE_ENDPOINT"
CACHE_PORT_VARIABLE = "CACHE_PORT"
CACHE_USER_VARIABLE = "CACHE_USER"
CACHE_NAME_VARIABLE = "CACHE_NAME"
CONNECT_ACTION = "elasticache:Connect"
# The app user's commands: everything a cache-aside client needs, nothing that empties or
# reconfigures the cache (Valkey's ACL category @dangerous: FLUSHALL, CONFIG, KEYS, ...).
APP_ACCESS = "on ~* +@all -@dangerous"
# A user group of the Valkey engine needs no user named `default` (that is a Redis OSS group's
# rule) and may hold only users that authenticate with a password or IAM: "A user group
# configured for the VALKEY engine can only contain users using an authentication mechanism
# (password or IAM)" (ElastiCache's docs, "Role-Based Access Control (RBAC)"); aws-cdk's
# aws-elasticache-alpha user-group.ts requires a `default` user for the redis engine only, and
# its no-password-user.ts refuses the valkey engine. A no-password `default` user here would
# fail staging's and production's first apply (CreateUserGroup), so the group holds the IAM user
# alone; the organisation policy refuses any user that needs no password
# (stacks/policies.py, cache-encrypted-and-authenticated).


class Cache(Construct):
    """Exposes `.endpoint` (the primary's address), `.port`, `.arn`, `.security_group_id`;
    `grant_connect(handler)`; metric methods per node."""

    def __init__(self, scope: Construct, id_: str, network: Network, props: CacheProps):
        check(props, f"Cache '{props.name}'")
        super().__init__(scope, id_)
        self.props, self.network = props, network
        self.security_group = SecurityGroup(
            self,
            "SecurityGroup",
            name=f"{props.name}-cache",
            description=f"{props.name}: the cache; reached only from granted handlers",
            vpc_id=network.vpc_id,
            tags={"Name": f"{props.name}-cache"},
        )
        self.subnet_group = ElasticacheSubnetGroup(
            self,
            "SubnetGroup",
            name=props.name,
            description=f"{props.name}: the network's private subnets",
            subnet_ids=network.private_subnet_ids,
        )
        self.app_user = ElasticacheUser(
            self,
            "AppUser",
            user_id=props.app_user,
            user_name=props.app_user,  # IAM authentication: the name is the id
            engine=ENGINE,
            access_string=APP_ACCESS,
            authentication_mode=ElasticacheUserAuthenticationMode(type="iam"),
        )
        self.user_group = ElasticacheUserGroup(
            self,
            "UserGroup",
            user_group_id=props.name,
            engine=ENGINE,
            user_ids=[self.app_user.user_id],
        )
        self.group = self._replication_group(props)
        self._granted: set[str] = set()
        monitoring = monitoring_of(self)
        if monitoring is not None:
            monitoring.watch(self)

    def _replication_group(self, props: CacheProps) -> ElasticacheReplicationGroup:
        failover = props.replicas > 0
        return ElasticacheReplicationGroup(
            self,
            "ReplicationGroup",
            replication_group_id=props.name,
            description=f"{props.name}: the image service's cache",
            engine=ENGINE,
            engine_version=props.engine_version,
            node_type=props.node_type,
            num_cache_clusters=1 + props.replicas,
            # A replica in another zone takes over when the primary's zone fails.
            automatic_failover_enabled=failover,
            multi_az_enabled=failover,
            port=props.port,
            subnet_group_name=self.subnet_group.name,
            security_group_ids=[self.security_group.id],
            at_rest_encryption_enabled="true",  # a string in the provider's schema
            transit_encryption_enabled=True,
            user_group_ids=[self.user_group.user_group_id],
            snapshot_retention_limit=props.snapshot_retention_days,
            snapshot_window=props.snapshot_window,
            maintenance_window=props.maintenance_window,
            auto_minor_version_upgrade="true",
            # Bounded like every long wait (constructs_lib/shared.py, WAIT_TIMEOUT).
            timeouts=ElasticacheReplicationGroupTimeouts(
                create=WAIT_TIMEOUT, update=WAIT_TIMEOUT, delete=WAIT_TIMEOUT
            ),
        )

    def grant_connect(self, handler: ImageHandler) -> None:
        """Let `handler` connect: its security group to the cache's port (and only it), its
        role `elasticache:Connect` on the cache as the app user, and the cache's address in its
        environment. Granting the same handler twice changes nothing."""
        group = handler.security_group
        if group is None or handler.network is not self.network:
            raise ConstructError(
                f"Cache '{self.props.name}'",
                [
                    Problem(
                        "grant_connect",
                        f"ImageHandler '{handler.props.name}' is not in the cache's network, so "
                        "no connection could reach the cache's private subnets",
                        "place the handler in it first: ImageHandlerProps(..., "
                        "network=stack.network)",
                    )
                ],
            )
        key = handler.node.path
        if key in self._granted:
            return
        self._granted.add(key)
        name, port = handler.props.name, self.props.port
        suffix = handler.node.id
        ingress_rule(
            self,
            f"From{suffix}",
            self.security_group.id,
            port,
            f"Valkey from {name}",
            from_group=group.id,
        )
        egress_rule(
            self,
            f"To{suffix}",
            group.id,
            port,
            f"Valkey to {self.props.name}",
            to_group=self.security_group.id,
        )
        handler.add_to_role_policy(
            DataAwsIamPolicyDocumentStatement(
                sid="ConnectToCache",
                effect="Allow",
                actions=[CONNECT_ACTION],
                resources=[self.group.arn, self.app_user.arn],
            )
        )
        handler.add_environment(CACHE_ENDPOINT_VARIABLE, self.endpoint)
        handler.add_environment(CACHE_PORT_VARIABLE, str(port))
        handler.add_environment(CACHE_USER_VARIABLE, self.props.app_user)
        handler.add_environment(CACHE_NAME_VARIABLE, self.props.name)

    # ---- metrics (AWS/ElastiCache, per node: <name>-001 is the first primary) -------------
    @property
    def node_ids(self) -> list[str]:
        """The cache clusters (nodes) of the group, as ElastiCache names them."""
        return [f"{self.props.name}-{n:03d}" for n in range(1, self.props.replicas + 2)]

    def _metric(self, name: str, node: str, statistic: str = "Average") -> Metric:
        return Metric("AWS/ElastiCache", name, {"CacheClusterId": node}, statistic, label=node)

    def metric_memory_usage(self, node: str) -> Metric:
        """Percent of the node's memory in use (DatabaseMemoryUsagePercentage); at 100 it
        evicts keys."""
        return self._metric("DatabaseMemoryUsagePercentage", node)

    def metric_engine_cpu(self, node: str) -> Metric:
        """Percent of the engine thread's CPU (EngineCPUUtilization): Valkey serves commands on
        one thread."""
        return self._metric("EngineCPUUtilization", node)

    def metric_connections(self, node: str) -> Metric:
        return self._metric("CurrConnections", node, "Maximum")

    @property
    def endpoint(self) -> str:
        """The primary's address: writes and reads (TLS, port `port`)."""
        return self.group.primary_endpoint_address

    @property
    def reader_endpoint(self) -> str:
        return self.group.reader_endpoint_address

    @property
    def port(self) -> int:
        return self.props.port

    @property
    def arn(self) -> str:
        return self.group.arn

    @property
    def security_group_id(self) -> str:
        return self.security_group.id

    def add_alarms(self, monitoring: Monitoring) -> None:
        """AWS's recommended alarms on each node, and its graphs (alarms.py)."""
        alarms.add_alarms(monitoring, self)
