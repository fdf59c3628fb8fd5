"""CONTRIBUTING.md's "Adding a handler" block is the next epic's contract: it runs as written
(conftest.handler_stack runs it as a script), the stack it yields passes the organisation
policy during that synthesis, and Terraform accepts the result (validated with every stack of
the app: tests/stacks/test_image_service_stacks.py)."""

from __future__ import annotations

from tests.session import guide_handler_block

# The public API, line for line (issue 16): CONTRIBUTING.md must keep showing these calls.
CONTRACT = (
    "from constructs_lib.image_handler.construct import ImageHandler, ImageHandlerProps",
    'handler = ImageHandler(stack, "GetImage", ImageHandlerProps(',
    'name="image-service-dev-get-image",',
    'source_dir=Path("handlers/get_image"),',
    'handler="app.handler",',
    "stack.table.grant_read_data(handler)",
    "stack.table.grant_read_write_data(handler)",
    "stack.table.grant_stream_read(handler)",
    'stack.bucket.grant_read(handler, key_pattern="*")',
    'stack.bucket.grant_put(handler, key_pattern="*")',
    'stack.bucket.grant_delete(handler, key_pattern="*")',
    'stack.api.integrate("GET /images/{imageId}", handler)',
)


def test_the_guides_block_makes_the_contract_calls():
    lines = [line.split("#", 1)[0].strip() for line in guide_handler_block().splitlines()]
    for call in CONTRACT:
        assert call in lines, call


def test_the_block_adds_one_function_with_its_role_logs_route_and_permission(handler_stack):
    assert [
        len(handler_stack.resources(t))
        for t in (
            "aws_lambda_function",
            "aws_iam_role",
            "aws_iam_role_policy",
            "aws_cloudwatch_log_group",
            "aws_apigatewayv2_integration",
            "aws_lambda_permission",
        )
    ] == [1, 1, 1, 2, 1, 1]  # log groups: the API's access logs and the function's


def test_publishing_keeps_only_the_current_code_zips_of_the_stacks_synthesized(tmp_path):
    from stacks.cli import publish

    def zip_at(root, stack, version):
        path = root / "stacks" / stack / "assets" / "GetImage_Code" / version / "code.zip"
        path.parent.mkdir(parents=True)
        path.write_bytes(version.encode())
        return path

    scratch, outdir = tmp_path / "scratch", tmp_path / "out"
    zip_at(scratch, "image-service-dev", "NEW")
    old = zip_at(outdir, "image-service-dev", "OLD")
    other = zip_at(outdir, "image-service-staging", "KEPT")  # not synthesized this time
    publish(scratch, outdir)
    assert not old.parent.exists()
    new = outdir / "stacks/image-service-dev/assets/GetImage_Code/NEW/code.zip"
    assert new.read_bytes() == b"NEW"
    assert other.read_bytes() == b"KEPT"
