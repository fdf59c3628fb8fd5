"""Every stack the project has, in one app: the stages' and their accounts' state stacks
(`build_app`), and what `ops.bootstrap previews` and `ops.bootstrap dns` apply besides (no
stage names them): the previews account's state stack and the DNS account's delegation roles.
The session's `stacks` fixture and the golden copies (tests/stacks/test_golden_json.py) are
both this app, synthesized."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def build_all(outdir: Path, stages: list[Any] | None = None) -> Any:
    from stacks.app import add_dns_bootstrap, add_state_bootstrap, build_app
    from stacks.settings.accounts import DNS, PREVIEWS, account_setup

    app = build_app(stages, outdir=str(outdir))
    add_state_bootstrap(app, account_setup(PREVIEWS))
    add_dns_bootstrap(app, account_setup(DNS))
    return app
