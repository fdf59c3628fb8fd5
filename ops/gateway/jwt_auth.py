"""The JWT authorizer, as API Gateway's for HTTP APIs (its docs, "Controlling access to HTTP APIs
with JWT authorizers"): the token from the identity source (`Authorization`, with or without
"Bearer "), its signature checked against the issuer's JWKS, then the issuer, the audience
(`aud`, or `client_id` for an access token, in the authorizer's audience), expiry and
not-before; the route's scopes against `scope`/`scp`. A missing or invalid token is 401
{"message":"Unauthorized"}; a token without a required scope 403 {"message":"Forbidden"}.

Keys come only from the emulator: an issuer of Cognito's form
(https://cognito-idp.<region>.amazonaws.com/<pool id>) is looked up at the emulator's
<endpoint>/<pool id>/.well-known/jwks.json (moto's cognitoidp/urls.py); any other issuer is
refused, so no request leaves the machine. PyJWT does the cryptography.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import jwt

from ops.gateway.config import Authorizer

COGNITO_ISSUER = re.compile(r"^https://cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/([\w-]+)$")
ALGORITHMS = ["RS256"]


class Unauthorized(Exception):
    """401 {"message":"Unauthorized"}: `description` says why (the gateway's log)."""

    status = 401
    message = "Unauthorized"

    def __init__(self, description: str, error: str = "invalid_token"):
        super().__init__(description)
        self.description, self.error = description, error

    def www_authenticate(self) -> str:
        description = self.description.replace('"', "'")
        return f'Bearer scope="" error="{self.error}" error_description="{description}"'


class Forbidden(Unauthorized):
    status = 403
    message = "Forbidden"


def token_from(headers: dict[str, str], authorizer: Authorizer) -> str | None:
    """The token in the authorizer's identity source (a header), "Bearer " prefix removed."""
    for source in authorizer.identity_source:
        if source.startswith("$request.header."):
            value = headers.get(source.split(".", 2)[2].lower(), "").strip()
            if value:
                return value[7:].strip() if value[:7].lower() == "bearer " else value
    return None


class JwtValidator:
    """Checks tokens against the emulator's Cognito pools (keys cached per pool)."""

    def __init__(self, emulator_endpoint: str):
        self.endpoint = emulator_endpoint
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._lock = threading.Lock()

    def _keys(self, issuer: str) -> jwt.PyJWKClient:
        found = COGNITO_ISSUER.match(issuer)
        if not found:
            raise Unauthorized(
                f"the issuer {issuer} is not a Cognito user pool; the local gateway fetches "
                "keys only from the emulator's pools"
            )
        with self._lock:
            if issuer not in self._clients:
                url = f"{self.endpoint}/{found.group(2)}/.well-known/jwks.json"
                self._clients[issuer] = jwt.PyJWKClient(url, cache_keys=True)
            return self._clients[issuer]

    def claims(
        self, headers: dict[str, str], authorizer: Authorizer, scopes: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The token's claims if API Gateway would let it through; else Unauthorized."""
        token = token_from(headers, authorizer)
        if not token:
            raise Unauthorized("no token in the identity source", error="invalid_request")
        try:
            key = self._keys(authorizer.issuer).get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                issuer=authorizer.issuer,
                options={"verify_aud": False, "require": ["exp", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("the token is not valid yet (nbf)") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized(f"the token's issuer is not {authorizer.issuer}") from None
        except jwt.PyJWKClientError as exc:
            raise Unauthorized(f"no key of the issuer signed the token ({exc})") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the token is invalid ({exc})") from None
        _check_audience(claims, authorizer)
        _check_scopes(claims, scopes)
        return claims


def _check_audience(claims: dict[str, Any], authorizer: Authorizer) -> None:
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else list(aud or [])
    if "client_id" in claims and not audiences:
        audiences = [claims["client_id"]]
    if not set(audiences) & set(authorizer.audience):
        raise Unauthorized("the token's audience (aud or client_id) is not the API's")


def _check_scopes(claims: dict[str, Any], scopes: tuple[str, ...]) -> None:
    if not scopes:
        return
    raw = claims.get("scope", claims.get("scp", ""))
    held = raw.split() if isinstance(raw, str) else list(raw)
    if not set(held) & set(scopes):
        raise Forbidden(
            f"the token has none of the route's scopes ({' '.join(scopes)})",
            error="insufficient_scope",
        )
