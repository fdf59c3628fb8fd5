"""What a stage costs a month, from its synthesized JSON (or a plan's values), its usage file and
the price table; no AWS access (as `infracost breakdown --path` does).

    bin/cdktf cost STACK...          each stack's estimate, by resource with its price row
    python -m ops.cost.refresh       the price table from the AWS Price List API

Each concern's billing.py says what its resource types incur (constructs_lib/billing.py); the
figures are the price table's (prices.json: each row its AWS source and date). Usage-based
charges read the stage's usage file (usage/STAGE.toml), else each key's default, which the
estimate names as assumed. Free tiers are account-wide, so they are named, not applied. A
stage whose estimate passes 80 % of its budget (its aws_budgets_budget) is flagged. The review
(ops/review.py) shows each stage's cost before and after the change from the same code.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from constructs_lib.billing import Charge, Pricer, Usage, UsageKey
from stacks.errors import ToolchainError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PRICES = HERE / "prices.json"
USAGE_DIR = ROOT / "usage"
# A stage over this share of its budget is flagged.
BUDGET_WARNING = 0.8
# Where AWS bills a service worldwide rather than in the resource's region.
GLOBAL_PREFIXES = ("cloudfront.", "wafv2.", "route53.", "budgets.")


@dataclass(frozen=True)
class Price:
    key: str
    region: str
    usd: float
    unit: str
    source: str
    date: str
    free_tier: str = ""
    note: str = ""


@dataclass(frozen=True)
class Line:
    """One charge of one resource, priced."""

    address: str
    price: Price
    quantity: float
    basis: str

    @property
    def usd(self) -> float:
        return self.price.usd * self.quantity


@dataclass
class Estimate:
    stack: str
    lines: list[Line] = field(default_factory=list)
    budget_usd: float | None = None
    assumed: dict[str, UsageKey] = field(default_factory=dict)
    usage_file: Path | None = None
    unpriced: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(line.usd for line in self.lines)

    def by_resource(self) -> dict[str, float]:
        found: dict[str, float] = {}
        for line in self.lines:
            found[line.address] = found.get(line.address, 0.0) + line.usd
        return found

    def budget_share(self) -> float | None:
        """The estimate's share of the budget (None: the stack has no budget)."""
        return self.total / self.budget_usd if self.budget_usd else None

    def over_budget_share(self) -> float | None:
        """The estimate's share of the budget when it passes BUDGET_WARNING, else None."""
        share = self.budget_share()
        return share if share is not None and share > BUDGET_WARNING else None

    def free_tiers(self) -> dict[str, str]:
        return {ln.price.key: ln.price.free_tier for ln in self.lines if ln.price.free_tier}


class CostError(ToolchainError):
    """A price, a usage file or a stack that cannot be estimated."""


@cache
def prices(path: Path = PRICES) -> dict[tuple[str, str], Price]:
    rows = json.loads(path.read_text())["rows"]
    fields = Price.__dataclass_fields__
    return {
        (r["key"], r["region"]): Price(**{k: v for k, v in r.items() if k in fields}) for r in rows
    }


@cache
def billing() -> tuple[dict[str, Pricer], dict[str, UsageKey]]:
    """Every concern's pricers by resource type, and its usage keys."""
    from constructs_lib.concern import concerns

    pricers: dict[str, Pricer] = {}
    keys: dict[str, UsageKey] = {}
    for concern in concerns():
        pricers.update(concern.billing)
        keys.update(concern.usage)
    return pricers, keys


def usage_file(stage: str) -> Path:
    return USAGE_DIR / f"{stage}.toml"


