"""image-service-local applied for real to the emulator, inspected, used as the next epics'
handlers will use it (uploads, metadata queries, sign-in: `make smoke`), re-planned through the
cdktf CLI, guarded, and destroyed through the project's cdktf wrapper. (Drift repair and
a bare re-plan run on the production-like stack: test_protected_deploy.py.)

Tests run in file order; the last one destroys the stack.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading

import pytest

from ops import smoke
from ops.plan_guard import PLAN_FILE, find_data_loss, guarded_apply, plan, plan_json
from ops.toolchain import CDKTF_BIN, ROOT, terraform
from ops.workdir import stack_outputs
from stacks.errors import EXIT_REFUSED, WrongAccount

pytestmark = pytest.mark.emulator
STACK = "image-service-local"
PNG = smoke.tiny_png()


@pytest.fixture(scope="module")
def stack_dir(local_outdir):
    return local_outdir / "stacks" / STACK


@pytest.fixture(scope="module")
def outputs(stack_dir, emulator_env):
    # As `make up` does it: plan, guard the plan (a first deploy deletes nothing), apply it.
    assert guarded_apply(stack_dir, set(), emulator_env) == []
    return stack_outputs(stack_dir, emulator_env)


def test_table_as_specified(outputs, aws):
    table = aws("dynamodb").describe_table(TableName=outputs["TableName"])["Table"]
    assert outputs["TableName"] == "ImageMetadata-local"
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {
        ("PK", "HASH"),
        ("SK", "RANGE"),
    }
    gsis = {g["IndexName"]: g for g in table["GlobalSecondaryIndexes"]}
    assert sorted(gsis) == ["AlbumIndex", "UserIndex"]
    assert [k["AttributeName"] for k in gsis["UserIndex"]["KeySchema"]] == ["GSI1PK", "GSI1SK"]
    assert [k["AttributeName"] for k in gsis["AlbumIndex"]["KeySchema"]] == ["GSI2PK", "GSI2SK"]
    assert all(g["Projection"]["ProjectionType"] == "ALL" for g in gsis.values())
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert table["SSEDescription"]["Status"] == "ENABLED"
    ttl = aws("dynamodb").describe_time_to_live(TableName=outputs["TableName"])
    assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}


def test_bucket_as_specified(outputs, aws):
    s3, bucket = aws("s3"), outputs["BucketName"]
    # Given inline on the bucket here (no 55 s read-back wait), read back as the same rules;
    # local-production applies them as aws_s3_bucket_lifecycle_configuration.
    cors = s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]
    assert sorted(cors["AllowedMethods"]) == sorted(["GET", "PUT", "POST", "DELETE", "HEAD"])
    assert cors["AllowedOrigins"] == ["https://lego-moc.com", "https://*.lego-moc.com"]
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules["intelligent-tiering"]["Transitions"] == [
        {"Days": 0, "StorageClass": "INTELLIGENT_TIERING"}
    ]
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1
    }
    sse = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    sids = {s["Sid"]: s for s in policy["Statement"]}
    # The CDN's read grant only: moto would apply the deny-non-TLS statement of the real stages
    # to every request (EMULATOR_BUCKET_POLICY_GAP; test_an_upload_..._production_policy).
    assert sorted(sids) == ["AllowCloudFrontRead"]
    read = sids["AllowCloudFrontRead"]
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Condition"]["StringEquals"]["AWS:SourceArn"].endswith(
        outputs["CloudFrontDistributionId"]
    )


def test_distribution_as_specified(outputs, aws):
    config = aws("cloudfront").get_distribution_config(Id=outputs["CloudFrontDistributionId"])[
        "DistributionConfig"
    ]
    # The fast stage creates it disabled (no disable wait on destroy); local-production proves
    # the enabled one (test_protected_deploy.py).
    assert config["Enabled"] is False
    assert config["PriceClass"] == "PriceClass_100"
    assert config["HttpVersion"] == "http2and3"
    assert config["IsIPV6Enabled"] is True
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["CachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    assert behavior["ResponseHeadersPolicyId"] == "67f7725c-6f97-4210-82d7-5512b31e9d03"
    origin = config["Origins"]["Items"][0]
    assert origin["DomainName"].startswith(outputs["BucketName"] + ".s3")
    oacs = aws("cloudfront").list_origin_access_controls()["OriginAccessControlList"]["Items"]
    assert [(o["SigningBehavior"], o["OriginAccessControlOriginType"]) for o in oacs] == [
        ("always", "s3")
    ]


def test_api_authorizer_and_routes(outputs, aws):
    api = aws("apigatewayv2").get_api(ApiId=outputs["ApiId"])
    assert api["ProtocolType"] == "HTTP"
    assert sorted(api["CorsConfiguration"]["AllowMethods"]) == sorted(
        ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    )
    routes = aws("apigatewayv2").get_routes(ApiId=outputs["ApiId"])["Items"]
    # (moto's GetAuthorizers list call fails with HTTP 500; the single-item call works)
    authorizer_ids = {r.get("AuthorizerId") for r in routes}
    assert len(authorizer_ids) == 1
    authorizer = aws("apigatewayv2").get_authorizer(
        ApiId=outputs["ApiId"], AuthorizerId=authorizer_ids.pop()
    )
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
    jwt = authorizer["JwtConfiguration"]
    assert jwt["Issuer"] == ("https://cognito-idp.us-east-1.amazonaws.com/" + outputs["UserPoolId"])
    assert jwt["Audience"] == [outputs["UserPoolClientId"]]
    assert sorted(r["RouteKey"] for r in routes) == sorted(
        [
            "POST /images",
            "GET /images/{imageId}",
            "GET /images",
            "PATCH /images/{imageId}",
            "DELETE /images/{imageId}",
        ]
    )
    for route in routes:
        assert route["AuthorizationType"] == "JWT"
        assert route["AuthorizerId"] == authorizer["AuthorizerId"]
    stages = aws("apigatewayv2").get_stages(ApiId=outputs["ApiId"])["Items"]
    assert [s["StageName"] for s in stages] == ["$default"]


def test_user_pool_and_client(outputs, aws):
    idp = aws("cognito-idp")
    pool = idp.describe_user_pool(UserPoolId=outputs["UserPoolId"])["UserPool"]
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    client = idp.describe_user_pool_client(
        UserPoolId=outputs["UserPoolId"], ClientId=outputs["UserPoolClientId"]
    )["UserPoolClient"]
    assert "ClientSecret" not in client


def test_default_tags_reach_the_resources(outputs, aws):
    tags = aws("dynamodb").list_tags_of_resource(ResourceArn=outputs["TableArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {
        "Service": "image-service",
        "Stage": "local",
        "ManagedBy": "cdktf",
    }


def test_an_item_round_trips_through_the_user_index(outputs, aws):
    ddb = aws("dynamodb")
    ddb.put_item(
        TableName=outputs["TableName"],
        Item={
            "PK": {"S": "IMAGE#1"},
            "SK": {"S": "METADATA"},
            "GSI1PK": {"S": "USER#u1"},
            "GSI1SK": {"S": "UPLOADED#2026-11-25T00:00:00Z"},
        },
    )
    by_user = ddb.query(
        TableName=outputs["TableName"],
        IndexName="UserIndex",
        KeyConditionExpression="GSI1PK = :u",
        ExpressionAttributeValues={":u": {"S": "USER#u1"}},
    )
    assert [i["PK"]["S"] for i in by_user["Items"]] == ["IMAGE#1"]


def test_an_image_round_trips_through_put_object_and_get_object(outputs, aws):
    s3, bucket = aws("s3"), outputs["BucketName"]
    s3.put_object(Bucket=bucket, Key="images/7.png", Body=PNG, ContentType="image/png")
    stored = s3.get_object(Bucket=bucket, Key="images/7.png")
    assert (stored["Body"].read(), stored["ContentType"]) == (PNG, "image/png")
    assert stored["ServerSideEncryption"] == "AES256"
    s3.delete_object(Bucket=bucket, Key="images/7.png")


def test_make_smoke_uploads_queries_signs_in_and_cleans_up(deployment, outputs, aws):
    proc = deployment.run(
        sys.executable,
        "-m",
        "ops.smoke",
        "--endpoint",
        deployment.endpoint,
        "--outdir",
        str(deployment.outdir),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[:2] for line in lines[1:-1]] == [
        ["upload", "ok"],
        ["metadata", "ok"],
        ["sign-in", "ok"],
        ["ttl", "ok"],
        ["cleanup", "ok"],
    ]
    assert lines[-1] == "smoke: every step passed"
    # Nothing of the run is left beside the developer's data.
    assert aws("s3").list_objects_v2(Bucket=outputs["BucketName"], Prefix="smoke/")["KeyCount"] == 0
    items = aws("dynamodb").scan(TableName=outputs["TableName"])["Items"]
    assert not [i for i in items if i["PK"]["S"].startswith("IMAGE#smoke-")]
    assert aws("cognito-idp").list_users(UserPoolId=outputs["UserPoolId"])["Users"] == []


def test_smoke_names_the_failing_step_with_the_real_stages_policy(deployment, outputs, aws, capsys):
    # The real stages' deny-non-TLS statement, as moto evaluates it: every upload is refused.
    s3, bucket = aws("s3"), outputs["BucketName"]
    shipped = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    policy = json.loads(shipped)
    policy["Statement"].append(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    try:
        code = smoke.main(["--endpoint", deployment.endpoint, "--outdir", str(deployment.outdir)])
    finally:
        s3.put_bucket_policy(Bucket=bucket, Policy=shipped)
    out, err = capsys.readouterr()
    assert code == smoke.EXIT_FAILED
    assert "upload    FAILED  S3 refused the presigned PUT" in out and "HTTP 403" in out
    assert "metadata" not in out
    assert err.strip().startswith("smoke: step 'upload' failed:") and "Traceback" not in err


def test_smoke_without_a_deployed_stack_says_to_run_make_up(deployment, tmp_path, capsys):
    code = smoke.main(["--endpoint", deployment.endpoint, "--outdir", str(tmp_path)])
    assert code == smoke.EXIT_NOTHING_TO_TEST
    err = capsys.readouterr().err
    assert "has not been deployed" in err and "Fix: run `make up`" in err


def test_cdktf_diff_through_the_real_cli_reports_no_changes(
    stack_dir, emulator_env, outputs, local_outdir, tmp_path
):
    log = tmp_path / "cdktf-diff.log"  # a file, not a pipe: see test_protected_deploy
    with log.open("w") as out:
        proc = subprocess.run(
            [
                str(CDKTF_BIN),
                "diff",
                STACK,
                "--skip-synth",
                "--skip-provider-lock",
                "--no-color",
                "--output",
                str(local_outdir),
            ],
            cwd=ROOT,
            env=emulator_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    assert proc.returncode == 0, log.read_text()
    assert "No changes" in log.read_text()


def variant_of(stack_dir, config: dict, tmp_path):
    """The stack with another cdk.tf.json, sharing its initialised .terraform and assets."""
    variant = tmp_path / STACK
    variant.mkdir()
    (variant / "cdk.tf.json").write_text(json.dumps(config))
    for name in (".terraform", ".terraform.lock.hcl", "assets"):
        (variant / name).symlink_to(stack_dir / name)
    return variant


def test_guard_refuses_a_key_schema_change_that_replaces_the_table(
    stack_dir, emulator_env, outputs, tmp_path
):
    config = json.loads((stack_dir / "cdk.tf.json").read_text())
    table = next(iter(config["resource"]["aws_dynamodb_table"].values()))
    # A different partition key forces a new table: the classic accidental data loss.
    table["hash_key"] = "ImageId"
    table["attribute"] = [
        a if a["name"] != "PK" else {"name": "ImageId", "type": "S"} for a in table["attribute"]
    ]
    losses = find_data_loss(plan_json(variant_of(stack_dir, config, tmp_path), emulator_env))
    assert [(loss.address, loss.action) for loss in losses] == [
        (f"aws_dynamodb_table.{next(iter(config['resource']['aws_dynamodb_table']))}", "replace")
    ]


ACCESS_LOGS = "/aws/apigateway/image-service-local/access"


def _retention(aws) -> int:
    [group] = aws("logs").describe_log_groups(logGroupNamePrefix=ACCESS_LOGS)["logGroups"]
    return group["retentionInDays"]


def wrapper_deploy(outdir) -> list[str]:
    """`bin/cdktf deploy image-service-local` of the synthesis already in `outdir`."""
    return [str(ROOT / "bin" / "cdktf"), "deploy", STACK, "--skip-synth", "--output", str(outdir)]


def _with_retention(config: dict, days: int) -> dict:
    """The stack with the API's access logs kept `days` (an update moto applies at once)."""
    [group] = [
        g
        for g in config["resource"]["aws_cloudwatch_log_group"].values()
        if g["name"] == ACCESS_LOGS
    ]
    group["retention_in_days"] = days
    return config


