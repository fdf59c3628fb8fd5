"""The organisation's rule for the API: every route has an authorizer."""

from __future__ import annotations

from collections.abc import Iterator

from constructs_lib.stack_json import Config, RuleContext, Rules, Violation, resources

AUTHORIZED_ROUTE_TYPES = ("JWT", "CUSTOM", "AWS_IAM")
API_ROUTE_AUTHORIZER = "api-route-authorizer"


def _check_api_routes(config: Config) -> Iterator[Violation]:
    for route in resources(config, "aws_apigatewayv2_route"):
        kind = route.body.get("authorization_type", "NONE")
        if kind not in AUTHORIZED_ROUTE_TYPES or (
            kind != "AWS_IAM" and not route.body.get("authorizer_id")
        ):
            yield Violation(
                route.path,
                route.address,
                API_ROUTE_AUTHORIZER,
                f"({route.body.get('route_key')}) has no authorizer (authorization_type {kind})",
                "add routes with ImageApi.add_route, which attaches the JWT authorizer",
            )


def _check(config: Config, context: RuleContext) -> Iterator[Violation]:
    yield from _check_api_routes(config)


RULES = Rules((API_ROUTE_AUTHORIZER,), _check)
