"""A handler applied for real: the local stack with one ImageHandler on one route, with read
grants, applied to the emulator and read back with boto3, then re-planned empty (the code zip
is reproducible, so its hash does not drift).

moto creates the function, its role and inline policy, the integration, the route's target and
the invoke permission; it does not run functions (that needs Docker), so nothing is invoked."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from ops.toolchain import terraform
from ops.workdir import stack_outputs
from tests.conftest import write_handler_source
from tests.deploy.deployment import replan

pytestmark = pytest.mark.emulator
STAGES = ("local",)
APPLY_STATE_BOOTSTRAP = False  # tested by test_local_deploy; one S3 call here
STACK = "image-service-local"
FUNCTION = "image-service-local-get-image"
ROUTE = "GET /images/{imageId}"


def ATTACH(stack) -> None:  # noqa: N802  (the deployment fixture's hook, tests/deploy/conftest.py)
    from constructs_lib.image_handler import ImageHandler, ImageHandlerProps

    source = write_handler_source(Path(tempfile.mkdtemp(prefix="handler-")) / "get_image")
    handler = ImageHandler(
        stack,
        "GetImage",
        ImageHandlerProps(name=FUNCTION, source_dir=source, handler="app.handler"),
    )
    stack.table.grant_read_data(handler)
    stack.bucket.grant_read(handler, key_pattern="images/*")
    stack.add_service_environment(handler)
    stack.api.integrate(ROUTE, handler)


@pytest.fixture(scope="module")
def stack_dir(deployment) -> Path:
    directory = deployment.stack_dir(STACK)
    terraform(directory, "init", "-input=false", "-no-color", env=deployment.env)
    terraform(directory, "apply", "-auto-approve", "-input=false", "-no-color", env=deployment.env)
    return directory


@pytest.fixture(scope="module")
def outputs(stack_dir, emulator_env) -> dict:
    return stack_outputs(stack_dir, emulator_env)


@pytest.fixture(scope="module")
def function(stack_dir, aws) -> dict:
    return aws("lambda").get_function(FunctionName=FUNCTION)["Configuration"]


def test_the_function_exists_with_its_code_and_environment(stack_dir, function, outputs):
    config = json.loads((stack_dir / "cdk.tf.json").read_text())
    [declared] = config["resource"]["aws_lambda_function"].values()
    assert (function["Runtime"], function["Handler"]) == ("python3.12", "app.handler")
    assert (function["MemorySize"], function["Timeout"]) == (256, 10)
    assert function["CodeSha256"] == declared["source_code_hash"]
    assert function["Role"].endswith(f":role/{FUNCTION}-role")
    assert function["Environment"]["Variables"] == {
        "TABLE_NAME": outputs["TableName"],
        "BUCKET_NAME": outputs["BucketName"],
        "CDN_DOMAIN": outputs["CloudFrontDomain"],
    }


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


def _sorted(statement: dict) -> dict:
    return {k: sorted(v) if isinstance(v, list) else v for k, v in statement.items()}


def test_the_route_targets_the_function_behind_the_authorizer(function, aws, outputs):
    api = aws("apigatewayv2")
    [integration] = api.get_integrations(ApiId=outputs["ApiId"])["Items"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    assert function["FunctionArn"] in integration["IntegrationUri"]
    routes = {r["RouteKey"]: r for r in api.get_routes(ApiId=outputs["ApiId"])["Items"]}
    assert routes[ROUTE]["Target"] == f"integrations/{integration['IntegrationId']}"
    assert routes[ROUTE]["AuthorizationType"] == "JWT"
    assert [k for k, r in routes.items() if r.get("Target")] == [ROUTE]


def test_api_gateway_may_invoke_it_from_this_api_and_route_only(stack_dir, emulator_env, aws):
    policy = json.loads(aws("lambda").get_policy(FunctionName=FUNCTION)["Policy"])
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Action"] == "lambda:InvokeFunction"
    # The API's execution ARN as the provider computed it (on the emulator without an account
    # id: the emulator's provider skips the account lookup, stacks/providers.py).
    state = json.loads(terraform(stack_dir, "show", "-json", env=emulator_env).stdout)
    [api] = [
        r
        for r in state["values"]["root_module"]["resources"]
        if r["type"] == "aws_apigatewayv2_api"
    ]
    execution_arn = api["values"]["execution_arn"]
    assert execution_arn.startswith("arn:aws:execute-api:us-east-1:")
    assert execution_arn.endswith(f":{api['values']['id']}")
    assert statement["Condition"] == {
        "ArnLike": {"AWS:SourceArn": f"{execution_arn}/*/GET/images/*"}
    }


def test_a_second_plan_is_empty(stack_dir, emulator_env):
    result = replan(stack_dir, emulator_env)
    assert result.returncode == 0, result.stdout + result.stderr
