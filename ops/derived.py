"""What bin/cdktf and the preview workflow do for the derived stages (stacks/settings/derived.py:
`pr-<number>`, `dev-<name>`): keep a stage's creation date across its deploys, remove its state
object once it is destroyed, and find the stages the nightly clean-up removes.

    python -m ops.derived summary STACK
        a deployed derived stack's outputs as Markdown (the preview's pull-request comment)
    python -m ops.derived stale --open-prs 3,12 [--today YYYY-MM-DD]
        the derived stacks of dev's account to remove: a preview whose pull request is not
        open, a personal stage older than DERIVED.personal_max_age_days by its CreatedOn tag;
        one stack name per line (.github/workflows/preview.yml destroys each)

Exit codes: 0 listed (possibly none); 2 the account's state bucket cannot be read.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from typing import Any

from ops import local_aws
from ops.action_log import OPS_AGENT
from stacks.errors import ImageServiceError, report
from stacks.settings import StageSettings, stack_name, stage_settings
from stacks.settings.derived import CREATED_ON_TAG, KIND_TAG, kind
from stacks.settings.stages import DERIVED, state_bucket

STATE_PREFIX = "image-service/"
STATE_SUFFIX = "/terraform.tfstate"


class DerivedError(ImageServiceError):
    """The state bucket or the stages' tags cannot be read; the message names the fix."""


def s3_for(settings: StageSettings) -> Any:
    """S3 as the stage's state backend reaches it: the emulator's, or the account's with the
    stage's profile or role."""
    if settings.emulator is not None:
        return local_aws.client(
            "s3", settings.emulator.endpoint, region=settings.state.region, agent=OPS_AGENT
        )
    return session_for(settings).client("s3", region_name=settings.state.region)


def session_for(settings: StageSettings) -> Any:
    import boto3

    account = settings.account
    session = boto3.Session(profile_name=account.profile) if account.profile else boto3.Session()
    if account.role_arn:
        credentials = session.client("sts").assume_role(
            RoleArn=account.role_arn, RoleSessionName=f"image-service-{settings.stage}"
        )["Credentials"]
        return boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    return session


def recorded_created_on(settings: StageSettings) -> str | None:
    """The CreatedOn the stage's last deploy recorded (its state's output), or None: not
    deployed yet, or its state cannot be read here."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        body = s3_for(settings).get_object(Bucket=settings.state.bucket, Key=settings.state_key)
        state = json.loads(body["Body"].read())
    except (BotoCoreError, ClientError, ValueError):
        return None
    value = state.get("outputs", {}).get("CreatedOn", {}).get("value")
    return str(value) if value else None


def remove_state(settings: StageSettings) -> int:
    """Every version of the stage's state object and its lock file; how many were deleted."""
    s3, bucket = s3_for(settings), settings.state.bucket
    removed = 0
    for key in (settings.state_key, f"{settings.state_key}.tflock"):
        listed = s3.list_object_versions(Bucket=bucket, Prefix=key)
        versions = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for part in ("Versions", "DeleteMarkers")
            for v in listed.get(part, [])
            if v["Key"] == key
        ]
        if versions:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": versions, "Quiet": True})
            removed += len(versions)
        elif not listed.get("Versions") and key == settings.state_key:
            s3.delete_object(Bucket=bucket, Key=key)  # an unversioned bucket (the emulator's)
    return removed


def deployed_stages(s3: Any, bucket: str) -> list[str]:
    """The derived stages whose state is in the bucket."""
    paginator = s3.get_paginator("list_objects_v2")
    found = []
    for page in paginator.paginate(Bucket=bucket, Prefix=STATE_PREFIX):
        for item in page.get("Contents", []):
            key = item["Key"]
            if key.endswith(STATE_SUFFIX):
                stage = key[len(STATE_PREFIX) : -len(STATE_SUFFIX)]
                if kind(stage):
                    found.append(stage)
    return sorted(found)


def created_dates(tagging: Any) -> dict[str, str]:
    """Each derived stage's CreatedOn, from its resources' tags (the tagging API)."""
    found: dict[str, str] = {}
    paginator = tagging.get_paginator("get_resources")
    for page in paginator.paginate(TagFilters=[{"Key": KIND_TAG}, {"Key": CREATED_ON_TAG}]):
        for resource in page.get("ResourceTagMappingList", []):
            tags = {t["Key"]: t["Value"] for t in resource.get("Tags", [])}
            stage, date = tags.get("Stage"), tags.get(CREATED_ON_TAG)
            if stage and date:
                found[stage] = min(date, found.get(stage, date))
    return found


def stale(
    stages: list[str],
    open_prs: set[str],
    created: dict[str, str],
    today: datetime.date,
    max_age_days: int,
) -> list[str]:
    """The stages to remove: a preview whose pull request is not open; a personal stage whose
    CreatedOn is more than max_age_days before today (one without a date is kept: it is
    reported, not guessed)."""
    found = []
    for stage in stages:
        what, who = kind(stage) or ("", "")
        if what == "preview" and who not in open_prs:
            found.append(stage)
        elif what == "personal" and stage in created:
            age = today - datetime.date.fromisoformat(created[stage])
            if age.days > max_age_days:
                found.append(stage)
    return found


def summary(stack: str, outputs: dict[str, str]) -> str:
    """The deployed stack's outputs as the pull request's comment shows them."""
    rows = "".join(f"| `{name}` | `{value}` |\n" for name, value in sorted(outputs.items()))
    return (
        f"### Preview stage `{stack}`\n\n"
        "Deployed from this pull request's latest commit; removed when it closes.\n\n"
        f"| output | value |\n|---|---|\n{rows}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.derived", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    shown = commands.add_parser("summary", help="a derived stack's outputs as Markdown")
    shown.add_argument("stack")
    listing = commands.add_parser("stale", help="the derived stacks the clean-up removes")
    listing.add_argument("--open-prs", default="", help="the open pull requests' numbers")
    listing.add_argument("--today", type=datetime.date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    if args.command == "summary":
        from ops.toolchain import OUTDIR, project_env
        from ops.workdir import stack_outputs

        try:
            outputs = stack_outputs(OUTDIR / "stacks" / args.stack, project_env())
        except ImageServiceError as exc:
            return report(exc)
        print(summary(args.stack, outputs), end="")
        return 0
    return stale_command(args)


def stale_command(args: argparse.Namespace) -> int:
    state = state_bucket(DERIVED.account)
    bucket = state.bucket
    # The derived stages' resources are in their base stage's region.
    region = stage_settings(DERIVED.base).region
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        import boto3

        s3 = boto3.client("s3", region_name=state.region)
        stages = deployed_stages(s3, bucket)
        created = created_dates(boto3.client("resourcegroupstaggingapi", region_name=region))
    except (BotoCoreError, ClientError) as exc:
        return report(
            DerivedError(
                f"cannot list the derived stages in s3://{bucket} ({exc})",
                "run with the preview deploy role's credentials (AWS_DEPLOY_ROLE of the GitHub "
                "environment `preview`)",
            )
        )
    open_prs = {n.strip() for n in args.open_prs.split(",") if n.strip()}
    today = args.today or datetime.date.today()
    for stage in stale(stages, open_prs, created, today, DERIVED.personal_max_age_days):
        print(stack_name(stage))
    for stage in stages:
        found = kind(stage)
        if found and found[0] == "personal" and stage not in created:
            print(f"kept {stack_name(stage)}: no CreatedOn tag found", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
