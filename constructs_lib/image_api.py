"""The Image Service's HTTP API: JWT-protected routes, CORS, throttling and access logs."""

from __future__ import annotations

import json

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
)
from cdktf_cdktf_provider_aws.apigatewayv2_route import Apigatewayv2Route
from cdktf_cdktf_provider_aws.apigatewayv2_stage import (
    Apigatewayv2Stage,
    Apigatewayv2StageAccessLogSettings,
    Apigatewayv2StageDefaultRouteSettings,
)
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct

from constructs_lib.props import (
    CustomDomain as CustomDomain,
)
from constructs_lib.props import (
    ImageApiProps as ImageApiProps,
)
from constructs_lib.user_auth import UserAuth

CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
CORS_HEADERS = ("Content-Type", "Authorization")
# The image routes; handlers arrive later (`add_route(..., integration_id=...)`).
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


class ImageApi(Construct):
    """Every route goes through `add_route`, which always attaches the JWT authorizer."""

    def __init__(self, scope: Construct, id_: str, auth: UserAuth, props: ImageApiProps):
        super().__init__(scope, id_)
        self.api = Apigatewayv2Api(
            self,
            "Api",
            name=props.name,
            protocol_type="HTTP",
            cors_configuration=Apigatewayv2ApiCorsConfiguration(
                allow_origins=list(props.cors_origins),
                allow_methods=list(CORS_METHODS),
                allow_headers=list(CORS_HEADERS),
                max_age=3600,
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
        for route_key in IMAGE_ROUTES:
            self.add_route(route_key)

        self.access_logs = CloudwatchLogGroup(
            self,
            "AccessLogs",
            name=f"/aws/apigateway/{props.name}/access",
            retention_in_days=props.access_log_retention_days,
        )
        self.stage = Apigatewayv2Stage(
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
                destination_arn=self.access_logs.arn,
                format=ACCESS_LOG_FORMAT,
            ),
        )

        self.domain_name: Apigatewayv2DomainName | None = None
        if props.custom_domain:
            self.domain_name = Apigatewayv2DomainName(
                self,
                "DomainName",
                domain_name=props.custom_domain.hostname,
                domain_name_configuration=Apigatewayv2DomainNameDomainNameConfiguration(
                    certificate_arn=props.custom_domain.certificate_arn,
                    endpoint_type="REGIONAL",
                    security_policy="TLS_1_2",
                ),
            )
            Apigatewayv2ApiMapping(
                self,
                "DomainMapping",
                api_id=self.api.id,
                domain_name=self.domain_name.id,
                stage=self.stage.id,
            )

    def add_route(self, route_key: str, integration_id: str | None = None) -> Apigatewayv2Route:
        """Add a JWT-protected route; pass an integration id once a handler exists."""
        route = Apigatewayv2Route(
            self,
            "Route" + "".join(ch for ch in route_key.title() if ch.isalnum()),
            api_id=self.api.id,
            route_key=route_key,
            authorization_type="JWT",
            authorizer_id=self.authorizer.id,
            target=f"integrations/{integration_id}" if integration_id else None,
        )
        self.routes[route_key] = route
        return route

    @property
    def api_id(self) -> str:
        return self.api.id

    @property
    def endpoint(self) -> str:
        return self.api.api_endpoint
