"""An HTTP API's CORS (API Gateway's docs, "Configuring CORS for an HTTP API"): with a CORS
configuration, API Gateway answers every preflight itself (an OPTIONS request with Origin and
Access-Control-Request-Method), without authorization and whatever the routes; on actual
responses it adds the configured headers for an allowed origin, and ignores the CORS headers an
integration returns."""

from __future__ import annotations

from ops.gateway.config import Cors


def _allowed(values: tuple[str, ...], value: str, case_sensitive: bool = True) -> bool:
    if "*" in values:
        return True
    if case_sensitive:
        return value in values
    return value.lower() in {v.lower() for v in values}


def origin_allowed(cors: Cors, origin: str) -> bool:
    return bool(origin) and _allowed(cors.allow_origins, origin)


def is_preflight(method: str, headers: dict[str, str]) -> bool:
    return (
        method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers
    )


def preflight(cors: Cors, headers: dict[str, str]) -> dict[str, str]:
    """The headers of the 204 answering a preflight: the allowed origin, methods, headers and
    max age when the origin, the method and every requested header are allowed; none else."""
    origin = headers.get("origin", "")
    method = headers.get("access-control-request-method", "").upper()
    requested = [
        h.strip() for h in headers.get("access-control-request-headers", "").split(",") if h.strip()
    ]
    if not (
        origin_allowed(cors, origin)
        and _allowed(cors.allow_methods, method)
        and all(_allowed(cors.allow_headers, h, case_sensitive=False) for h in requested)
    ):
        return {}
    answer = {
        "access-control-allow-origin": "*" if "*" in cors.allow_origins else origin,
        "access-control-allow-methods": ",".join(cors.allow_methods),
        "access-control-allow-headers": ",".join(h.lower() for h in cors.allow_headers),
    }
    if cors.max_age is not None:
        answer["access-control-max-age"] = str(cors.max_age)
    if cors.allow_credentials:
        answer["access-control-allow-credentials"] = "true"
    return answer


def response_headers(cors: Cors, origin: str) -> dict[str, str]:
    """What an actual response carries for `origin` (nothing for an origin not allowed)."""
    if not origin_allowed(cors, origin):
        return {}
    found = {"access-control-allow-origin": "*" if "*" in cors.allow_origins else origin}
    if cors.expose_headers:
        found["access-control-expose-headers"] = ",".join(cors.expose_headers)
    if cors.allow_credentials:
        found["access-control-allow-credentials"] = "true"
    return found


def without_cors(headers: dict[str, str]) -> dict[str, str]:
    """An integration's headers without its CORS headers (API Gateway sets its own)."""
    return {k: v for k, v in headers.items() if not k.lower().startswith("access-control-")}
