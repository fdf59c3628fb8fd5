"""Cache (issue 28): staging's and production's Valkey replication group, none in dev; a handler
joins the network with one prop and reaches the cache with one grant. Asserted on the
synthesized JSON: moto cannot apply a replication group (the emulator table's `cache` row), so
local-production applies the network and the networked handler only
(tests/deploy/test_production_deploy.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.constructs import refusal

WARM_CACHE = "image-service-staging-warm-cache"


@pytest.fixture(scope="module")
def granted():
    """image-service-staging after CONTRIBUTING.md's "Joining the network and reaching the cache"
    block ran on it as written (tests/session.py)."""
    from tests.conftest import Synth, job
    from tests.session import JOBS

    job("joining-the-cache")
    directory = JOBS["joining-the-cache"].work / "cdktf.out" / "stacks" / "image-service-staging"
    return Synth((directory / "cdk.tf.json").read_text(), directory)


@pytest.mark.parametrize("name", ("dev", "local", "local-production"))
def test_no_cache_in_dev_nor_on_the_emulator(stage, name):
    synth = stage(name)
    assert [t for t in synth.json["resource"] if t.startswith("aws_elasticache")] == []
    assert {"CacheEndpoint", "CachePort"} & set(synth.json["output"]) == set()


@pytest.mark.parametrize("name,snapshots", [("staging", 0), ("production", 7)])
def test_a_valkey_replication_group_with_a_replica_in_another_zone(stage, name, snapshots):
    synth = stage(name)
    group = synth.one("aws_elasticache_replication_group")
    stack = f"image-service-{name}"
    assert {k: v for k, v in group.items() if k != "//"} == {
        "replication_group_id": stack,
        "description": f"{stack}: the image service's cache",
        "engine": "valkey",
        "engine_version": "8.0",
        "node_type": "cache.t4g.micro",
        "num_cache_clusters": 2,
        "automatic_failover_enabled": True,
        "multi_az_enabled": True,
        "port": 6379,
        "subnet_group_name": synth.ref("aws_elasticache_subnet_group", "Cache", "name"),
        "security_group_ids": [synth.ref("aws_security_group", "Cache_SecurityGroup")],
        "at_rest_encryption_enabled": "true",
        "transit_encryption_enabled": True,
        "user_group_ids": [synth.ref("aws_elasticache_user_group", "Cache", "user_group_id")],
        "snapshot_retention_limit": snapshots,
        "snapshot_window": "03:00-04:00",
        "maintenance_window": "sun:05:00-sun:06:00",
        "auto_minor_version_upgrade": "true",
        "timeouts": {"create": "20m", "update": "20m", "delete": "20m"},
    }
    subnets = synth.one("aws_elasticache_subnet_group")["subnet_ids"]
    assert sorted(subnets) == sorted(synth.ref("aws_subnet", f"Private{i}") for i in (0, 1))
    outputs = synth.json["output"]
    assert outputs["CacheEndpoint"]["value"] == synth.ref(
        "aws_elasticache_replication_group", "Cache", "primary_endpoint_address"
    )
    assert outputs["CachePort"]["value"] == "6379"


@pytest.mark.parametrize("name", ("staging", "production"))
def test_only_iam_authenticated_users_connect(stage, name):
    """The group holds the IAM user alone: no `default` user, which a Valkey group needs not and
    may not hold without a password (issue 35, finding 3)."""
    synth = stage(name)
    stack = f"image-service-{name}"
    [app] = synth.resources("aws_elasticache_user").values()
    assert {k: app[k] for k in ("user_id", "user_name", "engine", "access_string")} == {
        "user_id": f"{stack}-app",
        "user_name": f"{stack}-app",
        "engine": "valkey",
        "access_string": "on ~* +@all -@dangerous",
    }
    assert app["authentication_mode"] == {"type": "iam"}
    assert "no_password_required" not in app
    group = synth.one("aws_elasticache_user_group")
    assert (group["user_group_id"], group["engine"]) == (stack, "valkey")
    assert group["user_ids"] == [synth.ref("aws_elasticache_user", "AppUser", "user_id")]


@pytest.mark.parametrize("name", ("staging", "production"))
def test_nothing_reaches_the_cache_until_a_handler_is_granted(stage, name):
    synth = stage(name)
    [group] = synth.resources("aws_security_group").values()
    assert group["name"] == f"image-service-{name}-cache"
    assert "ingress" not in group and "egress" not in group
    assert synth.resources("aws_security_group_rule") == {}


def test_a_handler_joins_the_network_with_one_prop(granted):
    [function] = [
        f
        for f in granted.resources("aws_lambda_function").values()
        if f["function_name"] == WARM_CACHE
    ]
    group = granted.ref("aws_security_group", "WarmCache_SecurityGroup")
    assert function["vpc_config"] == {
        "subnet_ids": [granted.ref("aws_subnet", f"Private{i}") for i in (0, 1)],
        "security_group_ids": [group],
    }
    statements = policy_statements(granted)
    assert statements["NetworkInterfaces"] == {
        "effect": "Allow",
        "actions": [
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ],
        "resources": ["*"],
    }
    [handler_group] = [
        g for g in granted.resources("aws_security_group").values() if g["name"] == WARM_CACHE
    ]
    assert "ingress" not in handler_group


def policy_statements(synth) -> dict[str, dict]:
    [document] = [
        d
        for k, d in synth.data("aws_iam_policy_document").items()
        if k.startswith("WarmCache_PolicyDocument")
    ]
    return {s["sid"]: {k: v for k, v in s.items() if k != "sid"} for s in document["statement"]}


def test_one_grant_opens_the_cache_to_that_handler_only(granted):
    cache_group = granted.ref("aws_security_group", "Cache_SecurityGroup")
    handler_group = granted.ref("aws_security_group", "WarmCache_SecurityGroup")
    rules = sorted(
        (
            r["type"],
            r["security_group_id"],
            r.get("source_security_group_id") or r["prefix_list_ids"][0].split(".")[1],
            r["from_port"],
            r["description"],
        )
        for r in granted.resources("aws_security_group_rule").values()
    )
    assert rules == sorted(
        [
            ("ingress", cache_group, handler_group, 6379, f"Valkey from {WARM_CACHE}"),
            ("egress", handler_group, cache_group, 6379, "Valkey to image-service-staging"),
            (
                "egress",
                handler_group,
                "Network_DynamodbEndpoint_7D9BF62E",
                443,
                "HTTPS to dynamodb through the gateway endpoint of the VPC",
            ),
            (
                "egress",
                handler_group,
                "Network_S3Endpoint_635CABAC",
                443,
                "HTTPS to s3 through the gateway endpoint of the VPC",
            ),
        ]
    )
    assert policy_statements(granted)["ConnectToCache"] == {
        "effect": "Allow",
        "actions": ["elasticache:Connect"],
        "resources": [
            granted.ref("aws_elasticache_replication_group", "Cache", "arn"),
            granted.ref("aws_elasticache_user", "AppUser", "arn"),
        ],
    }


def test_the_grant_tells_the_handler_where_the_cache_is(granted):
    [function] = [
        f
        for f in granted.resources("aws_lambda_function").values()
        if f["function_name"] == WARM_CACHE
    ]
    variables = function["environment"]["variables"]
    assert {k: v for k, v in variables.items() if k.startswith("CACHE_")} == {
        "CACHE_ENDPOINT": granted.ref(
            "aws_elasticache_replication_group", "Cache", "primary_endpoint_address"
        ),
        "CACHE_PORT": "6379",
        "CACHE_USER": "image-service-staging-app",
        "CACHE_NAME": "image-service-staging",
    }


def test_each_cache_node_is_watched(granted):
    alarms = {a["alarm_name"]: a for a in granted.resources("aws_cloudwatch_metric_alarm").values()}
    for node in ("image-service-staging-001", "image-service-staging-002"):
        memory, cpu = alarms[f"{node}-memory"], alarms[f"{node}-engine-cpu"]
        assert (memory["metric_name"], memory["namespace"], memory["dimensions"]) == (
            "DatabaseMemoryUsagePercentage",
            "AWS/ElastiCache",
            {"CacheClusterId": node},
        )
        assert (memory["threshold"], memory["evaluation_periods"]) == (80, 5)
        assert (cpu["metric_name"], cpu["threshold"], cpu["statistic"]) == (
            "EngineCPUUtilization",
            90,
            "Average",
        )
    dashboard = json.loads(granted.one("aws_cloudwatch_dashboard")["dashboard_body"])
    titles = [w["properties"].get("title") for w in dashboard["widgets"]]
    assert "Cache memory used (%)" in titles and "Cache engine CPU (%)" in titles


def test_a_handler_outside_the_network_is_refused_by_name(tmp_path):
    from cdktf import App

    from constructs_lib.errors import ConstructError
    from constructs_lib.image_handler.construct import ImageHandler, ImageHandlerProps
    from stacks.image_service_stack import ImageServiceStack
    from stacks.settings import stage_settings
    from tests.handler_source import write_handler_source

    stack = ImageServiceStack(App(outdir=str(tmp_path / "out")), stage_settings("staging"))
    handler = ImageHandler(
        stack,
        "Outside",
        ImageHandlerProps(
            name="image-service-staging-outside",
            source_dir=write_handler_source(tmp_path / "src"),
            handler="app.handler",
        ),
    )
    before = [c.node.id for c in stack.cache.node.children]
    with pytest.raises(ConstructError) as caught:
        stack.cache.grant_connect(handler)
    assert str(caught.value) == (
        "Cache 'image-service-staging': `grant_connect`: ImageHandler "
        "'image-service-staging-outside' is not in the cache's network, so no connection could "
        "reach the cache's private subnets. Fix: place the handler in it first: "
        "ImageHandlerProps(..., network=stack.network)"
    )
    assert [c.node.id for c in stack.cache.node.children] == before


def test_granting_a_handler_twice_changes_nothing(tmp_path):
    from cdktf import App, Testing

    from stacks.image_service_stack import ImageServiceStack
    from stacks.settings import stage_settings
    from tests.deploy.shared import attach_networked_handler

    stack = ImageServiceStack(App(outdir=str(tmp_path / "out")), stage_settings("staging"))
    handler = attach_networked_handler(stack, tmp_path, "image-service-staging-twice")
    stack.cache.grant_connect(handler)
    config = json.loads(Testing.synth(stack))
    rules = config["resource"]["aws_security_group_rule"].values()
    assert sorted(r["type"] for r in rules if r["from_port"] == 6379) == ["egress", "ingress"]
    [document] = [
        d
        for k, d in config["data"]["aws_iam_policy_document"].items()
        if k.startswith("WarmCache_PolicyDocument")
    ]
    assert [s["sid"] for s in document["statement"]].count("ConnectToCache") == 1


def test_the_guides_connection_snippet_signs_an_iam_token(monkeypatch):
    """CONTRIBUTING.md's connection example, run with a stand-in for the redis client: the password
    it passes is a SigV4-presigned connect request for the cache's user, valid 15 minutes."""
    import sys
    import types

    from tests.session import ROOT

    text = (ROOT / "CONTRIBUTING.md").read_text().split("- **Connecting**", 1)[1]
    snippet = "\n".join(
        line[2:] for line in text.split("```python\n", 1)[1].split("```", 1)[0].splitlines()
    )
    connected = {}
    fake = types.ModuleType("redis")
    fake.Redis = lambda **kw: connected.update(kw)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "redis", fake)
    for name, value in {
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "CACHE_ENDPOINT": "master.image-service-staging.abc.use1.cache.amazonaws.com",
        "CACHE_PORT": "6379",
        "CACHE_USER": "image-service-staging-app",
        "CACHE_NAME": "image-service-staging",
    }.items():
        monkeypatch.setenv(name, value)
    exec(compile(snippet, "CONTRIBUTING.md", "exec"), {})
    token = connected.pop("password")
    assert connected == {
        "host": "master.image-service-staging.abc.use1.cache.amazonaws.com",
        "port": 6379,
        "ssl": True,
        "username": "image-service-staging-app",
    }
    assert token.startswith("image-service-staging/?Action=connect&User=image-service-staging-app&")
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in token and "X-Amz-Expires=900" in token
    assert "%2Fus-east-1%2Felasticache%2Faws4_request" in token


