"""The Image Service's HTTP API: JWT-protected routes, CORS, throttling and access logs."""

from __future__ import annotations

import json
import re
from typing import Protocol

from cdktf_cdktf_provider_aws.apigatewayv2_api import (
    Apigatewayv2Api,
    Apigatewayv2ApiCorsConfiguration,
)
from cdktf_cdktf_provider_aws.apigatewayv2_api_mapping import Apigatewayv2ApiMapping
from cdktf_cdktf_provider_aws.apigatewayv2_authorizer import (
    Apigatewayv2Authorizer,
    Apigatewayv2AuthorizerJwtConfiguration,
)
from cdktf_cdktf_provider_aws.apigatewayv2_domain_name import (
    Apigatewayv2DomainName,
    Apigatewayv2DomainNameDomainNameConfiguration,
    Apigatewayv2DomainNameTimeouts,
)
from cdktf_cdktf_provider_aws.apigatewayv2_integration import Apigatewayv2Integration
from cdktf_cdktf_provider_aws.apigatewayv2_route import Apigatewayv2Route
from cdktf_cdktf_provider_aws.apigatewayv2_stage import (
    Apigatewayv2Stage,
    Apigatewayv2StageAccessLogSettings,
    Apigatewayv2StageDefaultRouteSettings,
)
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from constructs import Construct

from constructs_lib.domains.props import CustomDomain as CustomDomain
from constructs_lib.errors import ConstructError, Problem
from constructs_lib.image_api import alarms
from constructs_lib.image_api.props import ImageApiProps as ImageApiProps
from constructs_lib.metrics import Metric
from constructs_lib.monitoring.construct import Monitoring
from constructs_lib.shared import WAIT_TIMEOUT
from constructs_lib.user_auth.construct import UserAuth
from constructs_lib.validation import check

CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
CORS_HEADERS = ("Content-Type", "Authorization")
# The image routes; handlers are attached with `integrate(route_key, handler)`.
IMAGE_ROUTES = (
    "POST /images",
    "GET /images/{imageId}",
    "GET /images",
    "PATCH /images/{imageId}",
    "DELETE /images/{imageId}",
)
# One JSON object per request: fields CloudWatch Logs Insights can query directly.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
    },
    separators=(",", ":"),
)


PATH_PARAMETER = re.compile(r"\{[^}/]+\}")


class Integratable(Protocol):
    """What a route needs of its handler (ImageHandler is one)."""

    @property
    def function_name(self) -> str: ...

    @property
    def invoke_arn(self) -> str: ...


def _construct_id(route_key: str) -> str:
    return "".join(ch for ch in route_key.title() if ch.isalnum())


