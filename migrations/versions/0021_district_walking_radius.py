"""districts.walking_radius_m: the walking circle's radius is the district's (1000 m unless
set; Luoyang's plan asks 500 m)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-09 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

CHECK = 'walking_radius_m BETWEEN 100 AND 5000'


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds a column with its CHECK in place, without the batch rebuild of a
        # table nearly every other one refers to.
        op.execute(
            'ALTER TABLE districts ADD COLUMN walking_radius_m INTEGER DEFAULT 1000 NOT NULL'
            f' CONSTRAINT ck_districts_walking_radius CHECK ({CHECK})'
        )
        return
    op.add_column(
        'districts',
        sa.Column('walking_radius_m', sa.Integer(), server_default='1000', nullable=False),
    )
    op.create_check_constraint(op.f('ck_districts_walking_radius'), 'districts', CHECK)


def downgrade():
    # Dropping the column drops its CHECK with it, on SQLite and PostgreSQL alike.
    op.drop_column('districts', 'walking_radius_m')
