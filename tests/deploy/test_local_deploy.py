"""image-service-local as the session applied it (tests/deploy/shared.py: the fast shapes of
`make up`, with one test handler on GET /images/{imageId}): every resource read back from the
emulator, the handler's function, role, route and permission included; used as the next epics'
handlers will use it (uploads, metadata queries, sign-in: `make smoke`); re-planned, reviewed,
drift-checked and refused by account through `bin/cdktf`; and the plan guard's and lock
handling's functions on its real state. (Deploying and destroying it through `bin/cdktf`, and
`make up` under faults, run on a deployment of their own: test_make_up.py.)

Every test leaves the deployment as it found it: what one changes, it puts back itself.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass

import pytest

from ops import smoke
from ops.plan_guard import Declined, guarded_apply, plan
from ops.toolchain import ROOT, terraform
from ops.workdir import (
    LockInfo,
    StateLocked,
    emulator_lock,
    ensure_initialised,
    initialised_for_its_backend,
    lock_holders,
    release_if_abandoned,
)
from ops.workdir import stack_outputs as read_outputs
from stacks.errors import EXIT_BUSY, EXIT_REFUSED
from stacks.settings.emulator import LOCAL_WEB_ORIGIN
from tests.deploy.deployment import state_addresses, stored_state
from tests.deploy.shared import BEHAVIOURS_ROUTE, UPLOAD_ROUTE
from tests.deploy.shared import HANDLER_FUNCTION as FUNCTION
from tests.deploy.shared import HANDLER_ROUTE as ROUTE
from tests.wait import wait_until

pytestmark = pytest.mark.emulator
STACK = "image-service-local"
PNG = smoke.tiny_png()
ACCESS_LOGS = "/aws/apigateway/image-service-local/access"


@pytest.fixture(scope="module")
def deployment(local):
    return local


@pytest.fixture(scope="module")
def stack_dir(deployment):
    return deployment.stack_dir(STACK)


@pytest.fixture(scope="module")
def env(deployment):
    return deployment.env


@pytest.fixture(scope="module")
def outputs(stack_dir, env):
    return read_outputs(stack_dir, env)


@pytest.fixture(scope="module")
def aws(deployment):
    """boto3 clients against this deployment's emulator only."""
    return deployment.client


@pytest.fixture(scope="module")
def config(stack_dir) -> dict:
    return json.loads((stack_dir / "cdk.tf.json").read_text())


# ---- the resources, read back ----------------------------------------------------------------
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
    # The app's origins, and the local web origin the local stage adds (a browser app under
    # development uploads from it: the emulator table's LOCAL_WEB_ORIGIN).
    assert sorted(cors["AllowedOrigins"]) == sorted(
        ["https://lego-moc.com", "https://*.lego-moc.com", LOCAL_WEB_ORIGIN]
    )
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
    # to every request (EMULATOR_BUCKET_POLICY_GAP; test_smoke_names_..._real_stages_policy).
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
    # the enabled one (test_production_deploy.py).
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


def test_the_local_stack_is_pinned_to_the_emulators_account(config, outputs):
    assert [p["allowed_account_ids"] for p in config["provider"]["aws"]] == [["123456789012"]] * 2
    # ...and the session planned and applied it: the emulator's STS said 123456789012.
    assert outputs["TableArn"].startswith("arn:aws:dynamodb:us-east-1:123456789012:")


# ---- the handler, read back ------------------------------------------------------------------
@pytest.fixture(scope="module")
def function(aws) -> dict:
    return aws("lambda").get_function(FunctionName=FUNCTION)["Configuration"]


def test_the_function_exists_with_its_code_and_environment(config, function, outputs):
    [declared] = [
        f
        for f in config["resource"]["aws_lambda_function"].values()
        if f["function_name"] == FUNCTION
    ]
    assert (function["Runtime"], function["Handler"]) == ("python3.12", "app.handler")
    assert (function["MemorySize"], function["Timeout"]) == (256, 10)
    assert function["CodeSha256"] == declared["source_code_hash"]
    assert function["Role"].endswith(f":role/{FUNCTION}-role")
    assert function["Environment"]["Variables"] == {
        "TABLE_NAME": outputs["TableName"],
        "BUCKET_NAME": outputs["BucketName"],
        "CDN_DOMAIN": outputs["CloudFrontDomain"],
    }


