"""The audit trail, kept by the database itself.

Every INSERT, UPDATE and DELETE on a money-bearing table, and on the accounts (who may act,
and whether they still may), writes an `audit_log` row from a trigger, so no path (an ORM
flush, a conditional UPDATE, raw SQL) can change money or access without leaving its trace. Who did it, and when, come from the application: on PostgreSQL
transaction-local settings (`mealservice.actor`, `mealservice.now`) written when each
transaction begins, on SQLite functions the connection provides (`audit_actor()`,
`audit_now()`). The time is the service's one clock (core/clock.py), never the
database's, so a test or a demo that sets the clock sees the trail it would show.

Other triggers refuse UPDATE and DELETE on the audit log, on the records of decisions, and
on a claim once it is decided. Only the database's owner can lift them (tests emptying
their tables, a benchmark loading millions of meals): `protection_lifted`.

The migration that installs all this (0010) calls the functions here with the columns it
reads from the database, so the triggers always match the tables as they stand."""

import contextlib
import contextvars

from flask import current_app, g, has_request_context
from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from mealservice.core.clock import utcnow
from mealservice.core.db import db

# The money-bearing tables and the column that names a row of each.
AUDITED = {
    "meals": "id",
    "cards": "id",
    "balances": "elder_id",
    "subsidy_policies": "id",
    "policy_tiers": "id",
    "claims": "id",
    "claim_reviews": "id",
    "claim_rejected_lines": "claim_id",
    # Not money, but who may touch it: accounts made, deactivated, reactivated, signed out.
    "users": "id",
    # A meal handed out while offline that the service refused: retried as a meal, or
    # dismissed (no meal recorded, so none claimed) by a named person with a reason.
    "refused_scans": "id",
}

# Columns kept out of the log: a password's hash is a secret, and the log is read widely.
UNLOGGED_COLUMNS = {"users": ("password_hash",)}

# Tables written many rows to a statement (a month's claims for every canteen at once): on
# PostgreSQL their INSERTs are logged by one trigger per statement, reading the rows from
# the statement's transition table, which logs exactly what the row trigger would at a
# fraction of its cost (a PL/pgSQL call per row was a tenth of the claims run at 300
# canteens). Their UPDATEs and DELETEs, one row at a time, keep the row trigger.
INSERTS_LOGGED_BY_STATEMENT = ("claims",)

# Records of decisions: never changed, never deleted.
APPEND_ONLY = ("audit_log", "claim_reviews", "claim_rejected_lines")

# Work done outside a request (the scheduler, the command line) names itself here.
acting_as: contextvars.ContextVar[str] = contextvars.ContextVar("acting_as", default="system")


@contextlib.contextmanager
def acting(name: str):
    """Name the work done outside a request (a scheduled job, a command) in the audit log."""
    token = acting_as.set(name)
    try:
        yield
    finally:
        acting_as.reset(token)


def current_actor() -> str:
    from flask import g, has_request_context, request

    if has_request_context():
        # The name, not g.user: reading an expired user would query the database from
        # inside the hook that is beginning the session's transaction.
        return g.get("audit_actor") or f"request:{request.endpoint}"
    return acting_as.get()


# Installing the triggers.


def install(bind: Connection) -> None:
    for table, key in AUDITED.items():
        install_audit_trigger(bind, table, key)
    install_protection(bind)


def install_audit_trigger(
    bind: Connection, table: str, key: str, now_sql: str = "audit_now()"
) -> None:
    """(Re)create the trigger that writes `table`'s changes to the audit log; on SQLite
    `now_sql` is the expression that dates each row."""
    if not inspect(bind).has_table(table):
        # Audited from a later revision on (refused_scans, 0023): the earlier revisions
        # that install every audited table's trigger pass it by, and that revision
        # installs it once it has made the table.
        return
    unlogged = UNLOGGED_COLUMNS.get(table, ())
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(PG_AUDIT_FUNCTION)
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS audit_{table} ON {table}")
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS audit_{table}_inserted ON {table}")
        arguments = ", ".join(f"'{name}'" for name in (key, *unlogged))
        by_row = "INSERT OR UPDATE OR DELETE"
        if table in INSERTS_LOGGED_BY_STATEMENT:
            by_row = "UPDATE OR DELETE"
            bind.exec_driver_sql(PG_AUDIT_INSERTED_FUNCTION)
            bind.exec_driver_sql(
                f"CREATE TRIGGER audit_{table}_inserted AFTER INSERT ON {table}"
                " REFERENCING NEW TABLE AS inserted"
                f" FOR EACH STATEMENT EXECUTE FUNCTION audit_inserted({arguments})"
            )
        bind.exec_driver_sql(
            f"CREATE TRIGGER audit_{table} AFTER {by_row} ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION audit_change({arguments})"
        )
        return
    columns = [
        column["name"]
        for column in inspect(bind).get_columns(table)
        if column["name"] not in unlogged
    ]

    def row(alias: str) -> str:
        return "json_object(" + ", ".join(f"'{c}', {alias}.{c}" for c in columns) + ")"

    for action, before, after, named in (
        ("insert", "NULL", row("NEW"), "NEW"),
        ("update", row("OLD"), row("NEW"), "NEW"),
        ("delete", row("OLD"), "NULL", "OLD"),
    ):
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS audit_{table}_{action}")
        bind.exec_driver_sql(
            f"CREATE TRIGGER audit_{table}_{action} AFTER {action.upper()} ON {table} BEGIN"
            " INSERT INTO audit_log (at, actor, table_name, row_key, action, before, after)"
            f" VALUES ({now_sql}, audit_actor(), '{table}',"
            f" CAST({named}.{key} AS TEXT), '{action}', {before}, {after}); END"
        )


