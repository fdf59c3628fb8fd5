"""ImageApi and UserAuth: the SPEC's "API Gateway v2 HTTP API" section."""

import json
from dataclasses import replace

import pytest

from constructs_lib.user_auth.props import ExistingUserPool
from stacks.settings import stage_settings

REAL = ("dev", "staging", "production")


@pytest.mark.parametrize("name", REAL + ("local",))
def test_http_api_with_cors(stage, name):
    api = stage(name).one("aws_apigatewayv2_api")
    assert api["protocol_type"] == "HTTP"
    cors = api["cors_configuration"]
    assert cors["allow_methods"] == ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    assert cors["allow_headers"] == ["Content-Type", "Authorization"]
    assert cors["allow_origins"] == list(stage_settings(name).api.cors_origins)
    # What a client reads for support and retries, and preflights cached an hour (issue 39).
    assert cors["expose_headers"] == ["apigw-requestid", "retry-after"]
    assert cors["max_age"] == 3600


@pytest.mark.parametrize(
    "name,origins",
    [
        ("dev", ["https://lego-moc.com", "https://www.lego-moc.com", "https://dev.lego-moc.com"]),
        (
            "staging",
            ["https://lego-moc.com", "https://www.lego-moc.com", "https://staging.lego-moc.com"],
        ),
        ("production", ["https://lego-moc.com", "https://www.lego-moc.com"]),
    ],
)
def test_default_api_origins_plus_the_stage_app(stage, name, origins):
    assert stage(name).one("aws_apigatewayv2_api")["cors_configuration"]["allow_origins"] == origins


