"""The environment every project command runs Terraform and the cdktf CLI in, and its checks."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from stacks.errors import ToolchainError

ROOT = Path(__file__).resolve().parent.parent
PROJECT_TF_CLI_CONFIG = ROOT / "terraform" / "cli.tfrc"
# Lets a test or an unusual machine use another CLI config; normally unset.
TF_CLI_CONFIG_ENV = "IMAGE_SERVICE_TF_CLI_CONFIG"
PROVIDER = ("registry.terraform.io", "hashicorp", "aws")
PROVIDER_VERSION = "5.100.0"
CDKTF_BIN = ROOT / "node_modules" / ".bin" / "cdktf"
RUN_DIR = ROOT / ".run"
GO_GC_PERCENT = "400"


def tf_cli_config() -> Path:
    return Path(os.environ.get(TF_CLI_CONFIG_ENV) or PROJECT_TF_CLI_CONFIG)


def project_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """os.environ plus what Terraform, cdktf and jsii need to run offline and quietly."""
    env = dict(os.environ)
    env.update({
        "TF_CLI_CONFIG_FILE": str(tf_cli_config()),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        # cdktf would point TF_PLUGIN_CACHE_DIR at ~/.terraform.d; we set a project-local one.
        "CDKTF_DISABLE_PLUGIN_CACHE_ENV": "1",
        # The CLI otherwise checks npm for a newer release on every run.
        "DISABLE_VERSION_CHECK": "1",
    })
    # Terraform and the AWS provider are Go programs whose runs are short and whose CPU goes
    # largely into building the provider's schema at every start; collecting garbage 4x less
    # often cuts their CPU by ~15% (4 re-plans of image-service-local: 20.2-22.4 -> 17.7 CPU-s)
    # for more memory (bench: peak RSS of a re-plan 220 -> 380 MB). A GOGC the user set is kept.
    env.setdefault("GOGC", GO_GC_PERCENT)
    # A shared plugin cache makes `terraform init` of each stack a link, not a copy.
    cache = RUN_DIR / "plugin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    env.setdefault("TF_PLUGIN_CACHE_DIR", str(cache))
    if extra:
        env.update(extra)
    return env


def mirror_path(config: Path) -> Path:
    match = re.search(r'filesystem_mirror\s*\{[^}]*?path\s*=\s*"([^"]+)"', config.read_text(), re.S)
    if not match:
        raise ToolchainError(
            f"The Terraform CLI config {config} has no filesystem_mirror path. Fix: restore "
            "terraform/cli.tfrc from git, or point it at the directory holding the AWS provider.")
    return Path(match.group(1))


def check_toolchain(need_cdktf: bool = False) -> str:
    """Terraform on PATH, the CLI config, the provider in its mirror; returns terraform's path."""
    terraform = shutil.which("terraform")
    if terraform is None:
        raise ToolchainError(
            "terraform was not found on PATH (looked in: " + os.environ.get("PATH", "") + "). "
            "Fix: install Terraform 1.11 (a single binary) into a PATH directory, e.g. "
            "/usr/local/bin, and run the command again.")
    config = tf_cli_config()
    if not config.is_file():
        raise ToolchainError(
            f"The Terraform CLI config {config} does not exist. Fix: restore "
            "terraform/cli.tfrc from git (or unset " + TF_CLI_CONFIG_ENV + ").")
    mirror = mirror_path(config)
    provider_dir = mirror.joinpath(*PROVIDER, PROVIDER_VERSION)
    if not any(provider_dir.glob("*/terraform-provider-aws_v*")):
        raise ToolchainError(
            f"The AWS provider {PROVIDER_VERSION} was not found in the filesystem mirror: looked "
            f"for {provider_dir}/<os_arch>/terraform-provider-aws_v{PROVIDER_VERSION}_x5 "
            f"(mirror path from {config}). The public registry is unreachable from here. Fix: "
            "put hashicorp/aws 5.100.0 in that mirror, or change the mirror path in the CLI "
            "config.")
    if need_cdktf and not CDKTF_BIN.exists():
        raise ToolchainError(
            f"The cdktf CLI was not found at {CDKTF_BIN}. Fix: run `make deps` (npm ci).")
    return terraform


def start_synthesis(outdir: Path, env: dict[str, str]) -> subprocess.Popen:
    """`python main.py` into `outdir`, running (its errors go to the terminal)."""
    return subprocess.Popen([sys.executable, "main.py"], cwd=ROOT,
                            env=dict(env, CDKTF_OUTDIR=str(outdir)))


def synthesize(outdir: Path, env: dict[str, str]) -> int:
    """`python main.py` into `outdir` (its errors go to the terminal); returns its exit code."""
    return start_synthesis(outdir, env).wait()


def terraform(cwd: Path, *args: str, env: dict[str, str] | None = None, check: bool = True,
              capture: bool = True) -> subprocess.CompletedProcess:
    """Run terraform in `cwd` with the project environment.

    check=True raises ToolchainError carrying Terraform's own message; capture=False streams
    Terraform's output to the terminal instead of returning it.
    """
    proc = subprocess.run(["terraform", *args], cwd=cwd, env=env or project_env(), text=True,
                          capture_output=capture)
    if check and proc.returncode != 0:
        detail = ((proc.stderr or "").strip() or (proc.stdout or "").strip()) if capture else ""
        raise ToolchainError(f"terraform {' '.join(args)} failed in {cwd}"
                             + (f":\n{detail}" if detail else " (see its output above)"))
    return proc
