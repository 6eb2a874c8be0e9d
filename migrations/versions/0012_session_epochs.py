"""users.session_epoch: browser sessions that can be ended

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 05:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite adds a column in place: no rebuild of a table so many others refer to.
    op.add_column(
        'users', sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False)
    )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