# The trigger's first argument names the row's key column; any further ones name columns
# left out of the logged rows (UNLOGGED_COLUMNS).
PG_AUDIT_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_log (at, actor, table_name, row_key, action, before, after)
  VALUES (
    coalesce(
      nullif(current_setting('mealservice.now', true), '')::timestamp,
      timezone('utc', clock_timestamp())
    ),
    coalesce(nullif(current_setting('mealservice.actor', true), ''), 'system'),
    TG_TABLE_NAME,
    CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ->> TG_ARGV[0]
         ELSE to_jsonb(NEW) ->> TG_ARGV[0] END,
    lower(TG_OP),
    CASE WHEN TG_OP = 'INSERT' THEN NULL
         WHEN TG_NARGS > 1 THEN (to_jsonb(OLD) - TG_ARGV[1:TG_NARGS - 1])::json
         ELSE to_json(OLD) END,
    CASE WHEN TG_OP = 'DELETE' THEN NULL
         WHEN TG_NARGS > 1 THEN (to_jsonb(NEW) - TG_ARGV[1:TG_NARGS - 1])::json
         ELSE to_json(NEW) END
  );
  RETURN NULL;
END $$"""

# The same rows as audit_change() writes for each row inserted, for all the rows of one
# INSERT statement at once (INSERTS_LOGGED_BY_STATEMENT), in the order they were inserted.
PG_AUDIT_INSERTED_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_log (at, actor, table_name, row_key, action, before, after)
  SELECT
    coalesce(
      nullif(current_setting('mealservice.now', true), '')::timestamp,
      timezone('utc', clock_timestamp())
    ),
    coalesce(nullif(current_setting('mealservice.actor', true), ''), 'system'),
    TG_TABLE_NAME,
    to_jsonb(inserted) ->> TG_ARGV[0],
    'insert',
    NULL,
    CASE WHEN TG_NARGS > 1 THEN (to_jsonb(inserted) - TG_ARGV[1:TG_NARGS - 1])::json
         ELSE to_json(inserted) END
  FROM inserted;
  RETURN NULL;
END $$"""

