"""API Gateway's Lambda payload format 2.0 (its docs, "Create AWS Lambda proxy integrations for
HTTP APIs in API Gateway"): the event a request becomes, and how the function's result becomes
the response."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

# Bodies API Gateway passes as text; any other content type arrives base64-encoded
# (isBase64Encoded true), as binary.
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/x-www-form-urlencoded",
    "application/graphql",
)


@dataclass(frozen=True)
class Request:
    method: str
    raw_path: str
    raw_query: str
    #: Lower-cased names; repeated headers joined with commas, as API Gateway does.
    headers: dict[str, str]
    body: bytes
    source_ip: str


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)
    body: bytes = b""


class InvalidResponse(Exception):
    """The function's result is not one API Gateway can map: 500."""


def _is_text(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind.startswith(_TEXT_TYPES) or kind.endswith("+json") or kind.endswith("+xml")


def event(
    request: Request,
    route_key: str,
    path_parameters: dict[str, str],
    claims: dict[str, Any] | None,
    *,
    request_id: str,
    api_id: str,
    account_id: str,
    domain_name: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The 2.0 event of `request` taking `route_key`."""
    now = time.time() if now is None else now
    headers = {k: v for k, v in request.headers.items() if k != "cookie"}
    found: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": _request_context(
            request, route_key, request_id, api_id, account_id, domain_name, now
        ),
        "isBase64Encoded": False,
    }
    cookie = request.headers.get("cookie")
    if cookie:
        found["cookies"] = [c.strip() for c in cookie.split(";") if c.strip()]
    query = _query_parameters(request.raw_query)
    if query:
        found["queryStringParameters"] = query
    if path_parameters:
        found["pathParameters"] = path_parameters
    if claims is not None:
        found["requestContext"]["authorizer"] = {
            "jwt": {"claims": _as_strings(claims), "scopes": _scopes(claims)}
        }
    if request.body:
        if _is_text(request.headers.get("content-type", "")):
            try:
                found["body"] = request.body.decode()
            except UnicodeDecodeError:
                found["body"], found["isBase64Encoded"] = _b64(request.body), True
        else:
            found["body"], found["isBase64Encoded"] = _b64(request.body), True
    return found


def _request_context(
    request: Request,
    route_key: str,
    request_id: str,
    api_id: str,
    account_id: str,
    domain_name: str,
    now: float,
) -> dict[str, Any]:
    return {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": request.headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _query_parameters(raw: str) -> dict[str, str]:
    """Repeated parameters joined with commas (format 2.0 has no multi-value form)."""
    found: dict[str, str] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        found[name] = f"{found[name]},{value}" if name in found else value
    return found


def _as_strings(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as API Gateway passes them: every value a string (lists as "[a b]")."""
    found = {}
    for name, value in claims.items():
        if isinstance(value, list):
            found[name] = "[" + " ".join(str(v) for v in value) + "]"
        else:
            found[name] = str(value)
    return found


def _scopes(claims: dict[str, Any]) -> list[str] | None:
    raw = claims.get("scope", claims.get("scp"))
    if raw is None:
        return None
    return raw.split() if isinstance(raw, str) else [str(s) for s in raw]


def response(result: Any) -> Response:
    """The function's result mapped by format 2.0's rules: a dict with statusCode gives the
    status, headers, cookies and body (base64-decoded if isBase64Encoded); anything else is a
    200 with content-type application/json and the result as the body (a string as itself,
    any other value as its JSON)."""
    if isinstance(result, dict) and "statusCode" in result:
        return _structured(result)
    body = result if isinstance(result, str) else json.dumps(result)
    return Response(200, {"content-type": "application/json"}, [], body.encode())


def _structured(result: dict[str, Any]) -> Response:
    status = result["statusCode"]
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise InvalidResponse(f"statusCode {status!r} is not an HTTP status")
    headers = result.get("headers") or {}
    cookies = result.get("cookies") or []
    if not isinstance(headers, dict) or not isinstance(cookies, list):
        raise InvalidResponse("headers must be an object and cookies a list")
    body = result.get("body", "")
    if body is None:
        body = ""
    if not isinstance(body, str):
        body = json.dumps(body)
    if result.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except ValueError:
            raise InvalidResponse("isBase64Encoded is true, but the body is not base64") from None
    else:
        data = body.encode()
    return Response(
        status,
        {str(k).lower(): str(v) for k, v in headers.items()},
        [str(c) for c in cookies],
        data,
    )