def read_usage(stage: str) -> tuple[dict[str, float], Path | None]:
    """The stage's usage figures (`[section] key = number` → "section.key"), if it has a file;
    an unknown key or a value that is no number is refused."""
    path = usage_file(stage)
    if not path.is_file():
        return {}, None
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise CostError(f"{path} is not valid TOML ({exc})", "fix the line it names") from None
    _, keys = billing()
    found: dict[str, float] = {}
    problems = []
    for section, values in doc.items():
        for name, value in values.items() if isinstance(values, dict) else [(None, values)]:
            key = f"{section}.{name}" if name else section
            if key not in keys:
                problems.append(f"{key} is no usage key")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                problems.append(f"{key} = {value!r} is not a number of 0 or more")
            else:
                found[key] = float(value)
    if problems:
        raise CostError(
            f"{path}: " + "; ".join(problems),
            "use the keys docs/cost.md lists (each a number of 0 or more): "
            + ", ".join(sorted(keys)),
        )
    return found, path


def regions(config: Mapping[str, Any]) -> dict[str, str]:
    """Provider reference ("aws", "aws.alias") -> its region."""
    found = {}
    for provider in config.get("provider", {}).get("aws", []):
        alias = provider.get("alias")
        found[f"aws.{alias}" if alias else "aws"] = provider.get("region", "us-east-1")
    return found


def _price(key: str, region: str, address: str) -> Price:
    table = prices()
    where = "global" if key.startswith(GLOBAL_PREFIXES) else region
    found = table.get((key, where))
    if found is None:
        raise CostError(
            f"the price table has no price {key} in {where} (needed by {address})",
            f"add a row for it to {PRICES.relative_to(ROOT)} with its AWS source and date, or run "
            "`python -m ops.cost.refresh` after adding its query",
        )
    return found


def estimate(
    stack: str,
    config: Mapping[str, Any],
    stage: str,
    values: Mapping[str, Mapping[str, Any]] | None = None,
) -> Estimate:
    """The stack's monthly estimate: each resource of `config` (its synthesized JSON) priced
    from its configuration, or each resource of `values` (address -> a plan's values, before
    or after the change) priced from those, in its provider's region from `config`."""
    pricers, keys = billing()
    given, path = read_usage(stage)
    usage = Usage(given, keys)
    region_of = regions(config)
    configured = {
        f"{tf_type}.{name}": body
        for tf_type, resources in config.get("resource", {}).items()
        for name, body in resources.items()
    }
    resources = values if values is not None else configured
    result = Estimate(stack, usage_file=path)
    for address in sorted(resources):
        tf_type = address.split(".", 1)[0]
        current = resources[address]
        body = configured.get(address.split("[", 1)[0], {})
        region = region_of.get(body.get("provider", "aws"), "us-east-1")
        if tf_type == "aws_budgets_budget":
            result.budget_usd = float(current.get("limit_amount") or 0) or None
        pricer = pricers.get(tf_type)
        if pricer is None:
            if tf_type not in result.unpriced:
                result.unpriced.append(tf_type)
            continue
        for charge in pricer(current, usage):
            result.lines.append(_line(address, charge, region))
    result.assumed = {k: keys[k] for k in sorted(usage.assumed)}
    return result


def _line(address: str, charge: Charge, region: str) -> Line:
    return Line(address, _price(charge.price, region, address), charge.quantity, charge.basis)


def unpriced_types(config: Mapping[str, Any]) -> list[str]:
    """Resource types no concern's billing names (every type must be priced or named free)."""
    pricers, _ = billing()
    return sorted(t for t in config.get("resource", {}) if t not in pricers)


def planned_values(plan_doc: Mapping[str, Any], side: str) -> dict[str, dict[str, Any]]:
    """address -> the plan's `before` or `after` values of each managed resource that exists on
    that side."""
    found = {}
    for change in plan_doc.get("resource_changes", []):
        if change.get("mode") == "data":
            continue
        value = change.get("change", {}).get(side)
        if isinstance(value, dict):
            found[change["address"]] = value
    return found


# ---- rendering ------------------------------------------------------------------------------
def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def _quantity(line: Line) -> str:
    q = line.quantity
    return f"{q:,.0f}" if q == int(q) else f"{q:,.4g}"