PG_REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'insufficient_privilege';
END $$"""

PG_REFUSE_DECIDED_ANOMALY_FUNCTION = """
CREATE OR REPLACE FUNCTION refuse_change_of_decided_claim() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT status FROM claims WHERE id = OLD.claim_id) <> 'submitted' THEN
    RAISE EXCEPTION 'the anomalies of a decided claim are final'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$"""

APPEND_ONLY_MESSAGE = "{table} is append-only: rows are never changed or deleted"
DECIDED_MESSAGE = "a decided claim is final"


def protection_statements(dialect: str) -> list[str]:
    """The triggers that refuse changes to records that must never change."""
    statements = []
    if dialect == "postgresql":
        statements += [PG_REFUSE_FUNCTION, PG_REFUSE_DECIDED_ANOMALY_FUNCTION]
        for table in APPEND_ONLY:
            message = APPEND_ONLY_MESSAGE.format(table=table)
            statements += [
                f"CREATE TRIGGER protect_{table} BEFORE UPDATE OR DELETE ON {table}"
                f" FOR EACH ROW EXECUTE FUNCTION refuse_change('{message}')",
                # TRUNCATE skips row triggers; refuse it as a statement.
                f"CREATE TRIGGER protect_{table}_truncate BEFORE TRUNCATE ON {table}"
                f" FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('{message}')",
            ]
        statements += [
            "CREATE TRIGGER protect_decided_claims BEFORE UPDATE OR DELETE ON claims"
            " FOR EACH ROW WHEN (OLD.status <> 'submitted')"
            f" EXECUTE FUNCTION refuse_change('{DECIDED_MESSAGE}')",
            "CREATE TRIGGER protect_decided_claims_truncate BEFORE TRUNCATE ON claims"
            f" FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('{DECIDED_MESSAGE}')",
            "CREATE TRIGGER protect_decided_claim_anomalies BEFORE UPDATE OR DELETE"
            " ON claim_anomalies FOR EACH ROW EXECUTE FUNCTION refuse_change_of_decided_claim()",
        ]
        return statements
    for table in APPEND_ONLY:
        message = APPEND_ONLY_MESSAGE.format(table=table)
        for action in ("update", "delete"):
            statements.append(
                f"CREATE TRIGGER protect_{table}_{action} BEFORE {action.upper()} ON {table}"
                f" BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
    for action in ("update", "delete"):
        statements += [
            f"CREATE TRIGGER protect_decided_claims_{action} BEFORE {action.upper()} ON claims"
            f" WHEN OLD.status <> 'submitted' BEGIN SELECT RAISE(ABORT, '{DECIDED_MESSAGE}'); END",
            f"CREATE TRIGGER protect_decided_claim_anomalies_{action} BEFORE {action.upper()}"
            " ON claim_anomalies WHEN (SELECT status FROM claims WHERE id = OLD.claim_id)"
            " <> 'submitted' BEGIN SELECT RAISE(ABORT, 'the anomalies of a decided claim are"
            " final'); END",
        ]
    return statements


def protection_trigger_names(dialect: str) -> list[tuple[str, str]]:
    """(trigger, table) of every protection trigger."""
    names = []
    for statement in protection_statements(dialect):
        if statement.startswith("CREATE TRIGGER"):
            words = statement.split()
            names.append((words[2], words[words.index("ON") + 1]))
    return names


def install_protection(bind: Connection) -> None:
    for statement in protection_statements(bind.dialect.name):
        bind.exec_driver_sql(statement)


def drop_protection(bind: Connection) -> None:
    for trigger, table in protection_trigger_names(bind.dialect.name):
        if bind.dialect.name == "postgresql":
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        else:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS refuse_change_of_decided_claim()")
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS refuse_change()")


def drop_audit_triggers(bind: Connection) -> None:
    for table in AUDITED:
        if bind.dialect.name == "postgresql":
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS audit_{table} ON {table}")
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS audit_{table}_inserted ON {table}")
        else:
            for action in ("insert", "update", "delete"):
                bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS audit_{table}_{action}")
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS audit_inserted()")
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS audit_change()")


@contextlib.contextmanager
def protection_lifted(connection: Connection, audit: bool = True):
    """Within one transaction of the database's owner: no refusals (and, with `audit`
    False, no audit rows either). For emptying test tables and bulk benchmark loads only;
    the service itself never calls it."""
    if connection.dialect.name == "postgresql":
        # A superuser's switch for this transaction only: no user triggers fire.
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        yield
        connection.exec_driver_sql("SET LOCAL session_replication_role = origin")
        return
    drop_protection(connection)
    if not audit:
        drop_audit_triggers(connection)
    try:
        yield
    finally:
        install_protection(connection)
        if not audit:
            for table, key in AUDITED.items():
                install_audit_trigger(connection, table, key)


# Naming the actor on every connection and transaction.


def configure(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def provide_actor_functions(dbapi_connection, _record):
            dbapi_connection.create_function("audit_actor", 0, current_actor)
            dbapi_connection.create_function("audit_now", 0, _audit_now)

    elif not event.contains(Session, "after_begin", _name_actor_when_beginning):
        event.listen(Session, "after_begin", _name_actor_when_beginning)


def _name_actor_when_beginning(_session, _transaction, connection) -> None:
    # While the request's caller is being looked up, the look-up's transaction waits to be
    # named by name_actor_now: once, with the caller, instead of as nobody and again.
    if has_request_context() and g.get("audit_actor_pending"):
        return
    name_actor_on(connection)


def _audit_now() -> str:
    # Naive UTC, as UTCDateTime stores it.
    return utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")


def name_actor_on(connection: Connection) -> None:
    """The transaction's settings on PostgreSQL, in the one round trip each transaction
    makes anyway: who acts and when, for the audit triggers; and, in a request, its
    deadline (`statement_timeout`), so a request stuck behind a lock ends with a 503
    (core.errors) instead of running on after its client and its worker gave up."""
    if connection.dialect.name == "postgresql":
        deadline = "0"  # the scheduler and the command line run as long as they need
        if has_request_context():
            deadline = f"{int(current_app.config['REQUEST_DEADLINE_S'] * 1000)}ms"
        connection.exec_driver_sql(
            "SELECT set_config('mealservice.actor', %(actor)s, true),"
            " set_config('mealservice.now', %(now)s, true),"
            " set_config('statement_timeout', %(deadline)s, true)",
            {"actor": current_actor(), "now": _audit_now(), "deadline": deadline},
        )


@contextlib.contextmanager
def actor_awaited():
    """Around the look-up of the request's caller: the transaction the look-up begins is
    not named as it begins, when nobody is known yet, but once by name_actor_now after it
    (the look-up only reads). A look-up that fails leaves the request's later
    transactions named as they begin."""
    g.audit_actor_pending = True
    try:
        yield
    finally:
        g.audit_actor_pending = False


def name_actor_now(username: str | None) -> None:
    """Once the caller is known (the request's first query looks them up; None: nobody
    signed in): name them for the rest of the request, and in the transaction that query
    began."""
    if username is not None:
        g.audit_actor = username
    session = db.session()
    if session.in_transaction():
        name_actor_on(session.connection())