@pytest.mark.parametrize("name", REAL)
def test_jwt_authorizer_on_the_created_cognito_pool(stage, name):
    synth = stage(name)
    authorizer = synth.one("aws_apigatewayv2_authorizer")
    assert authorizer["authorizer_type"] == "JWT"
    assert authorizer["identity_sources"] == ["$request.header.Authorization"]
    jwt = authorizer["jwt_configuration"]
    pool = (
        "${aws_cognito_user_pool." + next(iter(synth.resources("aws_cognito_user_pool"))) + ".id}"
    )
    client = (
        "${aws_cognito_user_pool_client."
        + next(iter(synth.resources("aws_cognito_user_pool_client")))
        + ".id}"
    )
    assert jwt["issuer"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"
    assert jwt["audience"] == [client]


@pytest.mark.parametrize("name", REAL)
def test_every_image_route_is_behind_the_jwt_authorizer(stage, name):
    from constructs_lib.image_api.construct import IMAGE_ROUTES

    synth = stage(name)
    routes = synth.resources("aws_apigatewayv2_route").values()
    assert sorted(r["route_key"] for r in routes) == sorted(IMAGE_ROUTES)
    authorizer_ref = (
        "${aws_apigatewayv2_authorizer."
        + next(iter(synth.resources("aws_apigatewayv2_authorizer")))
        + ".id}"
    )
    for route in routes:
        assert route["authorization_type"] == "JWT", route["route_key"]
        assert route["authorizer_id"] == authorizer_ref, route["route_key"]
        assert "target" not in route  # handlers come later


def test_the_five_routes_are_exactly_the_specified_ones():
    from constructs_lib.image_api.construct import IMAGE_ROUTES

    assert set(IMAGE_ROUTES) == {
        "POST /images",
        "GET /images/{imageId}",
        "GET /images",
        "PATCH /images/{imageId}",
        "DELETE /images/{imageId}",
    }


@pytest.mark.parametrize(
    "name,burst,rate,retention",
    [("dev", 100, 50, 14), ("staging", 100, 50, 14), ("production", 2000, 1000, 90)],
)
def test_default_stage_throttling_and_access_logs(stage, name, burst, rate, retention):
    synth = stage(name)
    st = synth.one("aws_apigatewayv2_stage")
    assert st["name"] == "$default"
    assert st["auto_deploy"] is True
    assert st["default_route_settings"] == {
        "throttling_burst_limit": burst,
        "throttling_rate_limit": rate,
    }
    [(group, body)] = [
        (address, g)
        for address, g in synth.resources("aws_cloudwatch_log_group").items()
        if g["name"] == f"/aws/apigateway/image-service-{name}/access"
    ]
    assert (
        st["access_log_settings"]["destination_arn"] == f"${{aws_cloudwatch_log_group.{group}.arn}}"
    )
    log_format = json.loads(st["access_log_settings"]["format"])
    assert log_format["requestId"] == "$context.requestId"
    assert body["retention_in_days"] == retention


@pytest.mark.parametrize(
    "name,host",
    [
        ("dev", "images-dev.lego-api.com"),
        ("staging", "images-staging.lego-api.com"),
        ("production", "images.lego-api.com"),
    ],
)
def test_api_custom_domain(stage, name, host):
    synth = stage(name)
    domain = synth.one("aws_apigatewayv2_domain_name")
    assert domain["domain_name"] == host
    assert domain["domain_name_configuration"]["endpoint_type"] == "REGIONAL"
    assert domain["domain_name_configuration"]["security_policy"] == "TLS_1_2"
    assert domain["domain_name_configuration"]["certificate_arn"].startswith(
        "${aws_acm_certificate_validation."
    )
    certs = {c["domain_name"]: c for c in synth.resources("aws_acm_certificate").values()}
    assert "provider" not in certs[host]  # regional: the stack's own region
    mapping = synth.one("aws_apigatewayv2_api_mapping")
    assert mapping["stage"].startswith("${aws_apigatewayv2_stage.")
    records = {
        (r["name"], r["type"])
        for r in synth.resources("aws_route53_record").values()
        if "alias" in r
    }
    assert (host, "A") in records
    assert synth.json["output"]["ApiCustomDomain"]["value"] == host


@pytest.mark.parametrize("name,protected", [("dev", False), ("production", True)])
def test_user_pool_and_browser_client(stage, name, protected):
    synth = stage(name)
    pool = synth.one("aws_cognito_user_pool")
    assert pool["username_attributes"] == ["email"]
    assert pool["mfa_configuration"] == "OPTIONAL"
    assert pool["password_policy"]["minimum_length"] >= 12
    assert pool["deletion_protection"] == ("ACTIVE" if protected else "INACTIVE")
    assert pool.get("lifecycle", {}).get("prevent_destroy", False) is protected
    client = synth.one("aws_cognito_user_pool_client")
    assert client["generate_secret"] is False
    assert "ALLOW_USER_SRP_AUTH" in client["explicit_auth_flows"]
    # Who may sign up is decided and written out, not left to Cognito's default (finding 8).
    assert pool["admin_create_user_config"] == {"allow_admin_create_user_only": False}


def test_production_mails_its_users_through_its_own_ses_identity(stage):
    from stacks.settings import ACCOUNTS

    assert stage("production").one("aws_cognito_user_pool")["email_configuration"] == {
        "email_sending_account": "DEVELOPER",
        "source_arn": (
            f"arn:aws:ses:us-east-1:{ACCOUNTS['production'].account_id}:identity/lego-moc.com"
        ),
        "from_email_address": "no-reply@lego-moc.com",
    }
    # The test stages keep Cognito's default sender (about 50 emails a day).
    for name in ("dev", "staging"):
        assert "email_configuration" not in stage(name).one("aws_cognito_user_pool")


def test_self_sign_up_off_lets_only_administrators_create_users(variant):
    dev = stage_settings("dev")
    pool = variant("dev", auth=replace(dev.auth, self_sign_up=False)).one("aws_cognito_user_pool")
    assert pool["admin_create_user_config"] == {"allow_admin_create_user_only": True}


def test_the_execute_api_endpoint_is_closed_where_the_custom_domain_serves_the_api(stage):
    for name in ("dev", "staging", "production"):
        assert stage(name).one("aws_apigatewayv2_api")["disable_execute_api_endpoint"] is True
    # Without a custom domain (the emulator's stages) the execute-api endpoint is the way in.
    for name in ("local", "local-production"):
        assert "disable_execute_api_endpoint" not in stage(name).one("aws_apigatewayv2_api")


def test_existing_pool_setting_creates_no_pool(variant):
    dev = stage_settings("dev")
    synth = variant(
        "dev",
        auth=replace(dev.auth, existing=ExistingUserPool("us-east-1_AbC123", ("abc123", "def456"))),
    )
    assert synth.resources("aws_cognito_user_pool") == {}
    assert synth.resources("aws_cognito_user_pool_client") == {}
    jwt = synth.one("aws_apigatewayv2_authorizer")["jwt_configuration"]
    assert jwt["issuer"] == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123"
    assert jwt["audience"] == ["abc123", "def456"]
    assert synth.json["output"]["UserPoolId"]["value"] == "us-east-1_AbC123"


def test_api_outputs(stage):
    outputs = stage("dev").json["output"]
    assert outputs["ApiEndpoint"]["value"].endswith(".api_endpoint}")
    assert outputs["ApiId"]["value"].endswith(".id}")
    assert outputs["UserPoolId"]["value"].startswith("${aws_cognito_user_pool.")
    assert outputs["UserPoolClientId"]["value"].startswith("${aws_cognito_user_pool_client.")


def test_add_route_attaches_the_authorizer_and_an_integration():
    from cdktf import App, TerraformStack, Testing

    from constructs_lib.image_api.construct import ImageApi, ImageApiProps
    from constructs_lib.user_auth.construct import UserAuth, UserAuthProps

    app = App()
    stack = TerraformStack(app, "t")
    auth = UserAuth(stack, "Auth", UserAuthProps(name="t", region="eu-west-1", protect_data=False))
    api = ImageApi(
        stack,
        "Api",
        auth,
        ImageApiProps(
            name="t",
            cors_origins=("https://lego-moc.com",),
            throttling_burst_limit=1,
            throttling_rate_limit=1,
            access_log_retention_days=1,
        ),
    )
    api.add_route("GET /health", integration_id="abc")
    routes = {
        r["route_key"]: r
        for r in json.loads(Testing.synth(stack))["resource"]["aws_apigatewayv2_route"].values()
    }
    assert routes["GET /health"]["authorization_type"] == "JWT"
    assert routes["GET /health"]["authorizer_id"].startswith("${aws_apigatewayv2_authorizer.")
    assert routes["GET /health"]["target"] == "integrations/abc"
    assert auth.issuer.startswith("https://cognito-idp.eu-west-1.amazonaws.com/")


# integrate(route_key, handler): CONTRIBUTING.md's "Adding a handler" block (conftest.handler_stack)
# integrates GET /images/{imageId} on the dev stack.
INTEGRATION = "ImageApi_IntegrationGetImagesImageid_A0BCC77B"
FUNCTION = "GetImage_Function_5855F462"


def test_an_integrated_route_targets_a_lambda_proxy_integration(handler_stack):
    integration = handler_stack.one("aws_apigatewayv2_integration")
    assert integration == {
        **integration,
        "api_id": "${aws_apigatewayv2_api.ImageApi_6B36478C.id}",
        "integration_type": "AWS_PROXY",
        "integration_method": "POST",
        "integration_uri": f"${{aws_lambda_function.{FUNCTION}.invoke_arn}}",
        "payload_format_version": "2.0",
    }
    routes = {r["route_key"]: r for r in handler_stack.resources("aws_apigatewayv2_route").values()}
    route = routes["GET /images/{imageId}"]
    assert route["target"] == f"integrations/${{aws_apigatewayv2_integration.{INTEGRATION}.id}}"
    # The authorizer stays.
    assert route["authorization_type"] == "JWT"
    assert route["authorizer_id"] == (
        "${aws_apigatewayv2_authorizer.ImageApi_JwtAuthorizer_E9AF6BBC.id}"
    )
    assert [k for k, r in routes.items() if "target" in r] == ["GET /images/{imageId}"]


def test_api_gateway_may_invoke_the_function_from_this_api_and_route_only(handler_stack):
    permission = handler_stack.one("aws_lambda_permission")
    assert permission == {
        **permission,
        "action": "lambda:InvokeFunction",
        "principal": "apigateway.amazonaws.com",
        "function_name": f"${{aws_lambda_function.{FUNCTION}.function_name}}",
        "source_arn": "${aws_apigatewayv2_api.ImageApi_6B36478C.execution_arn}/*/GET/images/*",
        "statement_id": "AllowInvokeFromGetImagesImageid",
    }


@pytest.mark.parametrize(
    "route_key,path",
    [
        ("GET /images/{imageId}", "*/GET/images/*"),
        ("POST /images", "*/POST/images"),
        ("PATCH /albums/{albumId}/images/{imageId}", "*/PATCH/albums/*/images/*"),
        ("ANY /{proxy+}", "*/*/*"),
        ("$default", "*/$default"),
    ],
)
def test_the_invoke_permission_matches_the_route_with_one_segment_per_parameter(route_key, path):
    from constructs_lib.image_api.construct import ImageApi

    assert ImageApi.invoke_path(route_key) == path


@pytest.fixture(scope="module")
def api_and_handler(tmp_path_factory):
    from cdktf import App

    from constructs_lib.image_handler.construct import ImageHandler, ImageHandlerProps
    from stacks.image_service_stack import ImageServiceStack
    from tests.handler_source import write_handler_source

    stack = ImageServiceStack(App(), stage_settings("dev"))
    source = write_handler_source(tmp_path_factory.mktemp("handler") / "src")
    handler = ImageHandler(
        stack, "H", ImageHandlerProps(name="h", source_dir=source, handler="app.handler")
    )
    return stack, handler


def test_integrating_an_unknown_route_names_it_and_the_routes_there_are(api_and_handler):
    from constructs_lib.errors import ConstructError

    stack, handler = api_and_handler
    with pytest.raises(ConstructError) as caught:
        stack.api.integrate("GET /albums", handler)
    assert str(caught.value) == (
        "ImageApi 'image-service-dev': `route_key`: there is no route 'GET /albums' to integrate. "
        "Fix: use "
        "one of its routes ('POST /images', 'GET /images/{imageId}', 'GET /images', "
        "'PATCH /images/{imageId}', 'DELETE /images/{imageId}'), or add the route first with "
        "add_route('GET /albums')"
    )


def test_a_route_is_integrated_once(api_and_handler):
    from constructs_lib.errors import ConstructError

    stack, handler = api_and_handler
    stack.api.integrate("DELETE /images/{imageId}", handler)
    with pytest.raises(ConstructError, match=r"route 'DELETE /images/\{imageId\}' already has"):
        stack.api.integrate("DELETE /images/{imageId}", handler)
    # One handler may serve several routes, each with its own permission.
    stack.api.integrate("PATCH /images/{imageId}", handler)
    permissions = stack.to_terraform()["resource"]["aws_lambda_permission"]
    assert sorted(p["source_arn"].split("}", 1)[1] for p in permissions.values()) == [
        "/*/DELETE/images/*",
        "/*/PATCH/images/*",
    ]


def test_adding_a_route_that_exists_points_at_integrate(api_and_handler):
    from constructs_lib.errors import ConstructError

    stack, _ = api_and_handler
    with pytest.raises(ConstructError) as caught:
        stack.api.add_route("POST /images")
    assert str(caught.value) == (
        "ImageApi 'image-service-dev': `route_key`: route 'POST /images' exists already. Fix: "
        "give it a handler with integrate('POST /images', handler)"
    )


def test_built_directly_with_bad_props_every_problem_is_reported_at_once(bare_stack):
    from constructs_lib.image_api.construct import ImageApi, ImageApiProps
    from constructs_lib.user_auth.construct import UserAuth, UserAuthProps
    from tests.constructs import refusal

    auth = UserAuth(bare_stack, "Auth", UserAuthProps(name="bare", protect_data=False))
    props = ImageApiProps(
        name="bare",
        cors_origins=("https://*.lego-moc.com",),
        throttling_burst_limit=1,
        throttling_rate_limit=5,
        access_log_retention_days=10,
    )
    message = refusal(bare_stack, lambda: ImageApi(bare_stack, "Api", auth, props))
    assert message.startswith("ImageApi 'bare': 3 problems:\n")
    for line in (
        "  - `cors_origins`: 'https://*.lego-moc.com' is a wildcard-subdomain origin.",
        "  - `throttling_burst_limit`: the burst (1) is below the steady rate (5 requests per "
        "second).",
        "  - `access_log_retention_days`: 10 is not a retention period CloudWatch Logs accepts. "
        "Fix: use one of 1, 3, 5, 7, 14, 30, 60, 90,",
    ):
        assert f"\n{line}" in message


def test_user_auth_built_directly_with_bad_props_is_refused(bare_stack):
    from constructs_lib.user_auth.construct import UserAuth, UserAuthProps
    from constructs_lib.user_auth.props import ExistingUserPool
    from tests.constructs import refusal

    props = UserAuthProps(
        name="bare", region="mars", existing=ExistingUserPool(user_pool_id="nope", client_ids=())
    )
    assert refusal(bare_stack, lambda: UserAuth(bare_stack, "Auth", props)) == (
        "UserAuth 'bare': 3 problems:\n"
        "  - `region`: 'mars' is not an AWS region name. Fix: use a region code such as "
        "'us-east-1' or 'eu-west-1'.\n"
        "  - `existing.user_pool_id`: 'nope' is not a Cognito user pool id. Fix: use the id "
        "shown by Cognito, e.g. 'us-east-1_AbC123xyz', or existing=None to create a pool.\n"
        "  - `existing.client_ids`: an existing pool is named but no client ids. Fix: list the "
        "pool's app client ids; the JWT authorizer needs them as audience."
    )


def test_user_auth_refuses_mail_from_outside_its_ses_identity(bare_stack):
    from constructs_lib.user_auth.construct import UserAuth, UserAuthProps
    from constructs_lib.user_auth.props import UserPoolEmail
    from tests.constructs import refusal

    def build(email):
        props = UserAuthProps(name="bare", protect_data=False, email=email)
        return refusal(bare_stack, lambda: UserAuth(bare_stack, "Auth", props))

    identity = "arn:aws:ses:us-east-1:123456789012:identity/lego-moc.com"
    assert build(UserPoolEmail(identity, "no-reply@example.com")) == (
        "UserAuth 'bare': `email.from_address`: 'no-reply@example.com' is not covered by the SES "
        "identity 'lego-moc.com'; SES refuses to send from it. Fix: send from an address at "
        "lego-moc.com, or name the identity that verifies this address"
    )
    assert build(UserPoolEmail("lego-moc.com", "no-reply@lego-moc.com")).startswith(
        "UserAuth 'bare': `email.source_arn`: 'lego-moc.com' is not an SES identity ARN."
    )
