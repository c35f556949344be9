"""The ``coordination`` command line (domain commands; the web layer adds ``serve`` and ``demo``).

Each area keeps its commands in a module under ``coordination/commands/``; to add
one, import it here and append it to :data:`COMMANDS`.
"""

from __future__ import annotations

import click

from coordination.commands import analysis as analysis_commands
from coordination.commands import calendar as calendar_commands
from coordination.commands import iati as iati_commands
from coordination.commands import maintenance
from coordination.commands import results as results_commands
from coordination.commands import threew as threew_commands
from coordination.commands.database import init, load_fixtures_command
from coordination.commands.users import users

__all__ = ["COMMANDS", "cli", "main"]

COMMANDS: list[click.Command] = [
    init,
    load_fixtures_command,
    users,
    *results_commands.COMMANDS,
    *analysis_commands.COMMANDS,
    *calendar_commands.COMMANDS,
    *iati_commands.COMMANDS,
    *threew_commands.COMMANDS,
    *maintenance.COMMANDS,
]


@click.group(name="coordination", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="coordination", prog_name="coordination")
def cli() -> None:
    """Stakeholder coordination and project monitoring for development cooperation.

    The database is named by --database URL on each command, else by
    $COORDINATION_DATABASE_URL, else it is ./coordination.sqlite.
    """


for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="coordination")
