"""The organisation's rules for every resource, enforced at synth time by a cdktf Aspect.

`Aspects.of(stack).add(OrganisationPolicy(PolicyProps(...)))`. cdktf visits the stack node
before its children, so the aspect checks the stack's *resolved* Terraform JSON, i.e. exactly
what Terraform will receive, overrides and escape hatches included. Each violation becomes an
error annotation on the offending construct, and cdktf then refuses to write the stack:

    [image-service-dev/ImageBucket/Bucket] policy bucket-ownership-enforced: ... Fix: ...

The checks are plain functions of that JSON (`check_stack`), so they are tested directly too.
A rule can be waived for one stack only with a written reason; waivers are reported as info
annotations, never silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsii
from cdktf import Annotations, Aspects, IAspect, TerraformProvider, TerraformStack
from constructs import IConstruct

from constructs_lib.kinds import ACTIONS_ON_EVERY_RESOURCE, STATEFUL_TYPES
from stacks.errors import ImageServiceError

# Tags every resource must carry (through the AWS provider's default_tags).
MANDATORY_TAGS = ("Service", "Stage", "ManagedBy")
SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
PAB_FLAGS = (
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
)
AUTHORIZED_ROUTE_TYPES = ("JWT", "CUSTOM", "AWS_IAM")

BUCKET_PUBLIC_ACCESS_BLOCK = "bucket-public-access-block"
BUCKET_ENCRYPTION = "bucket-encryption"
BUCKET_OWNERSHIP_ENFORCED = "bucket-ownership-enforced"
BUCKET_DENY_INSECURE_TRANSPORT = "bucket-deny-insecure-transport"
TABLE_ENCRYPTION = "table-encryption"
TABLE_POINT_IN_TIME_RECOVERY = "table-point-in-time-recovery"
TABLE_DELETION_PROTECTION = "table-deletion-protection"
PREVENT_DESTROY = "protected-data-prevent-destroy"
DEFAULT_TAGS = "default-tags"
API_ROUTE_AUTHORIZER = "api-route-authorizer"
IAM_NO_WILDCARDS = "iam-no-wildcards"
IAM_ROLE_BOUNDARY = "iam-role-permissions-boundary"
CACHE_ENCRYPTED_AND_AUTHENTICATED = "cache-encrypted-and-authenticated"
NO_OPEN_INGRESS = "security-group-no-open-ingress"
RULES = (
    BUCKET_PUBLIC_ACCESS_BLOCK,
    BUCKET_ENCRYPTION,
    BUCKET_OWNERSHIP_ENFORCED,
    BUCKET_DENY_INSECURE_TRANSPORT,
    TABLE_ENCRYPTION,
    TABLE_POINT_IN_TIME_RECOVERY,
    TABLE_DELETION_PROTECTION,
    PREVENT_DESTROY,
    DEFAULT_TAGS,
    API_ROUTE_AUTHORIZER,
    IAM_NO_WILDCARDS,
    IAM_ROLE_BOUNDARY,
    CACHE_ENCRYPTED_AND_AUTHENTICATED,
    NO_OPEN_INGRESS,
)


@dataclass(frozen=True)
class PolicyProps:
    # Production data lives here: tables need PITR and deletion protection, and every stateful
    # resource needs prevent_destroy (buckets also force_destroy=false).
    protect_data: bool
    # rule -> why it does not apply to this stack. Reported, never silent.
    waivers: Mapping[str, str] = field(default_factory=dict)
    # Every role of the stack must carry this boundary (a stage's: the account bootstrap's).
    # None: no rule (the bootstrap's own roles are what the boundary protects against).
    permissions_boundary_arn: str | None = None


@dataclass(frozen=True)
class Violation:
    path: str  # construct path, e.g. image-service-dev/ImageBucket/Bucket
    address: str  # Terraform address, e.g. aws_s3_bucket.ImageBucket_EBEB496F
    rule: str
    problem: str
    fix: str

    def message(self) -> str:
        return f"policy {self.rule}: {self.address} {self.problem}. Fix: {self.fix}"


# --------------------------------------------------------------------------------------------
# Reading the synthesized JSON
# --------------------------------------------------------------------------------------------
_REF = re.compile(r"^\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}(.*)$")


@dataclass(frozen=True)
class _Resource:
    type: str
    name: str
    body: dict[str, Any]

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    @property
    def path(self) -> str:
        return str(self.body.get("//", {}).get("metadata", {}).get("path", self.address))


def _resources(
    config: dict[str, Any], tf_type: str | None = None, kind: str = "resource"
) -> Iterator[_Resource]:
    for type_, items in config.get(kind, {}).items():
        if tf_type is None or type_ == tf_type:
            for name, body in items.items():
                yield _Resource(type_, name, body)


def _blocks(value: Any) -> list[dict[str, Any]]:
    """A nested block as a list, whichever of the two JSON forms cdktf wrote."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _refers_to(
    value: Any, resource: _Resource, attributes: tuple[str, ...] = ("id", "bucket")
) -> bool:
    match = _REF.match(value) if isinstance(value, str) else None
    return bool(
        match
        and not match.group(1)
        and match.group(2) == resource.type
        and match.group(3) == resource.name
        and match.group(4) in attributes
        and not match.group(5)
    )