class ImageApi(Construct):
    """Every route goes through `add_route`, which always attaches the JWT authorizer."""

    def __init__(self, scope: Construct, id_: str, auth: UserAuth, props: ImageApiProps):
        check(props, f"ImageApi '{props.name}'")
        super().__init__(scope, id_)
        self.props = props
        self.name = props.name
        self.api = Apigatewayv2Api(
            self,
            "Api",
            name=props.name,
            protocol_type="HTTP",
            # Where the API has its own hostname, that is its only way in: the execute-api
            # endpoint would serve the same routes beside it, outside whatever fronts the
            # custom domain. Left out otherwise, so the API keeps the endpoint it is reached by.
            disable_execute_api_endpoint=True if props.custom_domain else None,
            cors_configuration=Apigatewayv2ApiCorsConfiguration(
                allow_origins=list(props.cors_origins),
                allow_methods=list(CORS_METHODS),
                allow_headers=list(CORS_HEADERS),
                expose_headers=list(props.cors_expose_headers),
                max_age=props.cors_max_age_seconds,
            ),
        )
        self.authorizer = Apigatewayv2Authorizer(
            self,
            "JwtAuthorizer",
            api_id=self.api.id,
            name="cognito-jwt",
            authorizer_type="JWT",
            identity_sources=["$request.header.Authorization"],
            jwt_configuration=Apigatewayv2AuthorizerJwtConfiguration(
                issuer=auth.issuer, audience=auth.audience
            ),
        )
        self.routes: dict[str, Apigatewayv2Route] = {}
        self.integrations: dict[str, Apigatewayv2Integration] = {}
        for route_key in IMAGE_ROUTES:
            self.add_route(route_key)
        self.access_logs, self.stage = self._default_stage(props)
        self.domain_name = self._custom_domain(props.custom_domain)

    def _default_stage(self, props: ImageApiProps) -> tuple[CloudwatchLogGroup, Apigatewayv2Stage]:
        """The `$default` stage, throttled, with its access logs."""
        access_logs = CloudwatchLogGroup(
            self,
            "AccessLogs",
            name=f"/aws/apigateway/{props.name}/access",
            retention_in_days=props.access_log_retention_days,
        )
        stage = Apigatewayv2Stage(
            self,
            "DefaultStage",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings=Apigatewayv2StageDefaultRouteSettings(
                throttling_burst_limit=props.throttling_burst_limit,
                throttling_rate_limit=props.throttling_rate_limit,
            ),
            access_log_settings=Apigatewayv2StageAccessLogSettings(
                destination_arn=access_logs.arn,
                format=ACCESS_LOG_FORMAT,
            ),
        )
        return access_logs, stage

    def _custom_domain(self, domain: CustomDomain | None) -> Apigatewayv2DomainName | None:
        """The API's own hostname, mapped to the `$default` stage (None: the execute-api one)."""
        if domain is None:
            return None
        domain_name = Apigatewayv2DomainName(
            self,
            "DomainName",
            domain_name=domain.hostname,
            domain_name_configuration=Apigatewayv2DomainNameDomainNameConfiguration(
                certificate_arn=domain.certificate_arn,
                endpoint_type="REGIONAL",
                security_policy="TLS_1_2",
            ),
            timeouts=Apigatewayv2DomainNameTimeouts(create=WAIT_TIMEOUT, update=WAIT_TIMEOUT),
        )
        Apigatewayv2ApiMapping(
            self,
            "DomainMapping",
            api_id=self.api.id,
            domain_name=domain_name.id,
            stage=self.stage.id,
        )
        return domain_name

    def add_route(self, route_key: str, integration_id: str | None = None) -> Apigatewayv2Route:
        """Add a JWT-protected route, optionally targeting an integration that exists already.
        The five image routes exist from the start: give them a handler with `integrate`."""
        if route_key in self.routes:
            raise ConstructError(
                f"ImageApi '{self.name}'",
                [
                    Problem(
                        "route_key",
                        f"route '{route_key}' exists already",
                        f"give it a handler with integrate('{route_key}', handler)",
                    )
                ],
            )
        route = Apigatewayv2Route(
            self,
            "Route" + _construct_id(route_key),
            api_id=self.api.id,
            route_key=route_key,
            authorization_type="JWT",
            authorizer_id=self.authorizer.id,
            target=f"integrations/{integration_id}" if integration_id else None,
        )
        self.routes[route_key] = route
        return route

    def integrate(self, route_key: str, handler: Integratable) -> Apigatewayv2Integration:
        """Route `route_key` to `handler`: a Lambda proxy integration (payload format 2.0), the
        route's target pointed at it (its JWT authorizer stays), and permission for API
        Gateway to invoke the function from this API's route only."""
        problem = None
        if route_key not in self.routes:
            problem = Problem(
                "route_key",
                f"there is no route '{route_key}' to integrate",
                "use one of its routes ("
                + ", ".join(f"'{r}'" for r in self.routes)
                + f"), or add the route first with add_route('{route_key}')",
            )
        elif route_key in self.integrations:
            problem = Problem(
                "route_key",
                f"route '{route_key}' already has a handler",
                "a route has one target: integrate each route once (one handler may serve "
                "several routes)",
            )
        if problem:
            raise ConstructError(f"ImageApi '{self.name}'", [problem])
        suffix = _construct_id(route_key)
        integration = Apigatewayv2Integration(
            self,
            "Integration" + suffix,
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=handler.invoke_arn,
            payload_format_version="2.0",
        )
        self.routes[route_key].target = f"integrations/{integration.id}"
        LambdaPermission(
            self,
            "Invoke" + suffix,
            statement_id=f"AllowInvokeFrom{suffix}",
            action="lambda:InvokeFunction",
            function_name=handler.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{self.api.execution_arn}/{self.invoke_path(route_key)}",
        )
        self.integrations[route_key] = integration
        return integration

    @staticmethod
    def invoke_path(route_key: str) -> str:
        """The part of a request's source ARN after the API's execution ARN that this route
        matches: `<stage>/<METHOD>/<path>`, any stage, each path parameter one segment (`*`).
        For example 'GET /images/{imageId}' -> '*/GET/images/*'."""
        if route_key == "$default":
            return "*/$default"
        method, path = route_key.split(" ", 1)
        return f"*/{'*' if method == 'ANY' else method}{PATH_PARAMETER.sub('*', path)}"

    # ---- metrics (AWS/ApiGateway, by ApiId: an HTTP API's $default stage) ---------------------
    def _metric(self, name: str, statistic: str) -> Metric:
        return Metric("AWS/ApiGateway", name, {"ApiId": self.api.id}, statistic, label=name)

    def metric_requests(self) -> Metric:
        return self._metric("Count", "Sum")

    def metric_server_errors(self) -> Metric:
        """5xx responses (Sum per minute): the API or its integration failed."""
        return self._metric("5xx", "Sum")

    def metric_client_errors(self) -> Metric:
        """4xx responses (Sum per minute): refused requests (401 is the JWT authorizer)."""
        return self._metric("4xx", "Sum")

    def metric_latency(self, statistic: str = "p99") -> Metric:
        """Milliseconds from request to response, the integration's time included."""
        return self._metric("Latency", statistic)

    @property
    def api_id(self) -> str:
        return self.api.id

    @property
    def endpoint(self) -> str:
        return self.api.api_endpoint

    @property
    def target_name(self) -> str:
        """Where an alias record of the custom domain points (only with a custom domain)."""
        return self._custom_domain_name().domain_name_configuration.target_domain_name

    @property
    def target_zone_id(self) -> str:
        return self._custom_domain_name().domain_name_configuration.hosted_zone_id

    def _custom_domain_name(self) -> Apigatewayv2DomainName:
        if self.domain_name is None:
            raise ConstructError(
                f"ImageApi '{self.name}'",
                [
                    Problem(
                        "custom_domain",
                        "there is no custom domain to point an alias at",
                        "give the API props a custom_domain",
                    )
                ],
            )
        return self.domain_name

    def add_alarms(self, monitoring: Monitoring) -> None:
        """AWS's recommended alarms on the API, and its graphs (alarms.py)."""
        alarms.add_alarms(monitoring, self)
