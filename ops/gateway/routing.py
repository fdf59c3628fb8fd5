"""Which route a request takes, as an HTTP API chooses (API Gateway's docs, "Working with
routes for HTTP APIs": the most specific match wins: a full match of route and method, then a
match with path variables, then one with a greedy path variable; a route for the request's
method before an ANY route; the $default route when nothing else matches)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from ops.gateway.config import Route

R = TypeVar("R", bound=Route)


def _match(template: str, path: str) -> dict[str, str] | None:
    """The path parameters if `path` matches `template` ("/images/{imageId}", "/{proxy+}")."""
    wanted = template.strip("/").split("/") if template.strip("/") else []
    parts = path.strip("/").split("/") if path.strip("/") else []
    params: dict[str, str] = {}
    for i, segment in enumerate(wanted):
        if segment.startswith("{") and segment.endswith("+}"):
            rest = parts[i:]
            if not rest:
                return None
            params[segment[1:-2]] = "/".join(rest)
            return params
        if i >= len(parts):
            return None
        if segment.startswith("{") and segment.endswith("}"):
            if not parts[i]:
                return None
            params[segment[1:-1]] = parts[i]
        elif segment != parts[i]:
            return None
    return params if len(parts) == len(wanted) else None


def _specificity(route: Route, params: dict[str, str]) -> tuple[int, int, int]:
    """Lower is more specific: greedy variable last, then path variables, then ANY."""
    greedy = any(s.endswith("+}") for s in route.path.split("/"))
    return (
        2 if greedy else 1 if params else 0,
        1 if route.method == "ANY" else 0,
        -len(route.path),
    )


def choose(routes: Iterable[R], method: str, path: str) -> tuple[R, dict[str, str]] | None:
    """The route `method path` takes and its path parameters; None: no route (404)."""
    candidates = []
    default = None
    for route in routes:
        if route.key == "$default":
            default = route
            continue
        if route.method not in (method, "ANY"):
            continue
        params = _match(route.path, path)
        if params is not None:
            candidates.append((_specificity(route, params), route, params))
    if candidates:
        _, route, params = min(candidates, key=lambda c: c[0])
        return route, params
    return (default, {}) if default else None
