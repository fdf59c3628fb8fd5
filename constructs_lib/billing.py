"""What a concern's resources cost, as its folder declares it (its billing.py): for each
Terraform resource type it creates, a function from the resource's configuration (or its
planned values) and the stage's usage to the charges it incurs each month. Importable without
cdktf; ops/cost prices the charges with the price table (ops/cost/prices.json).

A charge names a price by key (`cloudwatch.alarm-metric`), never a dollar figure: the figures
live in the price table alone, each with its AWS source and date. Usage (requests, GB stored,
monthly active users) is a stage's assumption: each concern declares its usage keys with a
default and what they mean (`USAGE`), a stage's usage file (usage/STAGE.toml) overrides them,
and every estimate says which values were assumed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

HOURS_PER_MONTH = 730  # AWS's pricing pages' month


@dataclass(frozen=True)
class UsageKey:
    """One usage figure a concern's charges read: its default and what it measures."""

    default: float
    means: str


@dataclass(frozen=True)
class Charge:
    """`quantity` units of the price `price` each month (its unit: the price table's)."""

    price: str
    quantity: float
    #: How the quantity was found, e.g. "2 nodes × 730 h" or "usage table.stored_gb".
    basis: str


@dataclass
class Usage:
    """A stage's usage figures: the usage file's, else each key's default (remembered as
    assumed)."""

    given: Mapping[str, float] = field(default_factory=dict)
    keys: Mapping[str, UsageKey] = field(default_factory=dict)
    assumed: set[str] = field(default_factory=set)

    def __call__(self, key: str) -> float:
        if key in self.given:
            return float(self.given[key])
        self.assumed.add(key)
        return self.keys[key].default


#: resource values, the stage's usage -> its charges.
Pricer = Callable[[Mapping[str, Any], Usage], list[Charge]]


def blocks(body: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    """A nested block as a list, whether synthesized (an object, or a list) or planned (a
    list)."""
    value = body.get(name)
    if value is None:
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict)]


def fixed(price: str, basis: str = "1 a month") -> Pricer:
    """One of `price` a month per resource, whatever its values."""
    return lambda _body, _usage: [Charge(price, 1.0, basis)]


def from_usage(*pairs: tuple[str, str]) -> Pricer:
    """Charges read from usage alone: (price, usage key) each."""
    return lambda _body, usage: [Charge(p, usage(k), f"usage {k}") for p, k in pairs]


def free(*types: str) -> dict[str, Pricer]:
    """Types that cost nothing of their own (their service charges another resource, or
    nothing), named so that every type a concern creates is accounted for."""
    return {t: (lambda _body, _usage: []) for t in types}


def truthy(value: Any) -> bool:
    """A boolean as synthesized ("true") or planned (true)."""
    return value is True or str(value).lower() == "true"