def test_deploy_applies_exactly_the_checked_plan(stack_dir, emulator_env, outputs, tmp_path, aws):
    """A change made after the plan guard checked the plan (here: a table tag written into the
    configuration while the plan waits for approval) is not applied with it."""
    config = json.loads((stack_dir / "cdk.tf.json").read_text())
    variant = variant_of(stack_dir, _with_retention(config, 30), tmp_path)
    [table_address] = config["resource"]["aws_dynamodb_table"]

    def change_after_the_check(plan_file):
        assert plan_file == variant / PLAN_FILE and plan_file.is_file()
        late = json.loads((variant / "cdk.tf.json").read_text())
        late["resource"]["aws_dynamodb_table"][table_address]["tags"] = {"Late": "unchecked"}
        (variant / "cdk.tf.json").write_text(json.dumps(late))
        return True

    try:
        assert guarded_apply(variant, set(), emulator_env, approve=change_after_the_check) == []
        assert _retention(aws) == 30  # the checked change
        tags = aws("dynamodb").list_tags_of_resource(ResourceArn=outputs["TableArn"])["Tags"]
        assert "Late" not in {t["Key"] for t in tags}  # the unchecked one
        pending = plan(variant, emulator_env)
        assert [(c["address"], c["change"]["actions"]) for c in pending.resource_changes] == [
            (f"aws_dynamodb_table.{table_address}", ["update"])
        ]
    finally:
        assert guarded_apply(stack_dir, set(), emulator_env) == []
    assert _retention(aws) == 14