def _companions(config: dict[str, Any], tf_type: str, bucket: _Resource) -> list[dict[str, Any]]:
    literal_name = bucket.body.get("bucket")
    return [
        r.body
        for r in _resources(config, tf_type)
        if _refers_to(r.body.get("bucket"), bucket)
        or (literal_name and r.body.get("bucket") == literal_name)
    ]


def _as_list(value: Any) -> Any:
    """IAM's JSON lets a single string stand for a list of one."""
    return [value] if isinstance(value, str) else value


def _principals(principal: Any) -> list[dict[str, Any]]:
    """A JSON policy's Principal in aws_iam_policy_document's form."""
    if principal == "*":
        return [{"type": "*", "identifiers": ["*"]}]
    return [
        {"type": k, "identifiers": _blocks(v) if not isinstance(v, str) else [v]}
        for k, v in (principal or {}).items()
    ]


def _json_statement(st: dict[str, Any]) -> dict[str, Any]:
    """One statement of a JSON policy in aws_iam_policy_document's form."""
    return {
        "sid": st.get("Sid"),
        "effect": st.get("Effect"),
        "actions": _as_list(st.get("Action")),
        "resources": _as_list(st.get("Resource")),
        "principals": _principals(st.get("Principal")),
        "condition": [
            {"test": test, "variable": var, "values": _as_list(vals)}
            for test, cond in (st.get("Condition") or {}).items()
            for var, vals in cond.items()
        ],
    }


def _policy_statements(config: dict[str, Any], policy: Any) -> list[dict[str, Any]]:
    """Statements of a bucket policy, from an aws_iam_policy_document or literal JSON."""
    match = _REF.match(policy) if isinstance(policy, str) else None
    if match and match.group(1) and match.group(2) == "aws_iam_policy_document":
        doc = config.get("data", {}).get("aws_iam_policy_document", {}).get(match.group(3), {})
        return _blocks(doc.get("statement"))
    try:
        parsed = json.loads(policy) if isinstance(policy, str) else policy
    except ValueError:
        return []
    return [_json_statement(st) for st in _blocks((parsed or {}).get("Statement"))]


def _to_everyone(statement: dict[str, Any]) -> bool:
    return any(
        p.get("type") in ("*", "AWS") and "*" in (p.get("identifiers") or [])
        for p in _blocks(statement.get("principals"))
    )


def _when_insecure(statement: dict[str, Any]) -> bool:
    return any(
        c.get("test") == "Bool"
        and c.get("variable", "").lower() == "aws:securetransport"
        and [str(v).lower() for v in c.get("values") or []] == ["false"]
        for c in _blocks(statement.get("condition"))
    )


def _covers_bucket_and_objects(statement: dict[str, Any], bucket: _Resource) -> bool:
    arn = f"${{{bucket.type}.{bucket.name}.arn}}"
    literal = f"arn:aws:s3:::{bucket.body.get('bucket')}"
    resources = set(statement.get("resources") or [])
    return (
        "*" in resources
        or ({arn, arn + "/*"} <= resources)
        or ({literal, literal + "/*"} <= resources)
    )


