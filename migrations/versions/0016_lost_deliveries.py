"""welfare_alerts: the kind no_delivery (a meal the platform lost never arrived)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 22:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('welfare_alerts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_welfare_alerts_kind'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_welfare_alerts_kind'), "kind IN ('no_answer', 'absent', 'no_delivery')"
        )


def downgrade():
    with op.batch_alter_table('welfare_alerts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_welfare_alerts_kind'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_welfare_alerts_kind'), "kind IN ('no_answer', 'absent')"
        )