def _sorted(statement: dict) -> dict:
    return {k: sorted(v) if isinstance(v, list) else v for k, v in statement.items()}


def test_the_role_trusts_lambda_and_holds_exactly_the_granted_access(function, aws, outputs):
    iam = aws("iam")
    role = iam.get_role(RoleName=f"{FUNCTION}-role")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }
    ]
    assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == [
        f"{FUNCTION}-access"
    ]
    assert iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"] == []
    document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=f"{FUNCTION}-access")[
        "PolicyDocument"
    ]
    if isinstance(document, str):
        document = json.loads(document)
    log_group = aws("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{FUNCTION}")[
        "logGroups"
    ]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in log_group] == [
        (f"/aws/lambda/{FUNCTION}", 14)
    ]
    log_arn = log_group[0]["arn"].removesuffix(":*")
    # The policy document orders actions and resources its own way: compare them as sets.
    statements = {s["Sid"]: _sorted(s) for s in document["Statement"]}
    assert statements == {
        "WriteOwnLogs": {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_arn}:*",
        },
        "ReadImageMetadata": {
            "Sid": "ReadImageMetadata",
            "Effect": "Allow",
            "Action": [
                "dynamodb:BatchGetItem",
                "dynamodb:DescribeTable",
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:Scan",
            ],
            "Resource": sorted([outputs["TableArn"], f"{outputs['TableArn']}/index/*"]),
        },
        "ReadImages": {
            "Sid": "ReadImages",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"{outputs['BucketArn']}/images/*",
        },
    }


def test_the_handler_has_its_alarms_and_its_role_the_accounts_boundary(function, aws):
    """Attached as CONTRIBUTING.md shows, the handler gets its errors, throttles and duration alarms
    (on the stage's topic) and its role the account's permissions boundary."""
    found = {
        a["AlarmName"]: a
        for a in aws("cloudwatch").describe_alarms(AlarmNamePrefix=FUNCTION)["MetricAlarms"]
    }
    assert sorted(found) == [f"{FUNCTION}-{k}" for k in ("duration", "errors", "throttles")]
    assert found[f"{FUNCTION}-errors"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": FUNCTION}
    ]
    assert found[f"{FUNCTION}-errors"]["AlarmActions"][0].endswith(":image-service-local-alarms")
    role = aws("iam").get_role(RoleName=f"{FUNCTION}-role")["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == (
        "arn:aws:iam::123456789012:policy/image-service-boundary"
    )


def test_the_route_targets_the_function_behind_the_authorizer(function, aws, outputs):
    api = aws("apigatewayv2")
    [integration] = [
        i
        for i in api.get_integrations(ApiId=outputs["ApiId"])["Items"]
        if function["FunctionArn"] in i["IntegrationUri"]
    ]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    assert function["FunctionArn"] in integration["IntegrationUri"]
    routes = {r["RouteKey"]: r for r in api.get_routes(ApiId=outputs["ApiId"])["Items"]}
    assert routes[ROUTE]["Target"] == f"integrations/{integration['IntegrationId']}"
    assert routes[ROUTE]["AuthorizationType"] == "JWT"
    # Besides the local gateway's two test handlers (tests/deploy/shared.py), nothing else.
    assert sorted(k for k, r in routes.items() if r.get("Target")) == sorted(
        [ROUTE, UPLOAD_ROUTE, BEHAVIOURS_ROUTE]
    )


def test_api_gateway_may_invoke_it_from_this_api_and_route_only(stack_dir, env, aws):
    policy = json.loads(aws("lambda").get_policy(FunctionName=FUNCTION)["Policy"])
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Action"] == "lambda:InvokeFunction"
    # The API's execution ARN as the provider computed it, from the stored state.
    state = stored_state(aws("s3"), stack_dir)
    [api] = [r for r in state["resources"] if r["type"] == "aws_apigatewayv2_api"]
    attributes = api["instances"][0]["attributes"]
    execution_arn = attributes["execution_arn"]
    assert execution_arn == f"arn:aws:execute-api:us-east-1:123456789012:{attributes['id']}"
    assert statement["Condition"] == {
        "ArnLike": {"AWS:SourceArn": f"{execution_arn}/*/GET/images/*"}
    }


