"""Command-line verbs: `flask --app wsgi seed-demo`, `create-user`, `cards print`,
`scheduler`, `backup`, `restore`."""

import sqlite3
import sys
from pathlib import Path

import click
from flask import Flask, current_app

from mealservice.core.audit import acting
from mealservice.core.auth import Role
from mealservice.core.db import db
from mealservice.core.errors import ApiError
from mealservice.core.scheduler import JobRun  # noqa: F401 (its table is part of the schema)


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_user_command)
    app.cli.add_command(cards_group)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("seed-demo")
def seed_demo():
    """Load the demo district (idempotent) and print its logins."""
    from mealservice import demo

    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("seed-demo loads known passwords; it never runs in production.")
    with acting("seed-demo"):
        logins = demo.seed()
        db.session.commit()
    click.echo("Demo district 杭州市西湖区 (330106) is loaded. Logins:")
    for login in logins:
        click.echo(f"  {login['role']:<9} {login['username']:<10} {login['password']}")


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--district", default=None, help="district code, for officials and inspectors")
@click.option("--canteen-id", type=int, default=None, help="for managers, cashiers, volunteers")
@click.option("--elder-id", "elder_ids", type=int, multiple=True, help="for family and elders")
def create_user_command(username, role, password, district, canteen_id, elder_ids):
    """Create an account."""
    from mealservice.accounts.services import create_user

    if len(password) < 8:
        raise click.BadParameter("use at least 8 characters", param_hint="--password")
    try:
        user = create_user(
            None,
            username=username,
            password=password,
            role=role,
            district=district,
            canteen_id=canteen_id,
            elder_ids=list(elder_ids),
        )
    except ApiError as error:
        db.session.rollback()
        details = "; ".join(f"{f}: {' '.join(r)}" for f, r in (error.fields or {}).items())
        raise click.ClickException(f"{error.message} {details}".strip()) from None
    db.session.commit()
    click.echo(f"Created {role} {user.username} (id {user.id}).")


@click.group("cards")
def cards_group():
    """Elder cards."""


@cards_group.command("print")
@click.option("--community", "code", required=True, help="community code")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="the PDF to write [default: cards-<community>.pdf]",
)
def print_cards_command(code, output):
    """Write a PDF of the current cards of a community's active elders, 8 to an A4 page."""
    from mealservice.elders import printing

    community = printing.find_community(code)
    if community is None:
        raise click.ClickException(f"No community with the code {code}.")
    total = printing.count_printable_cards(community)
    if total == 0:
        raise click.ClickException(
            f"{community.name} ({code}) has no elder with a current card (active, newest "
            "card, not revoked, not expired); no PDF was written."
        )
    output = output or f"cards-{code}.pdf"
    cards = printing.printable_cards(community)
    label = f"{community.name} ({code})"
    try:
        # The bar on stderr, so the summary line on stdout is all a script has to read.
        with (
            printing.replaced_on_success(output) as stream,
            click.progressbar(length=total, label=label, file=sys.stderr) as bar,
        ):
            drawn = printing.write_cards_pdf(cards, stream, bar.update)
    except OSError as error:
        raise click.ClickException(f"Cannot write {output}: {error.strerror or error}.") from None
    pages = -(-drawn // printing.CARDS_PER_PAGE)
    click.echo(f"Wrote {drawn} cards on {pages} page{'s' * (pages != 1)} to {output}.")


@click.command("scheduler")
@click.option(
    "--every",
    type=click.IntRange(1, 59),
    default=None,
    metavar="SECONDS",
    help="fire every job at every N-th second of the clock instead of its own schedule "
    "(tests, trying things out)",
)
@click.option(
    "--run-for",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="stop after this long [default: run until stopped]",
)
def scheduler_command(every, run_for):
    """Run the timed work (the JOBS table of mealservice/core/scheduler.py) until stopped.

    One process per deployment, never inside the web workers. A second copy started by
    mistake does no harm: each run is claimed in the job_runs table, and a copy that
    finds a run claimed skips it."""
    from mealservice.core import logs, scheduler

    # The web workers' configuration (LOG_FORMAT), unless the root logger has one already.
    logs.configure_logging(logs.log_format_of(current_app))
    scheduler.run(current_app._get_current_object(), every=every, run_for=run_for)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path):
    """Copy the SQLite database to PATH, as one consistent snapshot, while the service runs.

    PATH is replaced when it exists and is made readable by its owner only: it holds
    personal data. PostgreSQL is backed up with pg_dump."""
    from mealservice.core import backup

    try:
        copied = backup.backup(
            current_app.config["SQLALCHEMY_DATABASE_URI"],
            path,
            current_app.config["SQLITE_BUSY_TIMEOUT_S"],
        )
    except backup.BackupRefused as refusal:
        raise click.ClickException(str(refusal)) from None
    except (OSError, sqlite3.Error) as error:
        raise click.ClickException(f"The backup failed: {error}.") from None
    click.echo(
        f"Backed up {copied.database} (revision {copied.revision}) to {copied.file}: "
        f"{copied.size / 2**20:.1f} MiB in {copied.seconds:.1f} s."
    )


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="replace the database without asking")
def restore_command(path: Path, yes: bool):
    """Replace the SQLite database's content with the backup at PATH.

    Refused unless PATH is a sound mealservice database at this code's migration
    revision whose ID numbers this installation's ELDER_DATA_KEY can read. The change
    lands as one transaction; stop the scheduler first, and expect the service's users
    to see the backup's data from their next request. PostgreSQL is restored with
    pg_restore."""
    from mealservice.core import backup
    from mealservice.core.health import migration_head
    from mealservice.elders.protection import decrypt_id_number

    uri = current_app.config["SQLALCHEMY_DATABASE_URI"]

    def confirm(live: Path) -> None:
        if not yes:
            click.confirm(f"Replace everything in {live} with {path}?", abort=True)

    try:
        restored = backup.restore(
            uri,
            path,
            migration_head(),
            check_keys=backup.elder_data_key_check(decrypt_id_number),
            confirm=confirm,
            timeout_s=current_app.config["SQLITE_BUSY_TIMEOUT_S"],
        )
    except backup.BackupRefused as refusal:
        raise click.ClickException(f"{refusal} Nothing was changed.") from None
    except (OSError, sqlite3.Error) as error:
        raise click.ClickException(f"The restore failed: {error}.") from None
    # This process's pooled connections knew the old database.
    db.engine.dispose()
    click.echo(
        f"Restored {restored.database} from {restored.file} (revision {restored.revision}) "
        f"in {restored.seconds:.1f} s."
    )
