"""Every command answers --help, in both the domain CLI and the full console script."""

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from admin.cli import build_cli
from coordination.cli import COMMANDS, cli


def _paths(group, prefix=()):
    yield prefix
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


FULL = build_cli()


@pytest.mark.parametrize("path", list(_paths(FULL)), ids=lambda p: " ".join(p) or "coordination")
def test_every_command_has_help(path):
    result = CliRunner().invoke(FULL, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")
    assert "Traceback" not in result.output


def test_the_full_cli_is_the_domain_cli_plus_the_web_commands():
    assert set(FULL.commands) == set(cli.commands) | {"serve", "demo"}
    assert {c.name for c in COMMANDS} == set(cli.commands)
    assert "serve" not in cli.commands  # the domain CLI knows nothing of the web


def test_python_dash_m_coordination_runs_the_domain_cli():
    result = subprocess.run(
        [sys.executable, "-m", "coordination", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "load-fixtures" in result.stdout
    assert "serve" not in result.stdout
