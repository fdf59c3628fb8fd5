"""python -m ops.gateway logs [FUNCTION ...] [--lines N]   the handlers' logs (`make logs`)
python -m ops.gateway status                              where it serves, if it runs
python -m ops.gateway serve ...                           the process (ops/gateway/daemon.py)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ops import local_aws
from ops.gateway import daemon, server


def logs(run_dir: Path, functions: list[str], lines: int) -> int:
    """The last `lines` lines of each handler's log (all handlers unless named)."""
    directory = run_dir / "logs"
    files = sorted(directory.glob("*.log")) if directory.is_dir() else []
    if functions:
        files = [directory / f"{name}.log" for name in functions]
    if not files:
        print(
            f"no handler has run yet ({directory} is empty): call a route with an integration "
            "through the local gateway (IMAGE_SERVICE_API_URL in .run/local-aws/env)"
        )
        return 0
    for path in files:
        if not path.is_file():
            print(f"error: no log for {path.stem} in {directory}.", file=sys.stderr)
            return 2
        print(f"==> {path.stem} ({path})")
        print("".join(path.read_text(errors="replace").splitlines(keepends=True)[-lines:]), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    shown = commands.add_parser("logs", help="print the handlers' logs")
    shown.add_argument("functions", nargs="*")
    shown.add_argument("--lines", type=int, default=200)
    shown.add_argument("--run-dir", type=Path, default=local_aws.DEFAULT_RUN_DIR)
    state = commands.add_parser("status", help="where the gateway serves")
    state.add_argument("--run-dir", type=Path, default=local_aws.DEFAULT_RUN_DIR)
    serve = commands.add_parser("serve", help=argparse.SUPPRESS)
    serve.add_argument("--run-dir", type=Path, required=True)
    serve.add_argument("--stack-dir", type=Path, required=True)
    serve.add_argument("--stage", required=True)
    serve.add_argument("--endpoint", required=True)
    serve.add_argument("--emulator-pid", type=int, required=True)
    serve.add_argument("--api-port", type=int, required=True)
    serve.add_argument("--cdn-port", type=int, required=True)
    args = parser.parse_args(argv)
    if args.command == "logs":
        return logs(args.run_dir, args.functions, args.lines)
    if args.command == "status":
        found = daemon.status(args.run_dir)
        print(
            f"API {found.api_url}, CDN {found.cdn_url} (pid {found.pid})"
            if found
            else "not running"
        )
        return 0 if found else 1
    return server.serve(args)


if __name__ == "__main__":
    sys.exit(main())