def _denies_insecure_transport(statement: dict[str, Any], bucket: _Resource) -> bool:
    return (
        statement.get("effect") == "Deny"
        and _to_everyone(statement)
        and _when_insecure(statement)
        and _covers_bucket_and_objects(statement, bucket)
        and any(a in ("s3:*", "*") for a in statement.get("actions") or [])
    )


# --------------------------------------------------------------------------------------------
# The rules
# --------------------------------------------------------------------------------------------
_Finding = tuple[str, str, str]  # (rule, problem, fix)


def _public_access_block(config: dict[str, Any], bucket: _Resource) -> _Finding | None:
    blocks = _companions(config, "aws_s3_bucket_public_access_block", bucket)
    if any(all(b.get(flag) is True for flag in PAB_FLAGS) for b in blocks):
        return None
    missing = sorted(
        {f for b in blocks for f in PAB_FLAGS if b.get(f) is not True} or set(PAB_FLAGS)
    )
    return (
        BUCKET_PUBLIC_ACCESS_BLOCK,
        f"has no public access block with all four flags true (not true: {', '.join(missing)})",
        "harden the bucket with constructs_lib.image_bucket.security.BucketSecurity",
    )


def _default_encryption(config: dict[str, Any], bucket: _Resource) -> _Finding | None:
    sse = [
        d.get("sse_algorithm")
        for c in _companions(config, "aws_s3_bucket_server_side_encryption_configuration", bucket)
        for r in _blocks(c.get("rule"))
        for d in _blocks(r.get("apply_server_side_encryption_by_default"))
    ]
    if any(alg in SSE_ALGORITHMS for alg in sse):
        return None
    return (
        BUCKET_ENCRYPTION,
        f"has no default server-side encryption ({' or '.join(SSE_ALGORITHMS)})",
        "add an aws_s3_bucket_server_side_encryption_configuration (BucketSecurity does)",
    )


def _owner_enforced(config: dict[str, Any], bucket: _Resource) -> _Finding | None:
    owners = [
        r.get("object_ownership")
        for c in _companions(config, "aws_s3_bucket_ownership_controls", bucket)
        for r in _blocks(c.get("rule"))
    ]
    if "BucketOwnerEnforced" in owners:
        return None
    return (
        BUCKET_OWNERSHIP_ENFORCED,
        f"does not enforce bucket-owner object ownership (found {owners or 'none'})",
        "add ownership controls with object_ownership=BucketOwnerEnforced (BucketSecurity does)",
    )


def _insecure_transport_denied(config: dict[str, Any], bucket: _Resource) -> _Finding | None:
    statements = [
        st
        for p in _companions(config, "aws_s3_bucket_policy", bucket)
        for st in _policy_statements(config, p.get("policy"))
    ]
    if any(_denies_insecure_transport(st, bucket) for st in statements):
        return None
    return (
        BUCKET_DENY_INSECURE_TRANSPORT,
        "has no bucket policy denying s3:* to everyone when "
        "aws:SecureTransport is false, on the bucket and its objects",
        "keep the DenyInsecureTransport statement of BucketSecurity",
    )


_BUCKET_CHECKS = (
    _public_access_block,
    _default_encryption,
    _owner_enforced,
    _insecure_transport_denied,
)


def _check_buckets(config: dict[str, Any]) -> Iterator[Violation]:
    for bucket in _resources(config, "aws_s3_bucket"):
        for check in _BUCKET_CHECKS:
            finding = check(config, bucket)
            if finding:
                yield Violation(bucket.path, bucket.address, *finding)