# ---- used as the service will use it ---------------------------------------------------------
def test_an_item_round_trips_through_the_user_index(outputs, aws):
    ddb, key = aws("dynamodb"), {"PK": {"S": "IMAGE#round-trip"}, "SK": {"S": "METADATA"}}
    ddb.put_item(
        TableName=outputs["TableName"],
        Item={
            **key,
            "GSI1PK": {"S": "USER#round-trip"},
            "GSI1SK": {"S": "UPLOADED#2026-11-25T00:00:00Z"},
        },
    )
    try:
        by_user = ddb.query(
            TableName=outputs["TableName"],
            IndexName="UserIndex",
            KeyConditionExpression="GSI1PK = :u",
            ExpressionAttributeValues={":u": {"S": "USER#round-trip"}},
        )
        assert [i["PK"]["S"] for i in by_user["Items"]] == ["IMAGE#round-trip"]
    finally:
        ddb.delete_item(TableName=outputs["TableName"], Key=key)


def test_an_image_round_trips_through_put_object_and_get_object(outputs, aws):
    s3, bucket = aws("s3"), outputs["BucketName"]
    s3.put_object(Bucket=bucket, Key="images/7.png", Body=PNG, ContentType="image/png")
    try:
        stored = s3.get_object(Bucket=bucket, Key="images/7.png")
        assert (stored["Body"].read(), stored["ContentType"]) == (PNG, "image/png")
        assert stored["ServerSideEncryption"] == "AES256"
    finally:
        s3.delete_object(Bucket=bucket, Key="images/7.png")


def test_make_smoke_uploads_queries_signs_in_and_cleans_up(deployment, outputs, aws, local_gateway):
    proc = deployment.run(
        sys.executable,
        "-m",
        "ops.smoke",
        "--endpoint",
        deployment.endpoint,
        "--outdir",
        str(deployment.outdir),
        "--api-url",
        local_gateway.api_url,
        "--cdn-url",
        local_gateway.cdn_url,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[:2] for line in lines[1:-1]] == [
        ["upload", "ok"],
        ["metadata", "ok"],
        ["sign-in", "ok"],
        ["ttl", "ok"],
        ["api", "ok"],
        ["cdn", "ok"],
        ["cleanup", "ok"],
    ]
    # The integrated routes answered the signed-in user through the gateway (the test
    # handlers: the image id back, and the event echoed).
    [api] = [line for line in lines if line.split()[:1] == ["api"]]
    assert "GET /images/{imageId} -> 200" in api and "GET /images -> 200" in api
    assert lines[-1] == "smoke: every step passed"
    # Nothing of the run is left beside the developer's data.
    assert aws("s3").list_objects_v2(Bucket=outputs["BucketName"], Prefix="smoke/")["KeyCount"] == 0
    items = aws("dynamodb").scan(TableName=outputs["TableName"])["Items"]
    assert not [i for i in items if i["PK"]["S"].startswith("IMAGE#smoke-")]
    # (Other modules' users of the shared deployment may be there: only smoke's are checked.)
    users = aws("cognito-idp").list_users(UserPoolId=outputs["UserPoolId"])["Users"]
    emails = [a["Value"] for u in users for a in u["Attributes"] if a["Name"] == "email"]
    assert not [e for e in emails if e.startswith("smoke-")]


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


def test_smoke_names_a_gateway_url_nothing_answers(deployment, capsys):
    from ops import local_aws

    nowhere = f"http://127.0.0.1:{local_aws.free_port()}"  # free: nothing listens there
    code = smoke.main(
        [
            "--endpoint",
            deployment.endpoint,
            "--outdir",
            str(deployment.outdir),
            "--api-url",
            nowhere,
            "--cdn-url",
            nowhere,
        ]
    )
    out, err = capsys.readouterr()
    assert code == smoke.EXIT_FAILED
    assert f"api       FAILED  nothing answers GET {nowhere}/images (" in out
    assert "the local gateway does not run there (`make up` starts it" in out
    assert "cdn " not in out
    assert err.strip().startswith("smoke: step 'api' failed:") and "Traceback" not in err


