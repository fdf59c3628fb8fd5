"""What the HTTP API costs a month (constructs_lib/billing.py): its requests (its access logs
are charged at their log group)."""

from __future__ import annotations

from constructs_lib.billing import Pricer, UsageKey, free, from_usage

USAGE = {"api.requests_millions": UsageKey(2.0, "million API requests a month")}

BILLING: dict[str, Pricer] = {
    "aws_apigatewayv2_api": from_usage(
        ("apigateway.http-request-million", "api.requests_millions")
    ),
    **free(
        "aws_apigatewayv2_api_mapping",
        "aws_apigatewayv2_authorizer",
        "aws_apigatewayv2_domain_name",
        "aws_apigatewayv2_integration",
        "aws_apigatewayv2_route",
        "aws_apigatewayv2_stage",
    ),
}
