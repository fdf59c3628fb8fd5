"""What the local gateway serves, read from what `make up` applied.

The API comes from the emulator's API Gateway (GetApis, GetRoutes, GetIntegrations,
GetAuthorizer) and each integrated function from the emulator's Lambda
(GetFunctionConfiguration), not from the Terraform state: the emulator holds what was applied,
including changes made to it directly with the AWS CLI, and reading it needs no Terraform (a
state read would start the provider, ~1 s, on every reload). What the emulator cannot hold is
where each handler's source folder is; the synthesis records that beside the stack
(HANDLER_SOURCES, written by stacks/cli.py for the emulator stacks), so a handler runs from the
folder a developer edits.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops import local_aws
from stacks.cli import HANDLER_SOURCES

# API Gateway's limit for an HTTP API's integration (and the default of TimeoutInMillis).
INTEGRATION_TIMEOUT_MS = 30_000
_FUNCTION_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]+)")


class ConfigError(Exception):
    """The deployed API cannot be read (the emulator stopped, the stack is not deployed)."""


@dataclass(frozen=True)
class Cors:
    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class Authorizer:
    name: str
    issuer: str
    audience: tuple[str, ...]
    identity_source: tuple[str, ...] = ("$request.header.Authorization",)


@dataclass(frozen=True)
class Function:
    name: str
    handler: str
    timeout_seconds: int
    memory_mb: int
    runtime: str
    arn: str
    environment: dict[str, str] = field(default_factory=dict)
    #: The folder the handler runs from; None when the synthesis recorded none for it.
    source_dir: Path | None = None


@dataclass(frozen=True)
class Route:
    key: str
    authorization: str = "NONE"
    authorizer: Authorizer | None = None
    scopes: tuple[str, ...] = ()
    #: The AWS_PROXY integration's function; None: the route has no integration.
    function: Function | None = None
    integration_timeout_ms: int = INTEGRATION_TIMEOUT_MS

    @property
    def method(self) -> str:
        return self.key.split(" ", 1)[0] if self.key != "$default" else "ANY"

    @property
    def path(self) -> str:
        return self.key.split(" ", 1)[1] if self.key != "$default" else ""


@dataclass(frozen=True)
class DeployedApi:
    api_id: str
    name: str
    routes: tuple[Route, ...]
    cors: Cors | None = None


def _cors(config: dict[str, Any] | None) -> Cors | None:
    if not config:
        return None
    return Cors(
        allow_origins=tuple(config.get("AllowOrigins", ())),
        allow_methods=tuple(config.get("AllowMethods", ())),
        allow_headers=tuple(config.get("AllowHeaders", ())),
        expose_headers=tuple(config.get("ExposeHeaders", ())),
        max_age=config.get("MaxAge"),
        allow_credentials=bool(config.get("AllowCredentials", False)),
    )


def function_name(integration_uri: str) -> str | None:
    """The function an AWS_PROXY integration calls (its ARN, or its invoke ARN)."""
    found = _FUNCTION_ARN.search(integration_uri)
    return found.group(1) if found else None


def handler_sources(stack_dir: Path) -> dict[str, dict[str, str]]:
    try:
        found: dict[str, dict[str, str]] = json.loads((stack_dir / HANDLER_SOURCES).read_text())
    except (OSError, ValueError):
        return {}
    return found


def _function(lambda_client: Any, name: str, sources: dict[str, dict[str, str]]) -> Function:
    config = lambda_client.get_function_configuration(FunctionName=name)
    source = sources.get(name, {}).get("source_dir")
    return Function(
        name=name,
        handler=config["Handler"],
        timeout_seconds=int(config.get("Timeout", 3)),
        memory_mb=int(config.get("MemorySize", 128)),
        runtime=config.get("Runtime", ""),
        arn=config["FunctionArn"],
        environment=dict(config.get("Environment", {}).get("Variables", {})),
        source_dir=Path(source) if source else None,
    )


def load(endpoint: str, api_name: str, stack_dir: Path) -> DeployedApi:
    """The HTTP API named `api_name` as the emulator at `endpoint` holds it."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        gateway = local_aws.client("apigatewayv2", endpoint)
        lambdas = local_aws.client("lambda", endpoint)
        apis = [a for a in gateway.get_apis()["Items"] if a["Name"] == api_name]
        if len(apis) != 1:
            raise ConfigError(
                f"the emulator at {endpoint} holds {len(apis)} HTTP APIs named {api_name}; "
                "run `make up` to deploy it"
            )
        [api] = apis
        integrations = {
            i["IntegrationId"]: i for i in gateway.get_integrations(ApiId=api["ApiId"])["Items"]
        }
        sources = handler_sources(stack_dir)
        authorizers: dict[str, Authorizer] = {}
        routes = []
        for item in gateway.get_routes(ApiId=api["ApiId"])["Items"]:
            routes.append(
                _route(gateway, lambdas, api["ApiId"], item, integrations, authorizers, sources)
            )
    except (BotoCoreError, ClientError) as exc:
        raise ConfigError(f"the emulator at {endpoint} could not be read: {exc}") from None
    return DeployedApi(
        api["ApiId"], api["Name"], tuple(routes), _cors(api.get("CorsConfiguration"))
    )


def _route(
    gateway: Any,
    lambdas: Any,
    api_id: str,
    item: dict[str, Any],
    integrations: dict[str, dict[str, Any]],
    authorizers: dict[str, Authorizer],
    sources: dict[str, dict[str, str]],
) -> Route:
    authorizer = None
    if item.get("AuthorizerId"):
        authorizer_id = item["AuthorizerId"]
        if authorizer_id not in authorizers:
            # GetAuthorizer, one by one: moto answers GetAuthorizers with HTTP 500.
            found = gateway.get_authorizer(ApiId=api_id, AuthorizerId=authorizer_id)
            jwt = found.get("JwtConfiguration", {})
            authorizers[authorizer_id] = Authorizer(
                name=found.get("Name", authorizer_id),
                issuer=jwt.get("Issuer", ""),
                audience=tuple(jwt.get("Audience", ())),
                identity_source=tuple(found.get("IdentitySource", ())),
            )
        authorizer = authorizers[authorizer_id]
    function, timeout = None, INTEGRATION_TIMEOUT_MS
    target = item.get("Target", "")
    if target.startswith("integrations/"):
        integration = integrations.get(target.split("/", 1)[1], {})
        name = function_name(integration.get("IntegrationUri", ""))
        if integration.get("IntegrationType") == "AWS_PROXY" and name:
            function = _function(lambdas, name, sources)
        timeout = int(integration.get("TimeoutInMillis") or INTEGRATION_TIMEOUT_MS)
    return Route(
        key=item["RouteKey"],
        authorization=item.get("AuthorizationType", "NONE"),
        authorizer=authorizer,
        scopes=tuple(item.get("AuthorizationScopes") or ()),
        function=function,
        integration_timeout_ms=min(timeout, INTEGRATION_TIMEOUT_MS),
    )