def _check_tables(config: dict[str, Any], protected: bool) -> Iterator[Violation]:
    for table in _resources(config, "aws_dynamodb_table"):
        body = table.body
        if not any(b.get("enabled") is True for b in _blocks(body.get("server_side_encryption"))):
            yield Violation(
                table.path,
                table.address,
                TABLE_ENCRYPTION,
                "does not enable server-side encryption with a KMS key the account can audit",
                "set server_side_encryption { enabled = true }",
            )
        if protected:
            if not any(
                b.get("enabled") is True for b in _blocks(body.get("point_in_time_recovery"))
            ):
                yield Violation(
                    table.path,
                    table.address,
                    TABLE_POINT_IN_TIME_RECOVERY,
                    "holds production data without point-in-time recovery",
                    "set point_in_time_recovery { enabled = true }",
                )
            if body.get("deletion_protection_enabled") is not True:
                yield Violation(
                    table.path,
                    table.address,
                    TABLE_DELETION_PROTECTION,
                    "holds production data without deletion protection",
                    "set deletion_protection_enabled = true",
                )


def _check_prevent_destroy(config: dict[str, Any], protected: bool) -> Iterator[Violation]:
    if not protected:
        return
    for tf_type in STATEFUL_TYPES:
        for res in _resources(config, tf_type):
            if res.body.get("lifecycle", {}).get("prevent_destroy") is not True:
                yield Violation(
                    res.path,
                    res.address,
                    PREVENT_DESTROY,
                    "holds production data but lacks lifecycle.prevent_destroy",
                    "pass protect_data=True to its construct",
                )
            elif tf_type == "aws_s3_bucket" and res.body.get("force_destroy") is True:
                yield Violation(
                    res.path,
                    res.address,
                    PREVENT_DESTROY,
                    "holds production data but force_destroy lets Terraform empty it",
                    "set force_destroy = false",
                )


def _default_tags_by_provider(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each configured AWS provider (`aws`, `aws.<alias>`) and its default tags."""
    tags_by_provider: dict[str, dict[str, Any]] = {}
    for cfg in _blocks(config.get("provider", {}).get("aws")):
        key = "aws" + (f".{cfg['alias']}" if cfg.get("alias") else "")
        tags_by_provider[key] = {
            k: v
            for block in _blocks(cfg.get("default_tags"))
            for k, v in (block.get("tags") or {}).items()
        }
    return tags_by_provider


def _resource_tag_problems(res: _Resource, providers: Mapping[str, Any]) -> Iterator[Violation]:
    provider = res.body.get("provider", "aws")
    if provider not in providers:
        yield Violation(
            res.path,
            res.address,
            DEFAULT_TAGS,
            f"uses provider {provider}, which this stack does not configure",
            "create the provider with stacks.providers.aws_provider",
        )
    tags = res.body.get("tags") or {}
    blanked = [k for k in MANDATORY_TAGS if k in tags and not tags[k]]
    if blanked:
        yield Violation(
            res.path,
            res.address,
            DEFAULT_TAGS,
            f"blanks the mandatory tag(s) {', '.join(blanked)}",
            "do not override the default tags on a resource",
        )


def _check_default_tags(
    config: dict[str, Any], provider_paths: Mapping[str, str]
) -> Iterator[Violation]:
    tags_by_provider = _default_tags_by_provider(config)
    users: dict[str, int] = {}
    for res in _resources(config):
        if not res.type.startswith("aws_"):
            continue
        provider = res.body.get("provider", "aws")
        users[provider] = users.get(provider, 0) + 1
        yield from _resource_tag_problems(res, tags_by_provider)
    for provider, tags in tags_by_provider.items():
        missing = [k for k in MANDATORY_TAGS if not tags.get(k)]
        if missing and users.get(provider):
            stack = config.get("//", {}).get("metadata", {}).get("stackName", provider)
            yield Violation(
                provider_paths.get(provider, stack),
                f"provider {provider}",
                DEFAULT_TAGS,
                f"does not set the mandatory default tag(s) {', '.join(missing)}, "
                f"so its {users[provider]} resource(s) would go untagged",
                "give the provider default_tags with " + ", ".join(MANDATORY_TAGS),
            )


def _check_api_routes(config: dict[str, Any]) -> Iterator[Violation]:
    for route in _resources(config, "aws_apigatewayv2_route"):
        kind = route.body.get("authorization_type", "NONE")
        if kind not in AUTHORIZED_ROUTE_TYPES or (
            kind != "AWS_IAM" and not route.body.get("authorizer_id")
        ):
            yield Violation(
                route.path,
                route.address,
                API_ROUTE_AUTHORIZER,
                f"({route.body.get('route_key')}) has no authorizer (authorization_type {kind})",
                "add routes with ImageApi.add_route, which attaches the JWT authorizer",
            )


def _strings(value: Any) -> list[str]:
    """A list of strings in IAM's JSON (a single string or a list)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _wildcards(statement: dict[str, Any]) -> list[str]:
    """What an Allow statement grants by wildcard: `*` or `service:*` actions, `*` resources.
    (A Deny may be broad: the buckets' deny-non-TLS statement denies s3:* on purpose.)"""
    if (statement.get("effect") or "Allow") != "Allow":
        return []
    named = _strings(statement.get("actions"))
    actions = [a for a in named if a == "*" or a.endswith(":*")]
    # A `*` resource where AWS authorizes every action named on no resource (each has its
    # reason in ACTIONS_ON_EVERY_RESOURCE), and nowhere else.
    required = bool(named) and all(a in ACTIONS_ON_EVERY_RESOURCE for a in named)
    resources = [r for r in _strings(statement.get("resources")) if r == "*" and not required]
    return [f"action {a}" for a in actions] + [f"resource {r}" for r in resources]


# The AWS managed policies a role here may have attached, each with why. Any other is refused:
# AWS's managed policies mostly grant whole services (`*FullAccess`), everything
# (AdministratorAccess, PowerUserAccess) or every resource, which no grant method would.
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole": (
        "a handler in a VPC: Lambda creates, describes and deletes the function's network "
        "interfaces, which EC2 authorizes only on every resource"
    ),
    "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess": (
        "a handler's traces: X-Ray's write actions have no resource-level permissions"
    ),
}
_AWS_MANAGED_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)$")
_ATTACHMENTS = (
    "aws_iam_role_policy_attachment",
    "aws_iam_policy_attachment",
    "aws_iam_user_policy_attachment",
    "aws_iam_group_policy_attachment",
)