def test_smoke_without_a_deployed_stack_says_to_run_make_up(deployment, tmp_path, capsys):
    code = smoke.main(["--endpoint", deployment.endpoint, "--outdir", str(tmp_path)])
    assert code == smoke.EXIT_NOTHING_TO_TEST
    err = capsys.readouterr().err
    assert "has not been deployed" in err and "Fix: run `make up`" in err


# ---- review, drift and the account, through bin/cdktf -----------------------------------------
def variant_of(stack_dir, config: dict, tmp_path):
    """The stack with another cdk.tf.json in an output directory of its own, sharing its
    initialised .terraform and assets (and so its state): planned, never applied."""
    variant = tmp_path / "cdktf.out" / "stacks" / STACK
    variant.mkdir(parents=True)
    (variant / "cdk.tf.json").write_text(json.dumps(config))
    for name in (".terraform", ".terraform.lock.hcl", "assets"):
        (variant / name).symlink_to(stack_dir / name)
    return variant


def bin_cdktf(deployment, command: str, outdir, *extra: str) -> subprocess.CompletedProcess:
    """`bin/cdktf COMMAND image-service-local` of a synthesis already in `outdir`."""
    option = "--outdir" if command in ("review", "drift") else "--output"
    return deployment.run(
        str(ROOT / "bin" / "cdktf"), command, STACK, "--skip-synth", option, str(outdir), *extra
    )


def _access_logs(config: dict) -> tuple[str, dict]:
    [(name, group)] = [
        (name, g)
        for name, g in config["resource"]["aws_cloudwatch_log_group"].items()
        if g["name"] == ACCESS_LOGS
    ]
    return name, group


