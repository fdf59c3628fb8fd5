"""The handler sources the tests package and the local gateway runs (moto runs no function
without Docker; ops/gateway runs them from these folders)."""

from pathlib import Path

HANDLER_SOURCE = """def handler(event, context):
    return {"statusCode": 200, "body": event["pathParameters"]["imageId"]}
"""

# POST /images: where the browser uploads an image (a presigned PUT for a new key of the signed
# -in user), as the next epic's upload handler will answer.
UPLOAD_HANDLER_SOURCE = """import json
import os
import uuid

import boto3
from botocore.config import Config

# SigV4, as S3 requires outside its oldest regions, and as a browser's CORS preflight needs on
# the emulator (a SigV2 URL puts content-type in its query, which moto checks on the preflight).
S3 = boto3.client("s3", config=Config(signature_version="s3v4"))


def handler(event, context):
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    key = f"images/{uuid.uuid4().hex}.png"
    url = S3.generate_presigned_url(
        "put_object",
        Params={"Bucket": os.environ["BUCKET_NAME"], "Key": key, "ContentType": "image/png"},
        ExpiresIn=300,
    )
    body = {"key": key, "uploadUrl": url, "user": claims.get("username", claims.get("sub"))}
    return {"statusCode": 201, "headers": {"content-type": "application/json"},
            "body": json.dumps(body)}
"""

# The 1x1 PNG the behaviours handler answers ?behave=binary with.
BEHAVIOURS_PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQ"
    "DwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

# GET /images: one handler for each way a function can answer, chosen by ?behave=...; by
# default it answers with the event it got (the gateway's tests read every payload field).
BEHAVIOURS_HANDLER_SOURCE = (
    """import base64
import json
import os
import sys
import time

PNG = base64.b64decode("""
    + repr(BEHAVIOURS_PNG_BASE64)
    + """)


def handler(event, context):
    behave = (event.get("queryStringParameters") or {}).get("behave", "echo")
    print(f"behaving: {behave}")
    if behave == "crash":
        raise RuntimeError("the handler failed on purpose")
    if behave == "exit":
        sys.stdout.flush()
        os._exit(7)
    if behave == "sleep":
        time.sleep(float(event["queryStringParameters"]["seconds"]))
        return {"statusCode": 200, "body": "woke up"}
    if behave == "binary":
        return {"statusCode": 200, "headers": {"content-type": "image/png"},
                "body": base64.b64encode(PNG).decode(), "isBase64Encoded": True}
    if behave == "bare":
        return {"hello": "world"}
    if behave == "string":
        return "just a string"
    if behave == "cookies":
        return {"statusCode": 200, "cookies": ["a=1; Path=/", "b=2; Secure"],
                "headers": {"x-answer": "42", "Access-Control-Allow-Origin": "https://evil.example"},
                "body": "with cookies"}
    if behave == "invalid":
        return {"statusCode": "teapot"}
    if behave == "remaining":
        return {"remaining": context.get_remaining_time_in_millis(), "name": context.function_name,
                "region": os.environ["AWS_REGION"], "endpoint": os.environ["AWS_ENDPOINT_URL"],
                "profile": os.environ.get("AWS_PROFILE"), "greeting": os.environ.get("GREETING")}
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(event)}
"""
)


def write_handler_source(folder: Path, source: str = HANDLER_SOURCE) -> Path:
    """`folder`/app.py with `source` (the handler "app.handler")."""
    folder.mkdir(parents=True)
    (folder / "app.py").write_text(source)
    return folder