def _policy_documents(config: dict[str, Any]) -> Iterator[tuple[_Resource, list[dict[str, Any]]]]:
    """Every policy document of the stack with its owner: aws_iam_policy_document data sources,
    and the literal JSON of role, customer-managed, bucket and roles' inline policies (one that
    refers to a policy document is that document, checked as such)."""
    for doc in _resources(config, "aws_iam_policy_document", kind="data"):
        yield doc, _blocks(doc.body.get("statement"))
    literal = [
        (resource, resource.body.get("policy"))
        for tf_type in ("aws_iam_role_policy", "aws_iam_policy", "aws_s3_bucket_policy")
        for resource in _resources(config, tf_type)
    ] + [
        (role, block.get("policy"))
        for role in _resources(config, "aws_iam_role")
        for block in _blocks(role.body.get("inline_policy"))
    ]
    for owner, policy in literal:
        if isinstance(policy, str) and not _REF.match(policy):
            yield owner, _policy_statements(config, policy)


def _attached_managed_policies(config: dict[str, Any]) -> Iterator[tuple[_Resource, str]]:
    """(the attachment or role, the AWS managed policy's ARN) of every managed policy attached
    by an attachment resource or a role's managed_policy_arns."""
    attached = [
        (res, arn)
        for tf_type in _ATTACHMENTS
        for res in _resources(config, tf_type)
        for arn in _strings(res.body.get("policy_arn"))
    ] + [
        (role, arn)
        for role in _resources(config, "aws_iam_role")
        for arn in _strings(role.body.get("managed_policy_arns"))
    ]
    return ((owner, arn) for owner, arn in attached if _AWS_MANAGED_POLICY.match(arn))


