"""Settings are settings, wiring is wiring (issue 36): a stage's row changes only what its
sections' props let a stage set. What the stack sets (data protection, providers, the custom
domains, the web ACL, the region) is refused in a row with one paragraph, and the rows are
typed, so mypy --strict refuses an unknown field or a wrong type in the stage table."""

from __future__ import annotations

import subprocess
import sys
import typing
from dataclasses import fields

import pytest

from constructs_lib.validation import SET_BY_THE_STACK
from stacks.errors import EXIT_ERROR, SettingsError
from stacks.settings.stages import ACCOUNTS, ROW_SECTIONS, STAGE_TABLE, StageRow, build_stage
from tests.session import ROOT


def test_each_sections_changes_are_exactly_what_a_stage_may_set_of_its_props():
    """Each section's Changes (its props.py) names every field of its props but the name and
    what the stack sets, with the same type: the two cannot drift apart."""
    hints = typing.get_type_hints(StageRow)
    for section, props in ROW_SECTIONS.items():
        optional = [a for a in typing.get_args(hints[section]) if a is not type(None)]
        changes = optional[0] if optional else hints[section]
        settable = {
            f.name: str(f.type)
            for f in fields(props)
            if f.name != "name" and SET_BY_THE_STACK not in f.metadata
        }
        declared = {
            name: getattr(hint, "__forward_arg__", hint)
            for name, hint in changes.__annotations__.items()
        }
        assert changes.__total__ is False, section
        assert declared == settable, section


def test_what_the_stack_sets_is_marked_on_the_props_it_belongs_to():
    marked = {
        f"{section}.{f.name}"
        for section, props in ROW_SECTIONS.items()
        for f in fields(props)
        if SET_BY_THE_STACK in f.metadata
    }
    assert marked == {
        "table.protect_data",
        "bucket.protect_data",
        "auth.protect_data",
        "auth.region",
        "monitoring.region",
        "api.custom_domain",
        "cdn.custom_domain",
        "cdn.log_delivery_provider",
        "cdn.web_acl_id",
        "waf.provider",
        "backups.resource_arns",
        "backups.role_arn",
        "backups.copy_provider",
        "backups.protect_data",
    }


def test_a_row_that_sets_wiring_or_a_field_its_props_lack_is_refused_all_at_once():
    row = StageRow(
        api_hostname="images-dev.lego-api.com",
        cdn_hostname="cdn.images-dev.lego-api.com",
        protect_data=False,
        # Built at run time, past mypy: what a generated or hand-merged row could hold.
        table=typing.cast(typing.Any, {"protect_data": True}),
        cdn=typing.cast(typing.Any, {"web_acl_id": "arn:aws:wafv2:...", "ttl": 5}),
    )
    with pytest.raises(SettingsError) as refused:
        build_stage("dev", row, ACCOUNTS["dev"])
    error = refused.value
    assert error.exit_code == EXIT_ERROR
    assert [(p.setting, p.problem, p.fix) for p in error.problems] == [
        (
            "table.protect_data",
            "is not a setting: the stack sets it from the stage's `protect_data`",
            "remove 'protect_data' from the row's `table`",
        ),
        (
            "cdn.web_acl_id",
            "is not a setting: the stack sets it from the stage's web ACL (`waf`)",
            "remove 'web_acl_id' from the row's `cdn`",
        ),
        (
            "cdn.ttl",
            "ImageCdnProps has no setting 'ttl'",
            error.problems[2].fix,
        ),
    ]
    assert error.problems[2].fix.startswith("use one of origin_access, cache_policy, min_ttl")
    assert "web_acl_id" not in error.problems[2].fix and "name," not in error.problems[2].fix


def test_the_shipped_stage_table_sets_no_wiring():
    for stage, row in STAGE_TABLE.items():
        build_stage(stage, row, ACCOUNTS[stage])


def test_mypy_refuses_an_unknown_field_a_wrong_type_and_wiring_in_a_row(tmp_path):
    """The lint gate's mypy (strict for stacks/) checks STAGE_TABLE's rows against each
    section's Changes: here, a row it must refuse."""
    row = tmp_path / "row.py"
    row.write_text(
        "from stacks.settings.stages import StageRow\n\n"
        "ROW = StageRow(\n"
        '    api_hostname="images-dev.lego-api.com",\n'
        '    cdn_hostname="cdn.images-dev.lego-api.com",\n'
        '    bucket={"versionning": True, "versioning": "no", "protect_data": False},\n'
        ")\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(row),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"MYPYPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1, result.stdout
    assert 'Extra keys ("versionning", "protect_data") for TypedDict "ImageBucketChanges"' in (
        result.stdout
    )
    assert 'TypedDict item "versioning" has type "bool"' in result.stdout
