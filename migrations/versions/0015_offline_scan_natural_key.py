"""meals: an offline scan's natural key (canteen, elder, the moment it was scanned)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 22:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ux_meals_offline_scan',
        'meals',
        ['canteen_id', 'elder_id', 'served_at'],
        unique=True,
        sqlite_where=sa.text('offline'),
        postgresql_where=sa.text('offline'),
    )


def downgrade():
    op.drop_index('ux_meals_offline_scan', table_name='meals')