def _check_iam_wildcards(config: dict[str, Any]) -> Iterator[Violation]:
    for owner, statements in _policy_documents(config):
        for statement in statements:
            found = _wildcards(statement)
            if found:
                yield Violation(
                    owner.path,
                    owner.address,
                    IAM_NO_WILDCARDS,
                    f"allows by wildcard ({', '.join(found)}) in statement "
                    f"{statement.get('sid') or '(no sid)'}",
                    "grant exact actions on exact ARNs, e.g. with the constructs' grant methods "
                    "(table.grant_read_data, bucket.grant_put)",
                )
    for owner, arn in _attached_managed_policies(config):
        if arn in ALLOWED_MANAGED_POLICIES:
            continue
        name = _AWS_MANAGED_POLICY.match(arn).group(1)  # type: ignore[union-attr]
        grants = (
            "everything"
            if name in ("AdministratorAccess", "PowerUserAccess")
            else "a whole service"
            if name.endswith("FullAccess")
            else "more than this stack's grant methods would"
        )
        yield Violation(
            owner.path,
            owner.address,
            IAM_NO_WILDCARDS,
            f"attaches AWS's managed policy {name}, which grants {grants}",
            "grant exact actions on exact ARNs with the constructs' grant methods; the managed "
            "policies a role may have are "
            + ", ".join(arn.rsplit("/", 1)[1] for arn in ALLOWED_MANAGED_POLICIES)
            + " (stacks/policies.py, ALLOWED_MANAGED_POLICIES, each with its reason)",
        )


def _check_role_boundaries(config: dict[str, Any], boundary: str | None) -> Iterator[Violation]:
    if boundary is None:
        return
    for role in _resources(config, "aws_iam_role"):
        if role.body.get("permissions_boundary") != boundary:
            yield Violation(
                role.path,
                role.address,
                IAM_ROLE_BOUNDARY,
                f"has permissions boundary {role.body.get('permissions_boundary')!r}, not the "
                f"account's {boundary}: the deploy role may create no role without it",
                "create roles through ImageHandler (it takes the stack's boundary), or set "
                "permissions_boundary to the account's boundary",
            )


# What a cache must have: each attribute, the value(s) that satisfy it, and what is wrong
# without it. The provider takes at_rest_encryption_enabled as the string "true".
_CACHE_REQUIREMENTS = (
    ("at_rest_encryption_enabled", (True, "true"), "does not encrypt its data at rest"),
    ("transit_encryption_enabled", (True, "true"), "accepts connections without TLS"),
)


def _check_caches(config: dict[str, Any]) -> Iterator[Violation]:
    yield from _check_cache_users(config)
    for cache in _resources(config, "aws_elasticache_replication_group"):
        body = cache.body
        for attribute, wanted, problem in _CACHE_REQUIREMENTS:
            if body.get(attribute) not in wanted:
                yield Violation(
                    cache.path,
                    cache.address,
                    CACHE_ENCRYPTED_AND_AUTHENTICATED,
                    problem,
                    f"set {attribute} = true (constructs_lib/cache/ does)",
                )
        if not body.get("user_group_ids") and not body.get("auth_token"):
            yield Violation(
                cache.path,
                cache.address,
                CACHE_ENCRYPTED_AND_AUTHENTICATED,
                "lets any client that reaches its port in without authenticating",
                "give it a user group (user_group_ids: IAM authentication, as Cache does)",
            )


def _check_cache_users(config: dict[str, Any]) -> Iterator[Violation]:
    """No cache user may connect without a password or IAM: it would let any client that
    reaches the port in, and ElastiCache refuses it in a user group of the Valkey engine
    ("can only contain users using an authentication mechanism (password or IAM)", the RBAC
    page), so a stage with one would fail its first apply."""
    for user in _resources(config, "aws_elasticache_user"):
        modes = [m.get("type") for m in _blocks(user.body.get("authentication_mode"))]
        if user.body.get("no_password_required") in (True, "true") or (
            "no-password-required" in modes
        ):
            yield Violation(
                user.path,
                user.address,
                CACHE_ENCRYPTED_AND_AUTHENTICATED,
                "needs no password: any client that reaches the cache's port connects as it, "
                "and a Valkey user group refuses it",
                "authenticate it with IAM (authentication_mode type 'iam', as Cache's user "
                "does) or a password, or leave it out (a Valkey group needs no `default` user)",
            )


