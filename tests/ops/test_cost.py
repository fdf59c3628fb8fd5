"""The monthly cost estimate (ops/cost, issue 38): every resource type each stage synthesizes is
priced by its concern or named free, every price row names its AWS source and date, the
estimate of staging and production by resource, usage files and their refusals, the budget
flag, `bin/cdktf cost`, and the price table's refresh against Price List responses."""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ops import cost
from ops.cost import refresh
from stacks.settings import EMULATOR_STAGES
from tests.session import ROOT

RECORDED = json.loads((Path(__file__).parent / "recorded" / "pricelist.json").read_text())
STAGES = ("dev", "staging", "production", *EMULATOR_STAGES)


@pytest.mark.parametrize("stage_name", STAGES)
def test_every_resource_type_of_every_stage_is_priced_or_named_free(stage, stage_name):
    assert cost.unpriced_types(stage(stage_name).json) == []
    cost.estimate(f"image-service-{stage_name}", stage(stage_name).json, stage_name)  # no miss


def test_every_price_row_names_its_aws_source_and_date():
    rows = json.loads(cost.PRICES.read_text())["rows"]
    assert len({(r["key"], r["region"]) for r in rows}) == len(rows)
    for row in rows:
        assert row["source"].startswith(("https://aws.amazon.com/", "AWS Price List API")), row
        datetime.date.fromisoformat(row["date"])
        assert row["usd"] >= 0 and row["unit"], row
        assert row["region"] in ("us-east-1", "us-west-2", "global"), row


def _lines(estimate, price_key):
    return [line for line in estimate.lines if line.price.key == price_key]


def test_production_is_priced_by_resource_from_its_json_and_usage(stage):
    production = cost.estimate("image-service-production", stage("production").json, "production")
    [nodes] = _lines(production, "elasticache.valkey.cache.t4g.micro")
    assert nodes.quantity == 2 * 730 and nodes.address.startswith("aws_elasticache_replication")
    assert round(nodes.usd, 2) == round(2 * 730 * nodes.price.usd, 2)
    [rules] = _lines(production, "wafv2.rule")
    assert rules.quantity == len(stage("production").one("aws_wafv2_web_acl")["rule"])
    alarms = stage("production").resources("aws_cloudwatch_metric_alarm")
    metrics = sum(
        sum(1 for q in a["metric_query"] if "metric" in q) if "metric_query" in a else 1
        for a in alarms.values()
    )
    assert sum(ln.quantity for ln in _lines(production, "cloudwatch.alarm-metric")) == metrics
    assert len(_lines(production, "kms.key")) == len(stage("production").resources("aws_kms_key"))
    # The copy vault's backups are priced in its own region.
    assert {ln.price.region for ln in _lines(production, "backup.dynamodb-warm-gb")} == {
        "us-east-1",
        "us-west-2",
    }
    # usage/production.toml's figure, not the default.
    [transfer] = _lines(production, "cloudfront.transfer-gb")
    assert transfer.quantity == 800
    assert production.budget_usd == 500.0
    assert production.total == pytest.approx(sum(ln.usd for ln in production.lines))


def test_a_stage_without_a_usage_file_names_every_figure_it_assumed(stage):
    local = cost.estimate("image-service-local", stage("local").json, "local")
    assert local.usage_file is None
    assert "cdn.transfer_gb" in local.assumed and "table.stored_gb" in local.assumed
    text = cost.render_text([local])
    assert "assumed usage (the stage has no usage file): " in text
    assert "cdn.transfer_gb = 200 (GB of images served a month)" in text
    assert "free tiers, account-wide and not applied: " in text


def test_a_bad_usage_file_is_refused_naming_each_problem(stage, tmp_path, monkeypatch):
    (tmp_path / "staging.toml").write_text("[table]\nstored_gb = -1\nrows = 5\n")
    monkeypatch.setattr(cost, "USAGE_DIR", tmp_path)
    with pytest.raises(cost.CostError) as refused:
        cost.estimate("image-service-staging", stage("staging").json, "staging")
    text = str(refused.value)
    assert "table.stored_gb = -1 is not a number of 0 or more" in text
    assert "table.rows is no usage key" in text and "Fix:" in text


def test_a_stage_past_80_percent_of_its_budget_is_flagged():
    price = cost.prices()[("cloudwatch.dashboard", "us-east-1")]
    before = cost.Estimate("image-service-dev", [cost.Line("a.b", price, 10, "x")], 50.0)
    after = cost.Estimate("image-service-dev", [cost.Line("a.b", price, 14, "x")], 50.0)
    lines = "\n".join(cost.render_change(before, after))
    assert "**Cost of image-service-dev**: $30.00 → $42.00 a month (+$12.00; 84% of its " in lines
    assert "| `a.b` | $30.00 | $42.00 | +$12.00 |" in lines
    assert "> [!WARNING]" in lines and "over 80 % of the budget" in lines
    assert before.over_budget_share() is None


