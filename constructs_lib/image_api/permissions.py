"""The HTTP API's deploy and review permissions."""

from __future__ import annotations

from constructs_lib.concern import Family

FAMILIES = (
    # API Gateway's management API: HTTP verbs on resource paths (APIs have generated ids).
    Family(
        "Api",
        lambda s, a: [
            f"arn:aws:apigateway:{s.region}::/{path}"
            for path in ("apis", "apis/*", "domainnames", "domainnames/*", "tags/*")
        ],
        read=("apigateway:GET",),
        write=("apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"),
        types=(
            "aws_apigatewayv2_api",
            "aws_apigatewayv2_api_mapping",
            "aws_apigatewayv2_authorizer",
            "aws_apigatewayv2_domain_name",
            "aws_apigatewayv2_integration",
            "aws_apigatewayv2_route",
            "aws_apigatewayv2_stage",
        ),
        # The stage's access logs are a vended-log delivery (API Gateway's docs, "Configure
        # logging for HTTP APIs": the permissions to set one up), whose set-up actions
        # authorize on no resource; CloudFront's standard logs (cdn_logs) use them too.
        read_anywhere=(
            "logs:GetLogDelivery",
            "logs:ListLogDeliveries",
            "logs:DescribeResourcePolicies",
        ),
        write_anywhere=(
            "logs:CreateLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:PutResourcePolicy",
        ),
    ),
)
