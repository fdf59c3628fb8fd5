"""ImageHandler: a Lambda function with its own role, log group and reproducible code zip.

Most assertions read the dev stack after CONTRIBUTING.md's "Adding a handler" block ran on it as
written (conftest.handler_stack)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from tests.handler_source import write_handler_source

FUNCTION = "GetImage_Function_5855F462"
ROLE = "GetImage_Role_6A66FEEF"
LOG_GROUP = "GetImage_LogGroup_B79BF778"
ROLE_POLICY = "GetImage_Policy_A9B52A95"


@pytest.fixture(scope="module")
def function(handler_stack) -> dict:
    return handler_stack.resources("aws_lambda_function")[FUNCTION]


def test_the_function_gets_the_documented_defaults(function):
    assert function["function_name"] == "image-service-dev-get-image"
    assert function["handler"] == "app.handler"
    assert (function["runtime"], function["architectures"]) == ("python3.12", ["x86_64"])
    assert (function["memory_size"], function["timeout"]) == (256, 10)
    assert "reserved_concurrent_executions" not in function
    assert function["role"] == f"${{aws_iam_role.{ROLE}.arn}}"
    # Created after its log group and permissions, so its first logs land where it may write.
    assert function["depends_on"] == [
        f"aws_cloudwatch_log_group.{LOG_GROUP}",
        f"aws_iam_role_policy.{ROLE_POLICY}",
    ]


def test_the_stack_tells_the_function_where_the_data_lives(function):
    assert function["environment"]["variables"] == {
        "TABLE_NAME": "${aws_dynamodb_table.MetadataTable_62E6394A.name}",
        "BUCKET_NAME": "${aws_s3_bucket.ImageBucket_EBEB496F.bucket}",
        "CDN_DOMAIN": "cdn.images-dev.lego-api.com",
    }


def test_the_code_is_the_source_folder_zipped_into_the_stack(handler_stack, function):
    archive = handler_stack.directory / function["filename"]
    assert function["filename"].startswith("assets/")
    with zipfile.ZipFile(archive) as z:
        assert z.namelist() == ["app.py"]
        assert b"def handler(event, context)" in z.read("app.py")
    expected = base64.b64encode(hashlib.sha256(archive.read_bytes()).digest()).decode()
    assert function["source_code_hash"] == expected


def test_the_zip_is_the_same_for_the_same_files_whatever_their_times_and_caches(tmp_path):
    from constructs_lib.image_handler.construct import package

    first = write_handler_source(tmp_path / "a")
    zip_a = package(first).read_bytes()
    (first / "__pycache__").mkdir()
    (first / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0cache")
    (first / "old.pyc").write_bytes(b"\0cache")
    os.utime(first / "app.py", (1_000_000_000, 1_000_000_000))
    assert package(first).read_bytes() == zip_a
    (first / "lib.py").write_text("X = 1\n")
    changed = package(first)
    with zipfile.ZipFile(changed) as z:
        assert z.namelist() == ["app.py", "lib.py"]
    assert changed.read_bytes() != zip_a


def test_the_role_trusts_lambda_only(handler_stack):
    role = handler_stack.resources("aws_iam_role")[ROLE]
    assert role["name"] == "image-service-dev-get-image-role"
    trust = handler_stack.data("aws_iam_policy_document")["GetImage_TrustPolicy_7EA48A44"]
    assert trust["statement"] == [
        {
            "actions": ["sts:AssumeRole"],
            "effect": "Allow",
            "principals": [{"identifiers": ["lambda.amazonaws.com"], "type": "Service"}],
        }
    ]
    assert role["assume_role_policy"] == (
        "${data.aws_iam_policy_document.GetImage_TrustPolicy_7EA48A44.json}"
    )


def test_one_inline_policy_and_it_may_write_only_its_own_logs(handler_stack):
    policy = handler_stack.resources("aws_iam_role_policy")[ROLE_POLICY]
    assert policy["role"] == f"${{aws_iam_role.{ROLE}.id}}"
    assert policy["name"] == "image-service-dev-get-image-access"
    assert len(handler_stack.resources("aws_iam_role_policy")) == 1
    assert "aws_iam_role_policy_attachment" not in handler_stack.json["resource"]
    document = handler_stack.data("aws_iam_policy_document")["GetImage_PolicyDocument_4A909F6A"]
    assert document["statement"][0] == {
        "actions": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "effect": "Allow",
        "resources": [f"${{aws_cloudwatch_log_group.{LOG_GROUP}.arn}}:*"],
        "sid": "WriteOwnLogs",
    }


def test_the_log_group_is_the_one_lambda_writes_to_with_a_retention(handler_stack):
    group = handler_stack.resources("aws_cloudwatch_log_group")[LOG_GROUP]
    assert (group["name"], group["retention_in_days"]) == (
        "/aws/lambda/image-service-dev-get-image",
        14,
    )


@pytest.fixture(scope="module")
def dev_stack():
    from cdktf import App

    from stacks.image_service_stack import ImageServiceStack
    from stacks.settings import stage_settings

    return ImageServiceStack(App(), stage_settings("dev"))


def test_every_problem_with_the_props_is_reported_at_once(dev_stack, tmp_path):
    from constructs_lib.errors import ConstructError
    from constructs_lib.image_handler.construct import ImageHandler, ImageHandlerProps

    source = write_handler_source(tmp_path / "src")
    with pytest.raises(ConstructError) as caught:
        ImageHandler(
            dev_stack,
            "Broken",
            ImageHandlerProps(
                name="x" * 60,
                source_dir=source,
                handler="main.handler",
                architecture="arm",
                memory_mb=64,
                timeout_seconds=901,
                log_retention_days=10,
                environment={"AWS_REGION": "eu-west-1", "1BAD": "x"},
            ),
        )
    message = str(caught.value)
    assert message.startswith(f"ImageHandler '{'x' * 60}': 8 problems:")
    for expected in (
        f"`name`: '{'x' * 60}' is 60 characters; its role 'xxx",
        f"`handler`: 'main.handler' needs main.py in '{source}', which has none",
        "`architecture`: 'arm' is not one Lambda offers. Fix: use x86_64 or arm64",
        "`memory_mb`: 64 is outside 128-10240",
        "`timeout_seconds`: 901 is outside 1-900",
        "`log_retention_days`: 10 is not a retention period CloudWatch Logs accepts",
        "`environment`: 'AWS_REGION' is reserved by the Lambda runtime",
        "`environment`: '1BAD' is not a variable name Lambda accepts",
    ):
        assert expected in message
    assert dev_stack.node.try_find_child("Broken") is None


def test_a_missing_source_folder_and_a_malformed_handler_are_named(dev_stack, tmp_path):
    from constructs_lib.errors import ConstructError
    from constructs_lib.image_handler.construct import ImageHandler, ImageHandlerProps

    with pytest.raises(ConstructError) as caught:
        ImageHandler(
            dev_stack,
            "Missing",
            ImageHandlerProps(name="ok", source_dir=tmp_path / "nowhere", handler="handler"),
        )
    message = str(caught.value)
    assert f"`source_dir`: '{tmp_path / 'nowhere'}' is not a folder" in message
    assert "`handler`: 'handler' is not of the form module.function" in message


def test_a_construct_error_is_one_paragraph_from_the_synth_command(tmp_path, monkeypatch, capsys):
    """What `python main.py` runs (stacks.cli.run_synth), here in this process with a handler
    whose folder is missing: exit 2, `error: ...`, no traceback, nothing written."""
    import stacks.app
    from constructs_lib.image_handler.construct import ImageHandler, ImageHandlerProps
    from stacks.cli import run_synth

    def add_handlers(stack):
        ImageHandler(
            stack,
            "H",
            ImageHandlerProps(name="h", source_dir=Path("nowhere"), handler="app.handler"),
        )

    monkeypatch.setattr(stacks.app, "add_handlers", add_handlers)
    monkeypatch.chdir(tmp_path)
    outdir = tmp_path / "out"
    monkeypatch.setenv("IMAGE_SERVICE_STAGES", "dev")
    monkeypatch.setenv("CDKTF_OUTDIR", str(outdir))
    with pytest.raises(SystemExit) as exit_:
        run_synth()
    assert exit_.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: ImageHandler 'h': `source_dir`: 'nowhere' is not a folder")
    assert "Traceback" not in stderr
    assert not outdir.exists()


def test_an_environment_variable_added_later_is_checked_too(dev_stack, tmp_path):
    from constructs_lib.errors import ConstructError
    from constructs_lib.image_handler.construct import ImageHandler, ImageHandlerProps

    handler = ImageHandler(
        dev_stack,
        "Later",
        ImageHandlerProps(
            name="later", source_dir=write_handler_source(tmp_path / "s"), handler="app.handler"
        ),
    )
    handler.add_environment("STAGE_COLOUR", "blue")
    with pytest.raises(ConstructError, match="'_HANDLER' is reserved by the Lambda runtime"):
        handler.add_environment("_HANDLER", "x")
    with pytest.raises(ConstructError, match="'AWS_REGION' is reserved by the Lambda runtime"):
        handler.add_environment("AWS_REGION", "x")
    function = json.loads(json.dumps(dev_stack.to_terraform()))["resource"]["aws_lambda_function"]
    [later] = [f for f in function.values() if f["function_name"] == "later"]
    assert later["environment"]["variables"] == {"STAGE_COLOUR": "blue"}


def test_the_real_stages_have_no_handler_yet(stage):
    """The routes stay without integrations until the next epic adds its handlers."""
    for name in ("dev", "staging", "production"):
        synth = stage(name)
        assert synth.resources("aws_lambda_function") == {}
        assert synth.resources("aws_apigatewayv2_integration") == {}
        assert all("target" not in r for r in synth.resources("aws_apigatewayv2_route").values())


def test_package_is_importable_without_the_source_being_packaged_twice(tmp_path):
    """Packaging the same folder twice reuses the zip in place (content-addressed)."""
    from constructs_lib.image_handler.construct import package

    source = write_handler_source(tmp_path / "s")
    assert package(source) == package(Path(source))