def test_bin_cdktf_cost_prints_staging_and_production_by_resource(synth_dir):
    result = subprocess.run(
        [
            str(ROOT / "bin" / "cdktf"),
            "cost",
            "image-service-staging",
            "image-service-production",
            "--skip-synth",
            "--outdir",
            str(synth_dir),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("image-service-staging: $") and "% of its $100.00 budget" in out
    assert "\nimage-service-production: $" in out and "% of its $500.00 budget" in out
    assert "elasticache.valkey.cache.t4g.micro (us-east-1): 1,460 × $0.0128 per node-hour" in out
    assert "aws_wafv2_web_acl." in out
    assert re.search(
        r"\nPrices: ops/cost/prices.json \(the rows used dated \d{4}-\d\d-\d\d to "
        r"\d{4}-\d\d-\d\d; ",
        out,
    ), out


# ---- the price table's refresh ---------------------------------------------------------------
def _doc():
    """Four rows of the real table: one whose price changed, one unchanged, one whose query
    finds two products, and one without a query."""
    table = {(r["key"], r["region"]): r for r in json.loads(cost.PRICES.read_text())["rows"]}
    return {
        "about": "test",
        "rows": [
            table[("elasticache.valkey.cache.t4g.micro", "us-east-1")],
            table[("kms.key", "us-east-1")],
            {**table[("cloudwatch.alarm-metric", "us-east-1")]},
            table[("budgets.budget", "global")],
        ],
    }


def _stubbed(doc):
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    stubber = Stubber(client)
    for row in doc["rows"]:
        if "query" in row:
            expected = {
                "ServiceCode": row["query"]["service"],
                "Filters": refresh.filters(row),
                "MaxResults": 100,
            }
            stubber.add_response("get_products", RECORDED[row["key"]], expected)
    stubber.activate()
    return client, stubber


def test_refresh_writes_changed_prices_with_their_sku_and_date_and_keeps_ambiguous_rows(
    tmp_path, capsys
):
    doc = _doc()
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(doc))
    client, stubber = _stubbed(doc)
    args = refresh.argparse.Namespace(prices=path, dry_run=False)
    code = refresh.run(args, client)
    stubber.assert_no_pending_responses()
    assert code == refresh.EXIT_PARTIAL
    out = capsys.readouterr().out
    assert "changed  elasticache.valkey.cache.t4g.micro (us-east-1): $0.0128 → $0.013" in out
    assert "kept     cloudwatch.alarm-metric (us-east-1): the query finds 2 products" in out
    rows = {r["key"]: r for r in json.loads(path.read_text())["rows"]}
    valkey = rows["elasticache.valkey.cache.t4g.micro"]
    assert valkey["usd"] == 0.013 and valkey["date"] == datetime.date.today().isoformat()
    assert valkey["source"] == "AWS Price List API, AmazonElastiCache SKU VALKEYMICRO1"
    assert rows["kms.key"]["usd"] == 1.0  # unchanged figure, re-dated from the API
    assert rows["cloudwatch.alarm-metric"] == doc["rows"][2]  # kept as it was
    assert rows["budgets.budget"] == doc["rows"][3]  # no query: untouched


def test_refresh_scales_a_listed_unit_price_to_the_rows_unit():
    table = {(r["key"], r["region"]): r for r in json.loads(cost.PRICES.read_text())["rows"]}
    doc = {"rows": [table[("dynamodb.write-request-million", "us-east-1")]]}
    client, _ = _stubbed(doc)
    new, changed, kept = refresh.refresh(client, doc, "2026-12-07")
    assert new["rows"][0]["usd"] == 0.625 and changed == [] and kept == []


def test_refresh_without_credentials_is_one_paragraph_and_writes_nothing(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(_doc()))
    before = path.read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    result = subprocess.run(
        [sys.executable, "-m", "ops.cost.refresh", "--prices", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        result.stderr.startswith("error: no AWS credentials") and "Traceback" not in result.stderr
    )
    assert path.read_text() == before


def test_docs_list_every_usage_key_with_its_default():
    text = (ROOT / "docs" / "cost.md").read_text()
    _, keys = cost.billing()
    for key, usage in keys.items():
        assert f"| `{key}` | {usage.default:g} | {usage.means} |" in text, key


def test_bin_cdktf_cost_of_a_state_stack_is_refused_in_one_paragraph(synth_dir):
    result = subprocess.run(
        [str(ROOT / "bin" / "cdktf"), "cost", "image-service-state-111111111111", "--skip-synth"]
        + ["--outdir", str(synth_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: bin/cdktf cost image-service-state-111111111111: ")
    assert "Fix: name stage stacks" in result.stderr and "Traceback" not in result.stderr
