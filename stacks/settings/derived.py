"""Stages derived from dev, recognised by their names alone (no edit to the stage table): a
preview stage per pull request, `pr-<number>`, and a personal stage per developer,
`dev-<name>`. Each is dev's settings in the previews account (an account of their own:
stacks/settings/accounts.py) with a table, bucket, API, user pool and distribution of its own
and its own state key in that account's state bucket, everything destroyable,
short log retention, no budget and no subscriber, tagged with its kind, its pull request or
owner and its creation date (the nightly clean-up removes it by those tags:
.github/workflows/preview.yml, ops/derived.py).

The limits of AWS's names are checked for every stage (name_problems): a derived name too long
for any resource is refused naming the resource and the limit.
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass, replace

from constructs_lib.domains.props import CustomDomainsProps
from constructs_lib.errors import Problem
from stacks.settings.types import AccountSettings, StageSettings

PREVIEW = re.compile(r"^pr-([1-9][0-9]{0,6})$")
PERSONAL = re.compile(r"^dev-([a-z][a-z0-9-]*)$")
# Stamped on every resource of a derived stage (its provider's default tags), and read back by
# the nightly clean-up; CreatedOn is kept from the stage's first deploy (bin/cdktf reads it from
# the stage's state and passes it in CREATED_ON_ENV).
KIND_TAG, PULL_REQUEST_TAG, OWNER_TAG, CREATED_ON_TAG = (
    "StageKind",
    "PullRequest",
    "Owner",
    "CreatedOn",
)
CREATED_ON_ENV = "IMAGE_SERVICE_STAGE_CREATED_ON"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A handler is named after its stack, `<stack>-<up to this many characters>` (CONTRIBUTING.md,
# "Adding a handler"); its role adds "-role". The names of a stage are checked with this much room.
HANDLER_NAME_ROOM = 16


@dataclass(frozen=True)
class DerivedStages:
    """What every derived stage is."""

    #: The account they live in: one of their own, not the base's (stacks/settings/accounts.py
    #: says why).
    account: AccountSettings
    #: The stage they are built from.
    base: str = "dev"
    #: A zone their account holds, under which each gets its API's and CDN's hostnames
    #: (`pr-42.<zone>`, `cdn.pr-42.<zone>`), the zone looked up, not created. Default: None (the
    #: AWS-given names: no certificate to wait for).
    zone_name: str | None = None
    #: Days the API's access logs are kept. Default: 3.
    log_retention_days: int = 3
    #: A personal stage older than this (its CreatedOn tag) is removed by the nightly clean-up.
    personal_max_age_days: int = 7


def kind(stage: str) -> tuple[str, str] | None:
    """("preview", "<number>") or ("personal", "<name>") for a derived stage's name; else None."""
    preview = PREVIEW.match(stage)
    if preview:
        return "preview", preview.group(1)
    personal = PERSONAL.match(stage)
    if personal and not personal.group(1).endswith("-") and "--" not in personal.group(1):
        return "personal", personal.group(1)
    return None


def created_on() -> str:
    """The creation date to stamp: CREATED_ON_ENV (a deployed stage's own, kept), else today."""
    value = os.environ.get(CREATED_ON_ENV, "").strip()
    return value or datetime.date.today().isoformat()


def derived_tags(stage: str, date: str) -> dict[str, str]:
    found = kind(stage)
    assert found is not None
    what, who = found
    return {
        KIND_TAG: what,
        (PULL_REQUEST_TAG if what == "preview" else OWNER_TAG): who,
        CREATED_ON_TAG: date,
    }


def derive(
    stage: str,
    base: StageSettings,
    account: AccountSettings,
    rules: DerivedStages,
    derived_name: str | None = None,
) -> StageSettings:
    """The derived stage `stage` from its base's settings (`base`, built for `stage`'s names);
    `derived_name` is the derived stage it stands for (an emulator variant's: `pr-7` for
    `local-pr-7`), whose kind and owner its tags name."""
    domains = None
    if rules.zone_name:
        zone = rules.zone_name
        domains = CustomDomainsProps(
            api_hostname=f"{stage}.{zone}",
            cdn_hostname=f"cdn.{stage}.{zone}",
            hosted_zone_name=zone,
            create_hosted_zone=False,
            delegation=None,
        )
    return replace(
        base,
        account=account,
        domains=domains,
        api=replace(base.api, access_log_retention_days=rules.log_retention_days),
        monitoring=replace(base.monitoring, subscriptions=(), budget=None)
        if base.monitoring
        else None,
        waf=None,
        network=None,
        cache=None,
        protect_data=False,
        disposable=True,
        extra_tags=derived_tags(derived_name or stage, created_on()),
    )


def date_problems(settings: StageSettings) -> list[Problem]:
    value = settings.extra_tags.get(CREATED_ON_TAG)
    if value is None:
        return []
    try:
        if _DATE.match(value) and datetime.date.fromisoformat(value):
            return []
    except ValueError:
        pass
    return [
        Problem(
            CREATED_ON_ENV,
            f"{value!r} is not a date of the form YYYY-MM-DD",
            f"unset {CREATED_ON_ENV} (bin/cdktf sets it from the stage's state), or set a date",
        )
    ]


def name_problems(settings: StageSettings) -> list[Problem]:
    """Every name the stage gives a resource, against AWS's limit for it; one problem naming the
    first that does not fit, and how long the stage's name may be."""
    stack = settings.stack_name
    handler = f"{stack}-<handler>"
    room = HANDLER_NAME_ROOM - len("<handler>")  # what the placeholder does not count
    names = [
        ("S3 bucket", settings.bucket.name, 63),
        ("IAM role of a handler", f"{handler}-role", 64 - room),
        ("Lambda function of a handler", handler, 64 - room),
        ("CloudFront origin access control", settings.cdn.name, 64),
        ("DynamoDB table", settings.table.name, 255),
        ("Cognito user pool", settings.auth.name, 128),
        ("HTTP API", settings.api.name, 128),
        ("CloudFront response headers policy", f"{settings.cdn.name}-images", 128),
        ("SNS topic", f"{stack}-us-east-1-alarms", 256),
        ("CloudWatch log group", f"/aws/apigateway/{settings.api.name}/access", 512),
    ]
    if settings.waf is not None:
        names.append(("WAF web ACL", settings.waf.name, 128))
    if settings.network is not None:
        names.append(("IAM role of the flow logs", f"{settings.network.name}-flow-logs", 64))
    for resource, name, limit in names:
        # Only the names the stage's name makes (a name set outside it has its own rule).
        if settings.stage in name and len(name) > limit:
            fits = len(settings.stage) - (len(name) - limit)
            length = len(name) + (room if "<handler>" in name else 0)
            allowed = limit + (room if "<handler>" in name else 0)
            where = (
                f" (a handler named with up to {HANDLER_NAME_ROOM} characters after the stack's)"
                if "<handler>" in name
                else ""
            )
            return [
                Problem(
                    "stage",
                    f"'{settings.stage}' makes the {resource}'s name {name!r}{where} "
                    f"{length} characters long; AWS allows {allowed}",
                    f"use a stage name of at most {max(fits, 1)} characters",
                )
            ]
    return []
