"""The distribution's responses, as the real stages' CDN answers a viewer: GET and HEAD of the
bucket's objects (the origin through Origin Access Control: a missing key is S3's 403, as the
CDN may not list the bucket), with S3's content type, length, ETag and Last-Modified, ranges,
and the response headers policy's CORS for allowed origins and security headers
(constructs_lib/image_cdn/props.py: the same values the policy is built from). Every other
method is refused, as the distribution allows GET and HEAD only.

Not emulated: TLS and the HTTP→HTTPS redirect, edge caching (every request reaches the bucket),
the custom domain and the WAF. The emulator's own distribution serves nothing and carries
AWS's managed security-headers policy (moto has no response-headers-policy API), so the CORS
origins come from the stage's settings (`cdn.cors_origins`), as the real stages' policy does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from constructs_lib.image_cdn.props import CORS_METHODS, SECURITY_HEADERS
from ops.gateway.payload import Response

ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied</Message></Error>"
)
METHOD_NOT_ALLOWED = b"This distribution is not configured to allow the HTTP request method"
# S3's headers a viewer gets through CloudFront.
PASSED_HEADERS = {
    "ContentType": "content-type",
    "ETag": "etag",
    "LastModified": "last-modified",
    "CacheControl": "cache-control",
    "ContentEncoding": "content-encoding",
    "ContentRange": "content-range",
}


@dataclass(frozen=True)
class Cdn:
    bucket: str
    cors_origins: tuple[str, ...]
    s3: Any

    def _policy_headers(self, origin: str) -> dict[str, str]:
        headers = dict(SECURITY_HEADERS)
        if origin and (origin in self.cors_origins or "*" in self.cors_origins):
            headers["access-control-allow-origin"] = origin
            headers["vary"] = "Origin"
        return headers

    def serve(self, method: str, path: str, headers: dict[str, str]) -> Response:
        policy = self._policy_headers(headers.get("origin", ""))
        if method not in CORS_METHODS:
            return Response(403, {**policy, "content-type": "text/plain"}, [], METHOD_NOT_ALLOWED)
        key = unquote(path.split("?", 1)[0].lstrip("/"))
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if "range" in headers and method == "GET":
            request["Range"] = headers["range"]
        from botocore.exceptions import ClientError

        try:
            found = (self.s3.get_object if method == "GET" else self.s3.head_object)(**request)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound", "AccessDenied", "403"):
                body = ACCESS_DENIED if method == "GET" else b""
                return Response(403, {**policy, "content-type": "application/xml"}, [], body)
            raise
        status = 206 if "ContentRange" in found else 200
        passed = {
            name: _header(found[field]) for field, name in PASSED_HEADERS.items() if field in found
        }
        body = found["Body"].read() if method == "GET" else b""
        length = str(len(body)) if method == "GET" else str(found.get("ContentLength", 0))
        return Response(
            status,
            {**passed, **policy, "content-length": length, "accept-ranges": "bytes"},
            [],
            body,
        )


def _header(value: Any) -> str:
    if hasattr(value, "strftime"):
        return str(value.strftime("%a, %d %b %Y %H:%M:%S GMT"))
    return str(value)
