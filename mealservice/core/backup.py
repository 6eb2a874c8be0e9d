"""Backing up and restoring a SQLite database while the service runs.

Both directions go through SQLite's online backup API, which copies the database as one
read transaction sees it: a backup is a consistent snapshot even while cashiers scan,
and a restore lands as one write transaction, so a reader sees the old database or the
new one, never half of each. PostgreSQL has its own tools (pg_dump, pg_restore).

A backup holds the elders' names, phones and addresses: it is written readable by its
owner only. The ID numbers in it stay encrypted under ELDER_DATA_KEY, so the backup is
only useful with the secrets of the installation that made it."""

import os
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

SQLITE_HEADER = b"SQLite format 3\x00"

POSTGRESQL_ADVICE = (
    "The configured database is PostgreSQL; back it up with pg_dump "
    "(e.g. `pg_dump -Fc -f mealservice.dump DBNAME`) and restore it with pg_restore "
    "(e.g. `pg_restore --clean --if-exists -d DBNAME mealservice.dump`)."
)


class BackupRefused(Exception):
    """Why nothing was written, in a sentence for the person at the command line."""


@dataclass(frozen=True)
class Copied:
    database: Path
    file: Path
    revision: str
    size: int
    seconds: float


def sqlite_file(database_uri: str, must_exist: bool = True) -> Path:
    """The file of the configured SQLite database; BackupRefused for anything else."""
    url = make_url(database_uri)
    if url.get_backend_name() == "postgresql":
        raise BackupRefused(POSTGRESQL_ADVICE)
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(f"Only SQLite databases are backed up here, not {url.drivername}.")
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupRefused("The configured SQLite database is not a plain file.")
    path = Path(url.database).resolve()
    if must_exist and not path.is_file():
        raise BackupRefused(f"There is no database at {path}.")
    if not path.parent.is_dir():
        raise BackupRefused(f"There is no directory {path.parent}.")
    return path


def _open(path: Path, mode: str, timeout_s: float = 5.0) -> sqlite3.Connection:
    # mode=rw and mode=ro never create a file, unlike a plain connect().
    return sqlite3.connect(
        f"{path.as_uri()}?mode={mode}", uri=True, timeout=timeout_s, isolation_level=None
    )


def backup(database_uri: str, target: Path, timeout_s: float = 30.0) -> Copied:
    """Copy the live database to `target` (replaced when it exists), as one snapshot."""
    started = time.monotonic()
    source = sqlite_file(database_uri)
    target = Path(target).resolve()
    if target == source:
        raise BackupRefused("The backup cannot be written over the database itself.")
    if not target.parent.is_dir():
        raise BackupRefused(f"There is no directory {target.parent}.")
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    _create_private(partial)
    try:
        with closing(_open(source, "rw", timeout_s)) as live, closing(_open(partial, "rw")) as copy:
            # One step (pages=-1): the whole copy under one read transaction, which WAL
            # lets writers work beside; stepwise copies restart whenever they write.
            live.backup(copy)
            # A self-contained file: the live database's WAL mode is not carried over.
            copy.execute("PRAGMA journal_mode=DELETE")
            revision = _revision(copy)
        _flush(partial)
        os.replace(partial, target)
        _flush(target.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Copied(source, target, revision, target.stat().st_size, time.monotonic() - started)


def restore(
    database_uri: str,
    backup_file: Path,
    head: str,
    check_keys: Callable[[sqlite3.Connection], None] | None = None,
    confirm: Callable[[Path], None] | None = None,
    timeout_s: float = 30.0,
) -> Copied:
    """Replace the live database's content with `backup_file`'s, in one transaction.

    Refused, with nothing changed, unless the file is a sound mealservice database at
    the migration revision `head` (this code's) and, when given, `check_keys` accepts it.
    `confirm(live_file)` is called once the backup has passed, before anything is written
    (it raises to stop)."""
    started = time.monotonic()
    # A new installation may restore before it ever ran `flask db upgrade`.
    live_path = sqlite_file(database_uri, must_exist=False)
    backup_file = Path(backup_file).resolve()
    if not backup_file.is_file():
        raise BackupRefused(f"There is no file {backup_file}.")
    if backup_file == live_path:
        raise BackupRefused("That is the live database itself.")
    with backup_file.open("rb") as stream:
        if stream.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupRefused(f"{backup_file} is not a SQLite database.")
    with closing(_open(backup_file, "ro", timeout_s)) as copy:
        try:
            sound = copy.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        except sqlite3.DatabaseError as error:
            raise BackupRefused(f"{backup_file} cannot be read: {error}.") from None
        if not sound:
            raise BackupRefused(f"{backup_file} is damaged (PRAGMA quick_check failed).")
        revision = _revision(copy)
        if revision is None:
            raise BackupRefused(
                f"{backup_file} is not a mealservice database: it has no migration history "
                "(no alembic_version table)."
            )
        if revision != head:
            raise BackupRefused(
                f"{backup_file} is at migration revision {revision}, this code at {head}. "
                "Restore it with the release that made it (and then upgrade), or back up "
                "again after `flask db upgrade`."
            )
        if check_keys is not None:
            check_keys(copy)
        if confirm is not None:
            confirm(live_path)
        if not live_path.exists():
            _create_private(live_path)
        with closing(_open(live_path, "rw", timeout_s)) as live:
            try:
                copy.backup(live)
            except sqlite3.Error as error:
                raise BackupRefused(f"The database could not be replaced: {error}.") from None
    return Copied(
        live_path, backup_file, revision, backup_file.stat().st_size, time.monotonic() - started
    )


def _create_private(path: Path) -> None:
    # Readable by its owner only, before SQLite writes anything into it.
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _revision(connection: sqlite3.Connection) -> str | None:
    try:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.OperationalError:
        return None
    return "+".join(sorted(row[0] for row in rows)) or None


def _flush(path: Path) -> None:
    """To the disk, so a crash right after cannot leave a renamed but empty file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def elder_data_key_check(decrypt: Callable[[str], str]) -> Callable[[sqlite3.Connection], None]:
    """A `check_keys` that decrypts one ID number of the backup with this installation's
    ELDER_DATA_KEY: a backup from an installation with other secrets is refused, since
    none of its ID numbers could be read here."""

    def check(connection: sqlite3.Connection) -> None:
        row = connection.execute("SELECT id_number_encrypted FROM elders LIMIT 1").fetchone()
        if row is None:
            return
        try:
            decrypt(row[0])
        except Exception:
            raise BackupRefused(
                "The backup's ID numbers were encrypted under another ELDER_DATA_KEY: restore "
                "it with the secrets of the installation that made it (the environment or "
                "instance/secrets.json)."
            ) from None

    return check
