"""The handler source the tests package: one as the next epic writes them (moto runs functions
only in Docker, so it is never invoked)."""

from pathlib import Path

HANDLER_SOURCE = """def handler(event, context):
    return {"statusCode": 200, "body": event["pathParameters"]["imageId"]}
"""


def write_handler_source(folder: Path) -> Path:
    """`folder`/app.py with HANDLER_SOURCE (the handler "app.handler")."""
    folder.mkdir(parents=True)
    (folder / "app.py").write_text(HANDLER_SOURCE)
    return folder