def test_wrapper_deploy_shows_the_plan_and_applies_it_only_when_approved(
    deployment, stack_dir, emulator_env, outputs, aws
):
    config_file = stack_dir / "cdk.tf.json"
    original = config_file.read_text()
    deploy = wrapper_deploy(deployment.outdir)
    try:
        config_file.write_text(json.dumps(_with_retention(json.loads(original), 60)))
        unattended = subprocess.run(
            deploy,
            cwd=ROOT,
            env=emulator_env,
            text=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
        assert unattended.returncode == 2, unattended.stderr
        assert "needs approval, and there is no terminal to ask in; nothing was applied" in (
            unattended.stderr
        )
        assert "retention_in_days = 14 -> 60" in unattended.stdout  # the plan, shown
        assert "Traceback" not in unattended.stderr
        assert _retention(aws) == 14

        approved = deployment.run(*deploy, "--auto-approve")
        assert approved.returncode == 0, approved.stderr
        assert "retention_in_days = 14 -> 60" in approved.stdout
        assert "Apply complete! Resources: 0 added, 1 changed, 0 destroyed." in approved.stdout
        assert f"  TableName = {outputs['TableName']}" in approved.stdout
        assert _retention(aws) == 60
    finally:
        config_file.write_text(original)
        assert guarded_apply(stack_dir, set(), emulator_env) == []
    assert _retention(aws) == 14


def test_wrapper_deploy_without_changes_says_so_and_prints_the_outputs(deployment, outputs):
    result = deployment.run(*wrapper_deploy(deployment.outdir))
    assert result.returncode == 0, result.stderr
    assert "No changes: the deployment already matches the configuration." in result.stdout
    assert f"  BucketName = {outputs['BucketName']}" in result.stdout


def test_the_local_stack_is_pinned_to_the_emulators_account(stack_dir):
    providers = json.loads((stack_dir / "cdk.tf.json").read_text())["provider"]["aws"]
    assert [p["allowed_account_ids"] for p in providers] == [["123456789012"]] * 2
    # ...and the outputs fixture planned and applied it: the emulator's STS said 123456789012.


def test_another_account_is_refused_in_one_paragraph(deployment, stack_dir, emulator_env, tmp_path):
    """The same stack pinned to account 111111111111, planned with the emulator's credentials
    (account 123456789012): the provider refuses, and the project's deploy says so."""
    config = json.loads((stack_dir / "cdk.tf.json").read_text())
    for provider in config["provider"]["aws"]:
        provider["allowed_account_ids"] = ["111111111111"]
    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks").mkdir(parents=True)
    variant_of(stack_dir, config, outdir / "stacks")
    with pytest.raises(WrongAccount) as refused:
        plan(outdir / "stacks" / STACK, emulator_env)
    assert (refused.value.expected, refused.value.actual) == (["111111111111"], "123456789012")

    result = deployment.run(*wrapper_deploy(outdir), "--auto-approve")
    assert result.returncode == 2
    assert result.stderr.startswith(
        "error: image-service-local is pinned to AWS account 111111111111 (stacks/settings.py, "
        "ACCOUNTS), but the credentials in use belong to account 123456789012: Terraform "
        "refused to plan, and nothing was changed. Fix: use credentials for account "
        "111111111111"
    )
    assert "Traceback" not in result.stderr


def report(deployment, command: str, outdir, output) -> subprocess.CompletedProcess:
    """`bin/cdktf review|drift image-service-local` of a synthesis already in `outdir`."""
    return deployment.run(
        str(ROOT / "bin" / "cdktf"),
        command,
        STACK,
        "--skip-synth",
        "--outdir",
        str(outdir),
        "--output",
        str(output),
    )


def variant_outdir(stack_dir, config: dict, tmp_path):
    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks").mkdir(parents=True)
    variant_of(stack_dir, config, outdir / "stacks")
    return outdir


def test_review_without_changes_exits_0(deployment, outputs, tmp_path):
    result = report(deployment, "review", deployment.outdir, tmp_path / "review.md")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "## Plan review\n\n- **image-service-local**: no changes\n"
    assert (tmp_path / "review.md").read_text() == result.stdout


def test_review_shows_exactly_the_changed_setting_and_exits_2(
    deployment, stack_dir, outputs, tmp_path
):
    config = _with_retention(json.loads((stack_dir / "cdk.tf.json").read_text()), 30)
    [group] = [
        name
        for name, g in config["resource"]["aws_cloudwatch_log_group"].items()
        if g["name"] == ACCESS_LOGS
    ]
    result = report(
        deployment, "review", variant_outdir(stack_dir, config, tmp_path), tmp_path / "r.md"
    )
    assert result.returncode == 2, result.stderr
    assert "- **image-service-local**: 0 to add, 1 to change, 0 to replace, 0 to destroy" in (
        result.stdout
    )
    assert (
        f"| update | `aws_cloudwatch_log_group.{group}` | image-service-local/ImageApi/AccessLogs "
        "| `retention_in_days`: 14 → 30 |"
    ) in result.stdout
    assert "[!CAUTION]" not in result.stdout


def test_review_warns_of_a_table_replacement_and_exits_3(deployment, stack_dir, outputs, tmp_path):
    config = json.loads((stack_dir / "cdk.tf.json").read_text())
    [(address, table)] = config["resource"]["aws_dynamodb_table"].items()
    table["hash_key"] = "ImageId"
    table["attribute"] = [
        a if a["name"] != "PK" else {"name": "ImageId", "type": "S"} for a in table["attribute"]
    ]
    result = report(
        deployment, "review", variant_outdir(stack_dir, config, tmp_path), tmp_path / "r.md"
    )
    assert result.returncode == EXIT_REFUSED, result.stderr
    assert "> **image-service-local: the plan guard would refuse this plan**" in result.stdout
    assert f"> - replace `aws_dynamodb_table.{address}` (metadata table)" in result.stdout
    assert '`hash_key`: "PK" → "ImageId"' in result.stdout


def test_drift_names_what_was_changed_by_hand_and_exits_2(
    deployment, stack_dir, emulator_env, outputs, tmp_path, aws
):
    clean = report(deployment, "drift", deployment.outdir, tmp_path / "before.md")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "- **image-service-local**: no drift" in clean.stdout
    s3, dynamodb = aws("s3"), aws("dynamodb")
    tags = s3.get_bucket_tagging(Bucket=outputs["BucketName"])["TagSet"]
    s3.put_bucket_tagging(
        Bucket=outputs["BucketName"],
        Tagging={"TagSet": [*tags, {"Key": "Owner", "Value": "set-by-hand"}]},
    )
    dynamodb.update_continuous_backups(
        TableName=outputs["TableName"],
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    try:
        drifted = report(deployment, "drift", deployment.outdir, tmp_path / "drift.md")
        assert drifted.returncode == 2, drifted.stderr
        assert "- **image-service-local**: 2 resource(s) differ from the last apply" in (
            drifted.stdout
        )
        # Before: null or {} (no tags of its own besides the default ones), as the last apply
        # recorded it.
        assert re.search(
            r"image-service-local/ImageBucket/Bucket \| `tags`: (null|\{\}) → "
            r'\{"Owner": "set-by-hand"\} \|',
            drifted.stdout,
        ), drifted.stdout
        assert (
            "image-service-local/MetadataTable/Table | `point_in_time_recovery`: "
            '[{"enabled": false, "recovery_period_in_days": 0}] → '
            '[{"enabled": true, "recovery_period_in_days": 35}] |'
        ) in drifted.stdout
    finally:
        s3.put_bucket_tagging(Bucket=outputs["BucketName"], Tagging={"TagSet": tags})
        dynamodb.update_continuous_backups(
            TableName=outputs["TableName"],
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
        )
    repaired = report(deployment, "drift", deployment.outdir, tmp_path / "after.md")
    assert repaired.returncode == 0, repaired.stdout


def test_guard_refuses_replacing_the_app_client_which_voids_every_token(
    stack_dir, emulator_env, outputs, tmp_path
):
    """No data is lost, but a new client id breaks every issued token and configured app."""
    config = json.loads((stack_dir / "cdk.tf.json").read_text())
    [(name, client)] = config["resource"]["aws_cognito_user_pool_client"].items()
    client["generate_secret"] = True  # forces a new client
    losses = find_data_loss(plan_json(variant_of(stack_dir, config, tmp_path), emulator_env))
    assert [(loss.address, loss.action, loss.identity) for loss in losses] == [
        (f"aws_cognito_user_pool_client.{name}", "replace", True)
    ]


def test_without_the_emulator_profile_nothing_leaves_the_machine(
    stack_dir, emulator_env, outputs, tmp_path
):
    # The providers take the emulator's endpoint from a profile; every other host goes to a
    # proxy on loopback. Lose the profile's endpoint and each AWS request must end at that proxy
    # (here a listener that records it and refuses), never on the network.
    seen: list[str] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                seen.append(conn.recv(4096).decode(errors="replace").split("\r\n", 1)[0])
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    proxy = f"http://127.0.0.1:{listener.getsockname()[1]}"
    config = json.loads((stack_dir / "cdk.tf.json").read_text())
    for provider in config["provider"]["aws"]:
        assert provider["https_proxy"] == "http://127.0.0.1:9"
        provider.update(
            shared_config_files=["no-endpoint.config"],
            http_proxy=proxy,
            https_proxy=proxy,
            max_retries=1,
        )
    copy = variant_of(stack_dir, config, tmp_path)
    (copy / "no-endpoint.config").write_text("[profile image-service-emulator]\n")
    try:
        proc = terraform(
            copy, "plan", "-input=false", "-no-color", "-lock=false", env=emulator_env, check=False
        )
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
    assert proc.returncode != 0
    assert seen, proc.stderr[-2000:]
    hosts = {line.split()[1] for line in seen}
    assert all(line.startswith("CONNECT ") for line in seen), seen
    assert all(host.endswith(".amazonaws.com:443") for host in hosts), hosts
    # The provider's first calls ask who the caller is (STS, then IAM), to check the stage's
    # allowed account: even those end at the proxy, and the provider stops there.
    assert "sts.us-east-1.amazonaws.com:443" in hosts, hosts


@pytest.fixture(scope="module")
def stateful(deployment):
    return deployment.stateful_addresses(STACK)


def destroy(deployment, *extra: str) -> subprocess.CompletedProcess:
    return deployment.wrapper_destroy(STACK, *extra)


def test_wrapper_destroy_is_refused_until_each_loss_is_named(
    stack_dir, emulator_env, outputs, deployment, stateful
):
    proc = destroy(deployment, "--allow-data-loss", stateful[0])
    assert proc.returncode == EXIT_REFUSED
    assert f"refusing the plan for {STACK}" in proc.stderr
    for address in stateful[1:]:
        assert f"delete {address}" in proc.stderr
    assert f"delete {stateful[0]}" not in proc.stderr
    state = terraform(stack_dir, "state", "list", env=emulator_env).stdout.split()
    assert set(stateful) <= set(state)


def test_with_every_loss_named_destroy_removes_everything_but_the_state_bucket(
    stack_dir, emulator_env, outputs, aws, deployment, stateful
):
    named = [arg for address in stateful for arg in ("--allow-data-loss", address)]
    proc = destroy(deployment, *named)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert terraform(stack_dir, "state", "list", env=emulator_env).stdout.strip() == ""
    assert outputs["TableName"] not in aws("dynamodb").list_tables()["TableNames"]
    buckets = [b["Name"] for b in aws("s3").list_buckets()["Buckets"]]
    assert outputs["BucketName"] not in buckets
    assert "image-service-tfstate-local" in buckets
    assert aws("apigatewayv2").get_apis()["Items"] == []
    assert aws("cognito-idp").list_user_pools(MaxResults=10)["UserPools"] == []
    # retain_on_delete: Terraform forgot the (disabled) distribution instead of deleting it.
    listed = aws("cloudfront").list_distributions()["DistributionList"]["Items"]
    assert [(d["Id"], d["Enabled"]) for d in listed] == [
        (outputs["CloudFrontDistributionId"], False)
    ]
