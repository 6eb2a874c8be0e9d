"""claims' INSERTs audited by one trigger per statement on PostgreSQL (a transition
table), the same audit rows at a fraction of a row trigger's cost; SQLite keeps its row
triggers

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 11:30:00

"""
from alembic import op

from mealservice.core import audit


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        audit.install_audit_trigger(bind, 'claims', 'id')


def downgrade():
    # As it was before this migration, written out here: audit.py now installs the statement trigger.
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    bind.exec_driver_sql('DROP TRIGGER IF EXISTS audit_claims_inserted ON claims')
    bind.exec_driver_sql('DROP FUNCTION IF EXISTS audit_inserted()')
    bind.exec_driver_sql('DROP TRIGGER IF EXISTS audit_claims ON claims')
    bind.exec_driver_sql(
        "CREATE TRIGGER audit_claims AFTER INSERT OR UPDATE OR DELETE ON claims"
        " FOR EACH ROW EXECUTE FUNCTION audit_change('id')"
    )
