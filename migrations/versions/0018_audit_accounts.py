"""audit trigger on users: accounts made, deactivated, reactivated, signed out (the
password's hash left out of the log)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 09:00:00

"""
from alembic import op

from mealservice.core import audit


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    # On PostgreSQL this also replaces audit_change() with the version that leaves columns
    # out; tables with no such columns log exactly as before.
    audit.install_audit_trigger(op.get_bind(), 'users', 'id')


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.exec_driver_sql('DROP TRIGGER IF EXISTS audit_users ON users')
        return
    for action in ('insert', 'update', 'delete'):
        bind.exec_driver_sql(f'DROP TRIGGER IF EXISTS audit_users_{action}')
