"""Runs one invocation of a handler in this process, as Lambda's Python runtime would: the event
on stdin, the handler "module.function" from _HANDLER imported from LAMBDA_TASK_ROOT, a context
object, and the result (or the error) written as JSON to the file named by
IMAGE_SERVICE_RESULT_FILE; whatever the handler prints goes to the function's log.

The function's timeout counts from the handler's call, not from the interpreter's start or the
module's import: Lambda runs those in its Init phase, limited to 10 s of its own ("Understand
the Lambda execution environment lifecycle", docs.aws.amazon.com/lambda/latest/dg/
lambda-runtime-environment.html). A handler past its timeout ends this process with
EXIT_TIMED_OUT; ops/gateway/runner.py bounds the whole process as a backstop.

Started by ops/gateway/runner.py as a script of its own (it imports nothing of the project, so
the handler sees only its folder and the interpreter's packages, as in Lambda).
"""

import importlib
import json
import os
import sys
import threading
import time
import traceback

RESULT_FILE = "IMAGE_SERVICE_RESULT_FILE"
# Beside the result: when the handler was called (seconds since the epoch), the end of Init.
CALLED_SUFFIX = ".called"
TIMEOUT_SECONDS = "IMAGE_SERVICE_TIMEOUT_SECONDS"
# The exit status of a handler stopped at its timeout (timeout(1)'s).
EXIT_TIMED_OUT = 124


class Context:
    """What Lambda's Python runtime passes as `context`."""

    def __init__(self, deadline_ms: int) -> None:
        env = os.environ
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = env.get("IMAGE_SERVICE_FUNCTION_ARN", "")
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = env.get("IMAGE_SERVICE_REQUEST_ID", "")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _write(payload: dict[str, object]) -> None:
    path = os.environ[RESULT_FILE]
    with open(path + ".tmp", "w") as out:
        json.dump(payload, out)
    os.replace(path + ".tmp", path)


def _stop_at_timeout(seconds: float) -> None:
    """From the handler's call on: end the process once it has run `seconds`."""

    def timed_out() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_TIMED_OUT)

    timer = threading.Timer(seconds, timed_out)
    timer.daemon = True
    timer.start()


def main() -> int:
    event = json.load(sys.stdin)
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    timeout = float(os.environ[TIMEOUT_SECONDS])
    try:
        module = importlib.import_module(module_name.replace("/", "."))  # the Init phase
        handler = getattr(module, function_name)
        called = time.time()
        with open(os.environ[RESULT_FILE] + CALLED_SUFFIX, "w") as out:
            out.write(repr(called))
        deadline_ms = int((called + timeout) * 1000)
        _stop_at_timeout(timeout)
        result = handler(event, Context(deadline_ms))
        try:
            text = json.dumps({"result": result})
        except (TypeError, ValueError) as exc:
            raise TypeError(f"Unable to marshal response: {exc}") from None
    except Exception as exc:  # the runtime reports any error of the handler as its result
        trace = traceback.format_exception(type(exc), exc, exc.__traceback__)
        print(f"[ERROR] {type(exc).__name__}: {exc}", file=sys.stderr)
        print("".join(trace), file=sys.stderr, end="")
        _write(
            {
                "error": {
                    "errorMessage": str(exc),
                    "errorType": type(exc).__name__,
                    "stackTrace": trace,
                }
            }
        )
        return 0
    sys.stdout.flush()
    _write(json.loads(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
