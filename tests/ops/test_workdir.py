"""Who holds a stack's state lock on the emulator: the Terraform CLI running in its directory,
not the provider plugins it starts there (they outlive a killed CLI for a moment: a `make up`
right after a kill -9 saw one and kept the dead run's lock)."""

from __future__ import annotations

import shutil
import subprocess

from ops.workdir import lock_holders
from tests.wait import wait_until


def _run_as(name: str, folder, bin_dir) -> subprocess.Popen[bytes]:
    """`sleep` started under the executable name `name`, working in `folder`."""
    program = bin_dir / name
    program.symlink_to(shutil.which("sleep"))
    return subprocess.Popen([str(program), "30"], cwd=folder)


def test_the_cli_holds_the_lock_and_a_provider_plugin_does_not(tmp_path):
    stack, bin_dir = tmp_path / "stack", tmp_path / "bin"
    stack.mkdir()
    bin_dir.mkdir()
    plugin = _run_as("terraform-provider-aws_v5.100.0_x5", stack, bin_dir)
    cli = _run_as("terraform", stack, bin_dir)
    try:
        wait_until(lambda: lock_holders(stack) == [cli.pid], "the CLI counted")
        assert plugin.poll() is None  # running there all along, never counted
        cli.kill()
        cli.wait()
        assert lock_holders(stack) == []
    finally:
        for process in (plugin, cli):
            process.kill()
            process.wait()