def budget_line(est: Estimate) -> str:
    share = est.budget_share()
    if share is None or est.budget_usd is None:
        return "no budget"
    over = est.over_budget_share() is not None
    flag = f" — over {BUDGET_WARNING * 100:.0f} % of the budget" if over else ""
    return f"{share:.0%} of its {usd(est.budget_usd)} budget{flag}"


def render_text(estimates: Iterable[Estimate]) -> str:
    estimates = list(estimates)
    out = []
    for est in estimates:
        out.append(f"{est.stack}: {usd(est.total)} a month ({budget_line(est)})")
        totals = est.by_resource()
        for address in sorted(totals, key=lambda a: (-totals[a], a)):
            out.append(f"  {usd(totals[address]):>9}  {address}")
            for line in (ln for ln in est.lines if ln.address == address):
                out.append(
                    f"{'':13}{usd(line.usd):>9}  {line.price.key} ({line.price.region}): "
                    f"{_quantity(line)} × {usd_unit(line.price)} ({line.basis})"
                )
        out += _notes(est, "  ")
        out.append("")
    dates = sorted({ln.price.date for est in estimates for ln in est.lines})
    dated = f"the rows used dated {dates[0]} to {dates[-1]}" if dates else "no row used"
    out.append(
        f"Prices: {PRICES.relative_to(ROOT)} ({dated}; each row's AWS source in it; refresh "
        "with `python -m ops.cost.refresh`). Usage: usage/STAGE.toml (docs/cost.md)."
    )
    return "\n".join(out) + "\n"


def usd_unit(price: Price) -> str:
    return f"${price.usd:g} per {price.unit}"


def _notes(est: Estimate, indent: str) -> list[str]:
    notes = []
    if est.assumed:
        where = (
            f"{est.usage_file.relative_to(ROOT)} does not set these"
            if est.usage_file
            else "the stage has no usage file"
        )
        notes.append(
            f"{indent}assumed usage ({where}): "
            + "; ".join(f"{k} = {v.default:g} ({v.means})" for k, v in est.assumed.items())
        )
    tiers = est.free_tiers()
    if est.unpriced:
        notes.append(
            f"{indent}not priced (no concern's billing names them): " + ", ".join(est.unpriced)
        )
    if tiers:
        notes.append(
            f"{indent}free tiers, account-wide and not applied: "
            + "; ".join(f"{k}: {v}" for k, v in sorted(tiers.items()))
        )
    return notes


def render_change(before: Estimate, after: Estimate) -> list[str]:
    """Markdown lines: the stage's monthly cost before and after, the difference, and each
    resource whose cost changes."""
    diff = after.total - before.total
    sign = "+" if diff >= 0 else "−"
    lines = [
        f"**Cost of {after.stack}**: {usd(before.total)} → {usd(after.total)} a month "
        f"({sign}{usd(abs(diff))}; {budget_line(after)})",
    ]
    was, now = before.by_resource(), after.by_resource()
    changed = sorted(a for a in set(was) | set(now) if abs(was.get(a, 0) - now.get(a, 0)) >= 0.005)
    if changed:
        lines += ["", "| resource | before | after | difference |", "|---|---|---|---|"]
        for address in changed:
            b, a = was.get(address, 0.0), now.get(address, 0.0)
            d = a - b
            lines.append(
                f"| `{address}` | {usd(b)} | {usd(a)} | {'+' if d >= 0 else '−'}{usd(abs(d))} |"
            )
    if after.over_budget_share() is not None:
        lines += ["", f"> [!WARNING]\n> {after.stack}'s estimate is {budget_line(after)}."]
    notes = _notes(after, "- ")
    if notes:
        lines += ["", "<details><summary>What the estimate assumes</summary>", "", *notes]
        lines += ["", "</details>"]
    return lines
