"""audit triggers date their rows by the service's clock, not the database's

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 06:00:00

"""
from alembic import op

from mealservice.core import audit


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# How 0010 dated the rows, for the way back.
PG_AUDIT_FUNCTION_0010 = """
CREATE OR REPLACE FUNCTION audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_log (at, actor, table_name, row_key, action, before, after)
  VALUES (
    timezone('utc', clock_timestamp()),
    coalesce(nullif(current_setting('mealservice.actor', true), ''), 'system'),
    TG_TABLE_NAME,
    CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ->> TG_ARGV[0]
         ELSE to_jsonb(NEW) ->> TG_ARGV[0] END,
    lower(TG_OP),
    CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_json(OLD) END,
    CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_json(NEW) END
  );
  RETURN NULL;
END $$"""
SQLITE_NOW_0010 = "strftime('%Y-%m-%d %H:%M:%S', 'now')"


def upgrade():
    for table, key in audit.AUDITED.items():
        audit.install_audit_trigger(op.get_bind(), table, key)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.exec_driver_sql(PG_AUDIT_FUNCTION_0010)
        return
    for table, key in audit.AUDITED.items():
        audit.install_audit_trigger(bind, table, key, now_sql=SQLITE_NOW_0010)
