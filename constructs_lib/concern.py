"""What a concern's folder declares beside its construct, and where the cross-cutting pieces
find it. Importable without cdktf.

A concern is a package of constructs_lib (metadata_table/, cache/, ...) whose __init__.py
defines `CONCERN = Concern(...)`: the deploy and review permissions its resources need (its
families, from its permissions.py), what the plan guard treats as data, identity or outage among
its resource types, the actions it needs on no resource with their reasons, its organisation
policy rules (its rules.py), and the names of its log groups. `concerns()` finds every one by
walking the package, as `handler_sources` walks the construct tree: the CI identity grants
their families, the plan guard reads their kinds, the organisation policy runs their rules. None
of those names a concern's resource types itself (tests/stacks/test_concerns.py).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from constructs_lib.billing import Pricer, UsageKey
from constructs_lib.stack_json import Rules

if TYPE_CHECKING:
    from constructs_lib.ci_identity.props import DeployScope

Resources = Callable[["DeployScope", str], list[str]]
# The organisation-policy rule every concern's `data` types are held to where data is protected
# (stacks/policies.py): lifecycle.prevent_destroy, and the concern's own conditions.
PREVENT_DESTROY = "protected-data-prevent-destroy"
Statement = dict[str, Any]


def statement(
    sid: str,
    actions: tuple[str, ...] | list[str],
    resources: list[str],
    effect: str = "Allow",
    condition: dict[str, Any] | None = None,
) -> Statement:
    """One statement of an IAM policy document (JSON form)."""
    found: Statement = {
        "Sid": sid,
        "Effect": effect,
        "Action": list(actions),
        "Resource": resources,
    }
    if condition:
        found["Condition"] = condition
    return found


def document(statements: list[Statement]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


@dataclass(frozen=True)
class Family:
    """One kind of resource of a stage: its ARNs, what reads it and what changes it, and the
    Terraform resource types it covers (tests/constructs/test_ci_identity.py: every type a
    stage synthesizes is covered by a family, so a new concern cannot ship without its deploy
    permissions)."""

    sid: str
    resources: Resources
    read: tuple[str, ...]
    write: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    #: The optional concern it belongs to (OPTIONAL_CONCERNS); None: every stage has it.
    concern: str | None = None
    #: What deploying it calls that AWS authorizes on no resource ("*"), reads and writes
    #: (each action's reason: the concern's `on_every_resource`).
    read_anywhere: tuple[str, ...] = ()
    write_anywhere: tuple[str, ...] = ()
    #: The condition its statement carries, from the role's scopes. Default: none.
    condition: Callable[[list[DeployScope]], dict[str, Any]] | None = None


#: The most a role a deploy creates may do with a concern's resources (the account's
#: permissions boundary): statements for the account's stages.
Boundary = Callable[[Sequence["DeployScope"], str], list[Statement]]


@dataclass(frozen=True)
class Concern:
    """What a concern tells the cross-cutting pieces about its resources."""

    name: str
    #: Its deploy and review permissions, one family per kind of resource.
    families: tuple[Family, ...] = ()
    #: What roles a deploy creates (the handlers') may do with its resources at most.
    boundary: Boundary | None = None
    #: What those roles may do on no resource ("*") for it, each in `on_every_resource`.
    boundary_anywhere: tuple[str, ...] = ()
    #: The services that assume the roles it creates (the deploy role passes them only to
    #: these).
    passes_roles_to: tuple[str, ...] = ()
    #: Its log groups' names, `{stack}` for the stack's name (the deploy role's LogGroups).
    log_groups: tuple[str, ...] = ()
    #: Types whose deletion loses data, with what they hold (the plan guard refuses their
    #: loss; the organisation policy requires prevent_destroy on them where data is protected).
    data: Mapping[str, str] = field(default_factory=dict)
    #: Types whose replacement breaks everyone who holds their identity, with how.
    identity: Mapping[str, str] = field(default_factory=dict)
    #: Types whose replacement is an outage of the service, with what stops.
    outage: Mapping[str, str] = field(default_factory=dict)
    #: The actions its families and grants name on "*" (AWS authorizes them on no resource),
    #: each with why (the organisation policy accepts a "*" resource there and nowhere else).
    on_every_resource: Mapping[str, str] = field(default_factory=dict)
    #: What no deploy role may ever do to its resources (an explicit deny in every one).
    never: tuple[str, ...] = ()
    #: AWS managed policies a role of its may have attached, each with why (the organisation
    #: policy refuses any other).
    managed_policies: Mapping[str, str] = field(default_factory=dict)
    #: Types holding a resource policy in `policy`, which the IAM rules read.
    resource_policies: tuple[str, ...] = ()
    #: Its organisation-policy rules. Default: none.
    rules: Rules | None = None
    #: What each of its resource types costs a month (its billing.py; ops/cost prices it).
    billing: Mapping[str, Pricer] = field(default_factory=dict)
    #: The usage figures its charges read, with their defaults (a stage's usage file sets them).
    usage: Mapping[str, UsageKey] = field(default_factory=dict)

    @property
    def types(self) -> tuple[str, ...]:
        """The Terraform resource types it creates (its families cover)."""
        return tuple(t for f in self.families for t in f.types)


@cache
def concerns() -> tuple[Concern, ...]:
    """Every concern of constructs_lib, by folder name: each package that defines CONCERN."""
    import constructs_lib

    found = []
    for module in pkgutil.iter_modules(constructs_lib.__path__):
        if module.ispkg:
            package = importlib.import_module(f"constructs_lib.{module.name}")
            if isinstance(getattr(package, "CONCERN", None), Concern):
                found.append(package.CONCERN)
    return tuple(found)


def families() -> tuple[Family, ...]:
    return tuple(f for c in concerns() for f in c.families)


def data_types() -> dict[str, str]:
    return {t: what for c in concerns() for t, what in c.data.items()}


def identity_types() -> dict[str, str]:
    return {t: what for c in concerns() for t, what in c.identity.items()}


def outage_types() -> dict[str, str]:
    return {t: what for c in concerns() for t, what in c.outage.items()}


def actions_on_every_resource() -> dict[str, str]:
    return {a: why for c in concerns() for a, why in c.on_every_resource.items()}


def log_groups() -> tuple[str, ...]:
    return tuple(name for c in concerns() for name in c.log_groups)


def never() -> tuple[str, ...]:
    return tuple(a for c in concerns() for a in c.never)


def managed_policies() -> dict[str, str]:
    return {arn: why for c in concerns() for arn, why in c.managed_policies.items()}


def resource_policies() -> tuple[str, ...]:
    return tuple(t for c in concerns() for t in c.resource_policies)


def concern_rules() -> tuple[Rules, ...]:
    return tuple(c.rules for c in concerns() if c.rules is not None)
