"""Whether a synthesis in an output directory is still current, so that a command can skip it
(`make up`: ~4 s; `ops.bootstrap` run again: ~3 s).

A synthesis is current when nothing it reads changed since and its output is as it wrote it:
the key is a digest of every file git tracks or would track (`git ls-files -co
--exclude-standard`: handler folders and new modules included, outputs and caches left out by
.gitignore) in the project's folders, and of the few files at its root a synthesis reads
(SYNTHESIS_ROOT_FILES: a log written beside them, `make test > test.log`, changes nothing), of
the environment variables that change what is synthesized (this project's
IMAGE_SERVICE_* and cdktf's CDKTF_*), of what the command adds (e.g. the emulator's endpoint),
and of the output files themselves. Where git cannot list the project's files (no git, not a
work tree), nothing counts as current.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from ops.toolchain import ROOT

# The environment that changes a synthesis: the project's settings and cdktf's own switches.
ENV_PREFIXES = ("IMAGE_SERVICE_", "CDKTF_")
# The files at the project's root that a synthesis reads: the app's entry and configuration,
# and the locks of what it imports (the provider bindings, the cdktf CLI). Every other file at
# the root (the README, a log, a note) changes no synthesis; every file in a folder may (a
# module, a handler's source).
SYNTHESIS_ROOT_FILES = ("main.py", "cdktf.json", "Pipfile.lock", "package-lock.json")


def source_files(root: Path = ROOT) -> list[Path] | None:
    """Every file git tracks or would track in root's folders, and SYNTHESIS_ROOT_FILES,
    sorted; None if git cannot say."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "-c", "-o", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    names = [name for name in listed.decode().split("\0") if name]
    return sorted({root / n for n in names if "/" in n or n in SYNTHESIS_ROOT_FILES})


def key(
    outputs: list[Path],
    extra: str = "",
    env: Mapping[str, str] | None = None,
    root: Path = ROOT,
) -> str | None:
    """The digest of the synthesis's inputs (the sources under root, the environment `env` it
    runs in, default this process's, and `extra`) and of its `outputs` (files, or directories
    whose every file counts); None if an output is missing or git cannot list the sources."""
    files = source_files(root)
    if files is None:
        return None
    env = os.environ if env is None else env
    digest = hashlib.sha256(extra.encode() + b"\0")
    for name in sorted(env):
        if name.startswith(ENV_PREFIXES):
            digest.update(f"{name}={env[name]}\0".encode())
    try:
        for path in files:
            if path.is_file():  # (a tracked file deleted in the work tree is simply gone)
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
        for output in outputs:
            found = [output] if output.is_file() else sorted(output.rglob("*"))
            found = [p for p in found if p.is_file()]
            if not found:
                return None
            for path in found:
                digest.update(path.as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()


def is_current(
    record: Path,
    outputs: list[Path],
    extra: str = "",
    env: Mapping[str, str] | None = None,
    root: Path = ROOT,
) -> bool:
    """Whether `record` holds the key of the synthesis now in `outputs`."""
    try:
        wanted = key(outputs, extra, env, root)
        return wanted is not None and record.read_text() == wanted
    except OSError:
        return False


def remember(
    record: Path,
    outputs: list[Path],
    extra: str = "",
    env: Mapping[str, str] | None = None,
    root: Path = ROOT,
) -> None:
    """Record the key of the synthesis just written into `outputs` (nothing, if none)."""
    wanted = key(outputs, extra, env, root)
    if wanted is not None:
        record.write_text(wanted)
    else:
        record.unlink(missing_ok=True)


def forget(record: Path) -> None:
    record.unlink(missing_ok=True)