def test_cdktf_diff_of_the_deployment_finds_no_changes(deployment, tmp_path):
    """`bin/cdktf diff`, as users run it: through the cdktf CLI (the one test of that path),
    which plans the whole deployment, handler included, and finds nothing to change: the code
    zip is reproducible, and everything moto reads back is what was applied."""
    log = tmp_path / "cdktf-diff.log"  # a file, not a pipe: cdktf 0.21 may drop a piped tail
    with log.open("w") as out:
        proc = subprocess.run(
            [
                str(ROOT / "bin" / "cdktf"),
                "diff",
                STACK,
                "--skip-synth",
                "--no-color",
                "--output",
                str(deployment.outdir),
            ],
            cwd=ROOT,
            env=deployment.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    assert proc.returncode == 0, log.read_text()
    text = log.read_text()
    assert "No changes. Your infrastructure matches the configuration." in text
    # Issue 38: quiet in a log (no spinner frames), and no other stack's notes.
    assert not set("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏") & set(text), text
    assert "image-service-state-local" not in text
    assert "image-service-local-production" not in text


def test_cdktf_output_of_the_deployment_names_only_its_stack(deployment, outputs, tmp_path):
    """`bin/cdktf output STACK` through the cdktf CLI, into a log: the stack's outputs, its own
    notes only (not the other emulator stacks' waivers), and no spinner frame."""
    log = tmp_path / "cdktf-output.log"
    with log.open("w") as out:
        proc = subprocess.run(
            [str(ROOT / "bin" / "cdktf"), "output", STACK, "--skip-synth"]
            + ["--output", str(deployment.outdir)],
            cwd=ROOT,
            env=deployment.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    text = log.read_text()
    assert proc.returncode == 0, text
    assert f"BucketName = {outputs['BucketName']}" in text
    assert not set("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏") & set(text), text
    assert "image-service-state-local" not in text
    assert "image-service-local-production" not in text


def test_deploy_with_nothing_to_do_asks_nothing_and_prints_the_outputs(deployment, outputs):
    """`bin/cdktf deploy` of the deployment as it is: an empty plan needs no approval (no
    terminal here), and the outputs are printed."""
    result = bin_cdktf(deployment, "deploy", deployment.outdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes: the deployment already matches the configuration." in result.stdout
    assert f"  BucketName = {outputs['BucketName']}" in result.stdout


def test_a_new_emulator_endpoint_is_initialised_again_not_refused(stack_dir, env, aws, tmp_path):
    """After a new emulator port the stack's backend configuration differs from the one it was
    initialised with, which Terraform refuses ("Backend configuration changed");
    ensure_initialised runs `terraform init -reconfigure` (the emulator's state lives and dies
    with it). Here: the same emulator under another name, localhost."""
    copy = tmp_path / STACK
    shutil.copytree(stack_dir, copy, symlinks=True)
    config = json.loads((copy / "cdk.tf.json").read_text())
    endpoints = config["terraform"]["backend"]["s3"]["endpoints"]
    for service, url in endpoints.items():
        endpoints[service] = url.replace("127.0.0.1", "localhost")
    (copy / "cdk.tf.json").write_text(json.dumps(config))
    assert not initialised_for_its_backend(copy)
    refused = terraform(copy, "state", "list", env=env, check=False)
    assert refused.returncode != 0 and "Backend initialization required" in refused.stderr
    assert ensure_initialised(copy, env) is True
    assert initialised_for_its_backend(copy)
    listed = terraform(copy, "state", "list", env=env).stdout.split()
    assert sorted(listed) == state_addresses(aws("s3"), stack_dir)
    assert ensure_initialised(copy, env) is False  # initialised for it now: nothing to do


@pytest.fixture(scope="module")
def risky_review(deployment, stack_dir, config, tmp_path_factory):
    """`bin/cdktf review` of the stack with three changes: the API's access logs kept 30 days
    (an update), a new partition key (replaces the table: the classic accidental data loss) and
    a client secret (replaces the app client: no data lost, every issued token voided)."""
    changed = json.loads(json.dumps(config))
    group, logs = _access_logs(changed)
    logs["retention_in_days"] = 30
    [(table_name, table)] = changed["resource"]["aws_dynamodb_table"].items()
    table["hash_key"] = "ImageId"
    table["attribute"] = [
        a if a["name"] != "PK" else {"name": "ImageId", "type": "S"} for a in table["attribute"]
    ]
    [(client_name, client)] = changed["resource"]["aws_cognito_user_pool_client"].items()
    client["generate_secret"] = True
    root = tmp_path_factory.mktemp("risky")
    variant_of(stack_dir, changed, root)
    result = bin_cdktf(deployment, "review", root / "cdktf.out")
    return result, group, table_name, client_name


def _rows(markdown: str) -> set[tuple[str, str]]:
    """(action, address) of each changed resource in a review's table."""
    found = re.findall(r"^\| ([\w ]+) \| `([^`]+)` \|", markdown, re.M)
    return {(action, address) for action, address in found if action != "action"}


def test_review_shows_exactly_each_change_and_what_it_pulls_with_it(risky_review, config):
    result, group, table, client = risky_review
    [authorizer] = config["resource"]["aws_apigatewayv2_authorizer"]
    [policy] = [p for p in config["resource"]["aws_iam_role_policy"] if p.startswith("GetImage_")]
    assert "- **image-service-local**: 0 to add, 3 to change, 2 to replace, 0 to destroy" in (
        result.stdout
    )
    assert _rows(result.stdout) == {
        ("update", f"aws_cloudwatch_log_group.{group}"),
        ("replace", f"aws_dynamodb_table.{table}"),
        ("replace", f"aws_cognito_user_pool_client.{client}"),
        # A new client id is the authorizer's audience; a new table ARN is in the handler's
        # grants.
        ("update", f"aws_apigatewayv2_authorizer.{authorizer}"),
        ("update", f"aws_iam_role_policy.{policy}"),
    }
    assert (
        f"| update | `aws_cloudwatch_log_group.{group}` | image-service-local/ImageApi/AccessLogs "
        "| `retention_in_days`: 14 → 30 |"
    ) in result.stdout
    assert '`hash_key`: "PK" → "ImageId"' in result.stdout
    assert "`generate_secret`: false → true" in result.stdout
    assert (
        "Outputs: `TableArn` (update), `TableStreamArn` (update), `UserPoolClientId` (update)"
        in result.stdout
    )


def test_review_warns_of_what_the_plan_guard_would_refuse_and_exits_3(risky_review):
    result, _, table, client = risky_review
    assert result.returncode == EXIT_REFUSED, result.stderr
    assert "> **image-service-local: the plan guard would refuse this plan**" in result.stdout
    warned = [line for line in result.stdout.splitlines() if line.startswith("> - ")]
    assert warned == [
        # No data is lost with the client, but a new client id breaks every issued token.
        f"> - replace `aws_cognito_user_pool_client.{client}` (app client: every issued token "
        "and every frontend's configured client id would stop working)",
        f"> - replace `aws_dynamodb_table.{table}` (metadata table)",
    ]


def test_review_shows_each_changed_value_of_blocks_lists_and_policies(
    deployment, stack_dir, config, tmp_path
):
    """Issue 38: a CORS origin, the API's throttling, an action in the handler's policy and an
    alarm's threshold changed: each old and new value is in the review, by its path, and the
    unchanged values beside them are not."""
    changed = json.loads(json.dumps(config))
    [api] = changed["resource"]["aws_apigatewayv2_api"].values()
    api["cors_configuration"]["allow_origins"].append("https://beta.lego-moc.com")
    [stage] = changed["resource"]["aws_apigatewayv2_stage"].values()
    stage["default_route_settings"]["throttling_rate_limit"] = 80
    # The handler's policy is rendered from a policy document: one action more in its first
    # statement.
    [policy] = [
        p
        for n, p in changed["resource"]["aws_iam_role_policy"].items()
        if n.startswith("GetImage_")
    ]
    source = policy["policy"].split(".")[2]  # ${data.aws_iam_policy_document.NAME.json}
    document = changed["data"]["aws_iam_policy_document"][source]
    first = document["statement"][0]
    first["actions"] = [*first["actions"], "dynamodb:DeleteItem"]
    alarms = changed["resource"]["aws_cloudwatch_metric_alarm"]
    [alarm] = [a for a in alarms.values() if a["alarm_name"] == f"{STACK}-api-latency"]
    old_threshold = alarm["threshold"]
    alarm["threshold"] = old_threshold * 2
    # One alarm more: a metric more to pay for, which the review's cost shows.
    alarms["Monitoring_Alarm-api-latency-p99_1"] = {
        **json.loads(json.dumps(alarm)),
        "alarm_name": f"{STACK}-api-latency-p99",
    }
    variant_of(stack_dir, changed, tmp_path)
    result = bin_cdktf(deployment, "review", tmp_path / "cdktf.out")
    assert result.returncode == 2, result.stdout + result.stderr
    out = result.stdout
    assert '`cors_configuration[0].allow_origins`: + "https://beta.lego-moc.com"' in out
    assert "`default_route_settings[0].throttling_rate_limit`: 50 → 80" in out
    assert "throttling_burst_limit" not in out and "allow_methods" not in out
    label = first.get("sid") or "0"
    assert f'`policy.Statement[{label}].Action`: + "dynamodb:DeleteItem"' in out
    assert f"`threshold`: {old_threshold} → {old_threshold * 2}" in out
    assert f"**Cost of {STACK}**: $" in out and "(+$0.10; no budget)" in out
    assert (
        "| `aws_cloudwatch_metric_alarm.Monitoring_Alarm-api-latency-p99_1` | $0.00 | $0.10 |"
        in (out)
    )


def test_drift_names_what_was_changed_by_hand_and_exits_2(deployment, outputs, aws, tmp_path):
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
        drifted = bin_cdktf(deployment, "drift", deployment.outdir, "--output", tmp_path / "d.md")
    finally:
        s3.put_bucket_tagging(Bucket=outputs["BucketName"], Tagging={"TagSet": tags})
        dynamodb.update_continuous_backups(
            TableName=outputs["TableName"],
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
        )
    assert drifted.returncode == 2, drifted.stderr
    assert "- **image-service-local**: 2 resource(s) differ from the last apply" in drifted.stdout
    # Before: null or {} (no tags of its own besides the default ones), as the last apply
    # recorded it.
    assert (
        'image-service-local/ImageBucket/Bucket | `tags.Owner`: (none) → "set-by-hand" |'
    ) in drifted.stdout
    assert (
        "image-service-local/MetadataTable/Table | `point_in_time_recovery[0].enabled`: "
        "false → true<br>`point_in_time_recovery[0].recovery_period_in_days`: 0 → 35 |"
    ) in drifted.stdout
    # Exactly those two: nothing else in the deployment reads back differently from what was
    # applied (no false drift from the emulator).
    assert {action for action, _ in _rows(drifted.stdout)} == {"changed outside Terraform"}
    assert len(_rows(drifted.stdout)) == 2, drifted.stdout


def test_another_account_is_refused_in_one_paragraph(deployment, config, tmp_path):
    """The same stack pinned to account 111111111111, planned with the emulator's credentials
    (account 123456789012): the provider refuses, and the project's deploy says so."""
    pinned = json.loads(json.dumps(config))
    for provider in pinned["provider"]["aws"]:
        provider["allowed_account_ids"] = ["111111111111"]
    variant_of(deployment.stack_dir(STACK), pinned, tmp_path)
    result = bin_cdktf(deployment, "deploy", tmp_path / "cdktf.out", "--auto-approve")
    assert result.returncode == 2
    assert result.stderr.startswith(
        "error: image-service-local is pinned to AWS account 111111111111 "
        "(stacks/settings/stages.py, ACCOUNTS), but the credentials in use belong to account "
        "123456789012: Terraform refused to plan, and nothing was changed. Fix: use credentials "
        "for account 111111111111"
    )
    assert "Traceback" not in result.stderr


def test_without_the_emulator_profile_nothing_leaves_the_machine(stack_dir, env, config, tmp_path):
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
    lost = json.loads(json.dumps(config))
    for provider in lost["provider"]["aws"]:
        assert provider["https_proxy"] == "http://127.0.0.1:9"
        provider.update(
            shared_config_files=["no-endpoint.config"],
            http_proxy=proxy,
            https_proxy=proxy,
            max_retries=1,
        )
    copy = variant_of(stack_dir, lost, tmp_path)
    (copy / "no-endpoint.config").write_text("[profile image-service-emulator]\n")
    try:
        proc = terraform(
            copy, "plan", "-input=false", "-no-color", "-lock=false", env=env, check=False
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


# ---- the plan guard and the state lock, on the deployment's real state ------------------------
LOCK_KEY = "image-service/local/terraform.tfstate.tflock"


def _locked(deployment) -> bool:
    from stacks.settings import LOCAL_STATE

    listed = deployment.client("s3").list_objects_v2(Bucket=LOCAL_STATE.bucket, Prefix=LOCK_KEY)
    return listed.get("KeyCount", 0) > 0


@dataclass
class Locks:
    """The stack's state lock through a holder's life, with the metadata table tainted: while
    `terraform console` holds it, then after the holder was killed (as by a kill -9), when the
    local loop's plan guard runs (guarded_apply with recreate_tainted, as `make up` runs it;
    its apply declined, so the deployment stays as it is)."""

    table: str
    holder_pid: int
    lock: LockInfo | None
    released_while_alive: bool
    refused: StateLocked | None
    locked_after_refusal: bool
    #: The review's plan (read-only role: -lock=false) while the holder still held the lock.
    reviewed_changes: list[str]
    locked_after_review: bool
    holders_after_kill: list[int]
    guard_output: str
    declined: bool
    offered: int
    locked_after: bool


@pytest.fixture(scope="module")
def locks(deployment, stack_dir, env, config) -> Locks:
    [table] = (f"aws_dynamodb_table.{name}" for name in config["resource"]["aws_dynamodb_table"])
    terraform(stack_dir, "taint", table, env=env)
    holder = subprocess.Popen(
        ["terraform", "console"],
        cwd=stack_dir,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(lambda: _locked(deployment) or holder.poll() is not None, "locked")
        assert holder.poll() is None, "terraform console exited instead of holding the lock"
        lock = emulator_lock(stack_dir)
        # bin/cdktf's check before it runs the cdktf CLI: a holder that still runs keeps it.
        released = lock is not None and release_if_abandoned(stack_dir, lock, env, "bin/cdktf")
        refused = None
        try:
            plan(stack_dir, env)  # the plan guard's plan (make up, bin/cdktf deploy)
        except StateLocked as exc:
            refused = exc
        locked_after_refusal = _locked(deployment)
        from ops.review import plan_document

        reviewed = plan_document(stack_dir, env, refresh_only=False)
        reviewed_changes = [
            c["address"]
            for c in reviewed.get("resource_changes", [])
            if c["change"]["actions"] not in (["no-op"], ["read"])
        ]
        locked_after_review = _locked(deployment)
    finally:
        os.killpg(holder.pid, signal.SIGKILL)  # dies holding the lock, as after a kill -9
        holder.wait()
    holders_after_kill = lock_holders(stack_dir)
    offered: list = []
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            guarded_apply(
                stack_dir, set(), env, recreate_tainted=True, approve=lambda f: offered.append(f)
            )
        declined = False
    except Declined:
        declined = True
    finally:
        terraform(stack_dir, "untaint", table, env=env)
        leftover = emulator_lock(stack_dir)
        if leftover is not None:
            terraform(stack_dir, "force-unlock", "-force", leftover.id, env=env)
    return Locks(
        table,
        holder.pid,
        lock,
        released,
        refused,
        locked_after_refusal,
        reviewed_changes,
        locked_after_review,
        holders_after_kill,
        out.getvalue(),
        declined,
        len(offered),
        leftover is not None,
    )


def test_a_live_lock_holder_is_named_and_its_lock_kept(locks):
    assert locks.lock is not None and locks.lock.operation in {"invalid", "console", "plan"}
    assert locks.released_while_alive is False
    assert locks.refused is not None
    message = str(locks.refused)
    assert f"the Terraform state of {STACK} is locked by another run" in message
    assert f"still running as pid {locks.holder_pid}" in message
    assert f"terraform force-unlock {locks.lock.id}" in message
    assert locks.refused.exit_code == EXIT_BUSY  # what make up and bin/cdktf exit with
    assert locks.locked_after_refusal


def test_a_review_plans_without_the_lock_and_leaves_the_holders_lock_alone(locks):
    """Review plans run with the read-only review role, which cannot write the lock object
    (-lock=false, ops/review.py REVIEW_LOCKING): planned while another command holds the lock,
    the tainted table's replacement is reported, and the holder's lock is still there."""
    # The tainted table's replacement (and the handler's policy, which names its ARN).
    assert locks.table in locks.reviewed_changes
    assert locks.locked_after_review


def test_a_stale_lock_is_released_and_a_tainted_table_recreated_by_the_local_loop(locks):
    """What `make up` does after an interrupted apply: the lock its dead holder left is
    released, and the tainted table passes the guard to be recreated (the plan offered for
    approval; declined here)."""
    assert locks.holders_after_kill == []
    out = locks.guard_output
    assert f"plan guard: released the state lock of {STACK} left by an interrupted" in out
    assert (
        f"plan guard: recreating {locks.table} (metadata table): an interrupted apply left it "
        "tainted" in out
    )
    assert locks.declined and locks.offered == 1
    assert not locks.locked_after


def test_the_deploy_role_is_granted_every_action_terraform_called(deployment, stacks, catalogue):
    """Issue 35: each AWS action Terraform called for the fast stage with its handlers (the
    apply and this session's re-plans; its destroy: test_make_up.py) is one its deploy role
    may do (the emulator bootstrap's image-service-deploy-local, from the same code as dev's)."""
    from tests.deploy.shared import calls_record, deployments_dir
    from tests.policies.recorded import missing_grants

    missing = missing_grants(
        catalogue,
        stacks["image-service-state-local"].json,
        "image-service-deploy-local",
        [calls_record(deployments_dir(), "local")],
        STACK,
    )
    assert missing == []