_EVERYWHERE = ("0.0.0.0/0", "::/0")


def _open_ingress(rule: dict[str, Any]) -> bool:
    blocks = [
        *_as_list(rule.get("cidr_blocks") or []),
        *_as_list(rule.get("ipv6_cidr_blocks") or []),
    ]
    return any(block in _EVERYWHERE for block in blocks)


def _check_security_groups(config: dict[str, Any]) -> Iterator[Violation]:
    """Nothing in the service's network is reached from anywhere: ingress only from other
    security groups (a grant names the group it opens to)."""
    found = [
        (res, rule)
        for res in _resources(config, "aws_security_group")
        for rule in _blocks(res.body.get("ingress"))
    ]
    found += [
        (res, res.body)
        for res in _resources(config, "aws_security_group_rule")
        if res.body.get("type") == "ingress"
    ]
    found += [
        (
            res,
            {
                "cidr_blocks": [res.body.get("cidr_ipv4")],
                "ipv6_cidr_blocks": [res.body.get("cidr_ipv6")],
            },
        )
        for res in _resources(config, "aws_vpc_security_group_ingress_rule")
    ]
    for res, rule in found:
        if _open_ingress(rule):
            yield Violation(
                res.path,
                res.address,
                NO_OPEN_INGRESS,
                "lets anyone on the internet connect (ingress from 0.0.0.0/0 or ::/0)",
                "open the port to the security group that needs it only, as "
                "cache.grant_connect(handler) does",
            )


def check_stack(
    config: dict[str, Any], props: PolicyProps, provider_paths: Mapping[str, str] | None = None
) -> list[Violation]:
    """Every rule violation in one stack's resolved Terraform JSON (waived rules excluded)."""
    found = [
        *_check_buckets(config),
        *_check_tables(config, props.protect_data),
        *_check_prevent_destroy(config, props.protect_data),
        *_check_default_tags(config, provider_paths or {}),
        *_check_api_routes(config),
        *_check_iam_wildcards(config),
        *_check_role_boundaries(config, props.permissions_boundary_arn),
        *_check_caches(config),
        *_check_security_groups(config),
    ]
    return [v for v in found if v.rule not in props.waivers]


@jsii.implements(IAspect)
class OrganisationPolicy:
    """Fails synthesis of a stack that breaks a rule; see the module docstring."""

    def __init__(self, props: PolicyProps):
        unknown = sorted(set(props.waivers) - set(RULES))
        if unknown:
            raise ImageServiceError(
                f"unknown policy rule(s) waived: {', '.join(unknown)}",
                f"waive only rules that exist: {', '.join(RULES)}",
            )
        self.props = props
        self.violations: list[Violation] = []

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, TerraformStack):
            return
        config = node.to_terraform()  # already resolved: references read "${type.name.attr}"
        self.violations = check_stack(config, self.props)
        if self.violations:
            # Walking the tree costs a jsii round trip per construct: only done on failure.
            constructs = {c.node.path: c for c in node.node.find_all()}
            providers = {
                ("aws" + (f".{c.alias}" if c.alias else "")): c.node.path
                for c in constructs.values()
                if isinstance(c, TerraformProvider)
            }
            self.violations = check_stack(config, self.props, providers)
            for v in self.violations:
                Annotations.of(constructs.get(v.path, node)).add_error(v.message())
        for rule, reason in sorted(self.props.waivers.items()):
            Annotations.of(node).add_info(f"policy {rule} waived for this stack: {reason}")


def violations_in(app: IConstruct) -> list[Violation]:
    """The violations found by the OrganisationPolicy of each of the app's stacks (after synth).

    Callers check this rather than rely on cdktf's error annotations alone, which cdktf skips
    when CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS is set. The policy is added to stacks, so
    only the app's children are asked (walking every construct costs ~0.14 s of jsii calls).
    """
    return [
        v
        for stack in app.node.children
        for aspect in Aspects.of(stack).all
        if isinstance(aspect, OrganisationPolicy)
        for v in aspect.violations
    ]