BAD_PROPS = [
    ({"name": "Image_Cache"}, "`name`: 'Image_Cache' is not a usable cache name"),
    ({"name": "image--cache"}, "`name`: 'image--cache' is not a usable cache name"),
    ({"name": "a" * 33}, f"`name`: '{'a' * 33}' is not a usable cache name"),
    (
        {"engine_version": "7.0"},
        "`engine_version`: '7.0' is not a Valkey version with IAM authentication",
    ),
    (
        {"node_type": "t4g.micro"},
        "`node_type`: 't4g.micro' is not an ElastiCache node type that runs Valkey",
    ),
    ({"replicas": -1}, "`replicas`: -1 is not a whole number of replicas >= 0"),
    ({"replicas": 6}, "`replicas`: 6 is more than ElastiCache's 5 replicas per shard"),
    (
        {"snapshot_retention_days": 36},
        "`snapshot_retention_days`: 36 is more than ElastiCache's 35",
    ),
    (
        {"snapshot_window": "3:00-4:00"},
        "`snapshot_window`: '3:00-4:00' is not a window of the form hh:mm-hh:mm (UTC)",
    ),
    (
        {"snapshot_window": "03:00-03:30"},
        "`snapshot_window`: 03:00-03:30 is shorter than ElastiCache's 60 minutes",
    ),
    (
        {"maintenance_window": "sunday 05:00"},
        "`maintenance_window`: 'sunday 05:00' is not a window of the form "
        "ddd:hh:mm-ddd:hh:mm (UTC)",
    ),
    ({"port": 80}, "`port`: 80 is not a port of 1024-65535"),
]


@pytest.mark.parametrize("changes,problem", BAD_PROPS, ids=[str(i) for i in range(len(BAD_PROPS))])
def test_bad_cache_props_are_refused(bare_stack, changes, problem):
    from constructs_lib.cache.construct import Cache
    from constructs_lib.cache.props import CacheProps
    from constructs_lib.network.construct import Network
    from constructs_lib.network.props import NetworkProps

    network = Network(bare_stack, "Network", NetworkProps(name="n"))
    props = replace(CacheProps(name="image-cache"), **changes)
    name = props.name
    assert refusal(bare_stack, lambda: Cache(bare_stack, "Cache", network, props)).startswith(
        f"Cache '{name}': {problem}"
    )
