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

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsii
from cdktf import Annotations, Aspects, IAspect, TerraformProvider, TerraformStack
from constructs import IConstruct

from constructs_lib.concern import (
    PREVENT_DESTROY,
    actions_on_every_resource,
    concern_rules,
    data_types,
    managed_policies,
    resource_policies,
)
from constructs_lib.stack_json import (
    REF,
    Resource,
    RuleContext,
    Violation,
    blocks,
    policy_statements,
    resources,
    strings,
)
from stacks.errors import ImageServiceError

# Tags every resource must carry (through the AWS provider's default_tags).
MANDATORY_TAGS = ("Service", "Stage", "ManagedBy")

# The rules about every resource; each concern adds its own (its rules.py).
DEFAULT_TAGS = "default-tags"
IAM_NO_WILDCARDS = "iam-no-wildcards"
IAM_ROLE_BOUNDARY = "iam-role-permissions-boundary"
CROSS_CUTTING_RULES = (PREVENT_DESTROY, DEFAULT_TAGS, IAM_NO_WILDCARDS, IAM_ROLE_BOUNDARY)
RULES = tuple(dict.fromkeys((*(n for r in concern_rules() for n in r.names), *CROSS_CUTTING_RULES)))


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


# --------------------------------------------------------------------------------------------
# The rules
# --------------------------------------------------------------------------------------------
def _check_prevent_destroy(config: dict[str, Any], protected: bool) -> Iterator[Violation]:
    if not protected:
        return
    for tf_type in data_types():
        for res in resources(config, tf_type):
            if res.body.get("lifecycle", {}).get("prevent_destroy") is not True:
                yield res.violation(
                    PREVENT_DESTROY,
                    "holds production data but lacks lifecycle.prevent_destroy",
                    "pass protect_data=True to its construct",
                )


def _default_tags_by_provider(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each configured AWS provider (`aws`, `aws.<alias>`) and its default tags."""
    tags_by_provider: dict[str, dict[str, Any]] = {}
    for cfg in blocks(config.get("provider", {}).get("aws")):
        key = "aws" + (f".{cfg['alias']}" if cfg.get("alias") else "")
        tags_by_provider[key] = {
            k: v
            for block in blocks(cfg.get("default_tags"))
            for k, v in (block.get("tags") or {}).items()
        }
    return tags_by_provider


def _resource_tag_problems(res: Resource, providers: Mapping[str, Any]) -> Iterator[Violation]:
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
    for res in resources(config):
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


def _wildcards(statement: dict[str, Any]) -> list[str]:
    """What an Allow statement grants by wildcard: `*` or `service:*` actions, `*` resources.
    (A Deny may be broad: the buckets' deny-non-TLS statement denies s3:* on purpose.)"""
    if (statement.get("effect") or "Allow") != "Allow":
        return []
    named = strings(statement.get("actions"))
    actions = [a for a in named if a == "*" or a.endswith(":*")]
    # A `*` resource where AWS authorizes every action named on no resource (each has its
    # reason in a concern's on_every_resource), and nowhere else.
    anywhere = actions_on_every_resource()
    required = bool(named) and all(a in anywhere for a in named)
    stars = [r for r in strings(statement.get("resources")) if r == "*" and not required]
    return [f"action {a}" for a in actions] + [f"resource {r}" for r in stars]


# The AWS managed policies a role here may have attached, each with why. Any other is refused:
# AWS's managed policies mostly grant whole services (`*FullAccess`), everything
# (AdministratorAccess, PowerUserAccess) or every resource, which no grant method would.
ALLOWED_MANAGED_POLICIES = managed_policies()
_AWS_MANAGED_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)$")
_ATTACHMENTS = (
    "aws_iam_role_policy_attachment",
    "aws_iam_policy_attachment",
    "aws_iam_user_policy_attachment",
    "aws_iam_group_policy_attachment",
)


def _policy_documents(config: dict[str, Any]) -> Iterator[tuple[Resource, list[dict[str, Any]]]]:
    """Every policy document of the stack with its owner: aws_iam_policy_document data sources,
    and the literal JSON of role, customer-managed, bucket and roles' inline policies (one that
    refers to a policy document is that document, checked as such)."""
    for doc in resources(config, "aws_iam_policy_document", kind="data"):
        yield doc, blocks(doc.body.get("statement"))
    literal = [
        (resource, resource.body.get("policy"))
        for tf_type in ("aws_iam_role_policy", "aws_iam_policy", *resource_policies())
        for resource in resources(config, tf_type)
    ] + [
        (role, block.get("policy"))
        for role in resources(config, "aws_iam_role")
        for block in blocks(role.body.get("inline_policy"))
    ]
    for owner, policy in literal:
        if isinstance(policy, str) and not REF.match(policy):
            yield owner, policy_statements(config, policy)


def _attached_managed_policies(config: dict[str, Any]) -> Iterator[tuple[Resource, str]]:
    """(the attachment or role, the AWS managed policy's ARN) of every managed policy attached
    by an attachment resource or a role's managed_policy_arns."""
    attached = [
        (res, arn)
        for tf_type in _ATTACHMENTS
        for res in resources(config, tf_type)
        for arn in strings(res.body.get("policy_arn"))
    ] + [
        (role, arn)
        for role in resources(config, "aws_iam_role")
        for arn in strings(role.body.get("managed_policy_arns"))
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
    for role in resources(config, "aws_iam_role"):
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


def check_stack(
    config: dict[str, Any], props: PolicyProps, provider_paths: Mapping[str, str] | None = None
) -> list[Violation]:
    """Every rule violation in one stack's resolved Terraform JSON (waived rules excluded)."""
    context = RuleContext(props.protect_data, props.permissions_boundary_arn)
    found = [
        *(v for rules in concern_rules() for v in rules.check(config, context)),
        *_check_prevent_destroy(config, props.protect_data),
        *_check_default_tags(config, provider_paths or {}),
        *_check_iam_wildcards(config),
        *_check_role_boundaries(config, props.permissions_boundary_arn),
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
