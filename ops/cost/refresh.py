"""python -m ops.cost.refresh [--dry-run]: the price table's figures from the AWS Price List API.

For each row of ops/cost/prices.json with a `query`, GetProducts (boto3's `pricing` client, in
us-east-1 where the API answers) with the row's filters and its region (`regionCode`, except
worldwide rows) finds one product; its on-demand price of the row's tier (`tier`, the range
starting at 0 by default) times `per` is the row's new figure, dated today, its source the
product's SKU. Each changed figure is printed (old → new); rows whose query finds no product or
several are named and kept as they were. The table is written whole or not at all (a temporary
file renamed over it), so an interrupted refresh leaves it as it was. Needs credentials that may
call pricing:GetProducts (the account's review role may).

Exit codes: 0 refreshed (or nothing changed); 2 bad input, no credentials or AWS refused;
3 some rows could not be refreshed (the others were); 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ops.cost import PRICES
from stacks.errors import ImageServiceError, Interrupted, ToolchainError, report

EXIT_PARTIAL = 3
PRICING_REGION = "us-east-1"


def filters(row: dict[str, Any]) -> list[dict[str, str]]:
    """The GetProducts filters of a row: `~value` is CONTAINS, else EQUALS; its region as
    regionCode unless it is priced worldwide."""
    found = []
    for field_name, value in row["query"]["filters"].items():
        if value.startswith("~"):
            found.append({"Type": "CONTAINS", "Field": field_name, "Value": value[1:]})
        else:
            found.append({"Type": "EQUALS", "Field": field_name, "Value": value})
    if row["region"] != "global":
        found.append({"Type": "EQUALS", "Field": "regionCode", "Value": row["region"]})
    return found


def products(client: Any, row: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    request = {"ServiceCode": row["query"]["service"], "Filters": filters(row), "MaxResults": 100}
    while True:
        page = client.get_products(**request)
        found += [json.loads(p) if isinstance(p, str) else p for p in page.get("PriceList", [])]
        if not page.get("NextToken"):
            return found
        request["NextToken"] = page["NextToken"]


def on_demand_price(product: dict[str, Any], tier: str) -> tuple[float, str] | None:
    """The product's on-demand USD price for the range starting at `tier`, and its unit."""
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            if str(dimension.get("beginRange", "0")) == tier:
                return float(dimension["pricePerUnit"]["USD"]), str(dimension.get("unit", ""))
    return None


def refreshed_row(client: Any, row: dict[str, Any], today: str) -> tuple[dict[str, Any], str]:
    """The row with its new figure, and what happened ("" when nothing changed)."""
    found = products(client, row)
    label = f"{row['key']} ({row['region']})"
    if len(found) != 1:
        return row, f"{label}: the query finds {len(found)} products, not one; kept"
    tier = str(row["query"].get("tier", "0"))
    price = on_demand_price(found[0], tier)
    if price is None:
        return row, f"{label}: no on-demand price from {tier}; kept"
    usd = round(price[0] * float(row["query"].get("per", 1.0)), 10)
    sku = found[0].get("product", {}).get("sku", "?")
    new = {
        **row,
        "usd": usd,
        "date": today,
        "source": f"AWS Price List API, {row['query']['service']} SKU {sku}",
    }
    if usd == row["usd"]:
        return new, ""
    return new, f"{label}: ${row['usd']:g} → ${usd:g} per {row['unit']}"


def refresh(
    client: Any, doc: dict[str, Any], today: str
) -> tuple[dict[str, Any], list[str], list[str]]:
    """The table refreshed: (the new table, the changes, the rows kept as they were)."""
    rows, changed, kept = [], [], []
    for row in doc["rows"]:
        if "query" not in row:
            rows.append(row)
            continue
        new, said = refreshed_row(client, row, today)
        rows.append(new)
        if said.endswith("; kept"):
            kept.append(said)
        elif said:
            changed.append(said)
    return {**doc, "rows": rows}, changed, kept


def write_whole(path: Path, doc: dict[str, Any]) -> None:
    """Written to a temporary file beside it, then renamed over it: all or nothing."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".prices-", suffix=".json")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(json.dumps(doc, indent=1) + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.cost.refresh",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dry-run", action="store_true", help="print the changes, write none")
    parser.add_argument("--prices", type=Path, default=PRICES, help=argparse.SUPPRESS)
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        return run(args, client())
    except ImageServiceError as exc:
        return report(exc)


def client() -> Any:
    import boto3

    return boto3.client("pricing", region_name=PRICING_REGION)


def run(args: argparse.Namespace, pricing: Any) -> int:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    doc = json.loads(args.prices.read_text())
    today = datetime.date.today().isoformat()
    try:
        new, changed, kept = refresh(pricing, doc, today)
    except NoCredentialsError:
        raise ToolchainError(
            "no AWS credentials: the Price List API needs them (any role that may call "
            "pricing:GetProducts, such as the account's review role); nothing was written",
            "configure credentials (e.g. AWS_PROFILE) and run it again",
        ) from None
    except (BotoCoreError, ClientError) as exc:
        raise ToolchainError(
            f"the Price List API refused or could not be reached ({exc}); nothing was written",
            "fix the cause it names and run it again",
        ) from None
    except KeyboardInterrupt:
        raise Interrupted("the refresh stopped; nothing was written", "run it again") from None
    for line in changed:
        print(f"changed  {line}")
    for line in kept:
        print(f"kept     {line}")
    if not args.dry_run:
        write_whole(args.prices, new)
    print(
        f"refresh: {len(changed)} price(s) changed, {len(kept)} kept as they were"
        + (" (dry run: nothing written)" if args.dry_run else f"; {args.prices} written")
    )
    return EXIT_PARTIAL if kept else 0


if __name__ == "__main__":
    sys.exit(main())
