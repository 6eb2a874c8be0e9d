"""balance_movements: the kind payout (a deceased elder's balance paid out to the family)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 00:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# Written by hand (autogenerate does not compare CHECKs): (name, before, after).
CHECKS = [
    (
        'kind',
        "kind IN ('top_up', 'meal', 'refund')",
        "kind IN ('top_up', 'meal', 'refund', 'payout')",
    ),
    (
        'amount_sign',
        "(kind = 'meal' AND amount_fen < 0) OR (kind <> 'meal' AND amount_fen > 0)",
        "(kind IN ('meal', 'payout') AND amount_fen < 0)"
        " OR (NOT kind IN ('meal', 'payout') AND amount_fen > 0)",
    ),
    (
        'top_up_method',
        "(kind = 'top_up' AND method IN ('cash', 'e_payment'))"
        " OR (kind <> 'top_up' AND method IS NULL)",
        "(kind IN ('top_up', 'payout') AND method IN ('cash', 'e_payment'))"
        " OR (NOT kind IN ('top_up', 'payout') AND method IS NULL)",
    ),
    (
        'meal_movement_names_meal',
        "kind = 'top_up' OR meal_id IS NOT NULL OR order_id IS NOT NULL",
        "kind IN ('top_up', 'payout') OR meal_id IS NOT NULL OR order_id IS NOT NULL",
    ),
]


def _replace(index):
    with op.batch_alter_table('balance_movements', schema=None) as batch_op:
        for name, *texts in CHECKS:
            batch_op.drop_constraint(batch_op.f(f'ck_balance_movements_{name}'), type_='check')
            batch_op.create_check_constraint(
                batch_op.f(f'ck_balance_movements_{name}'), texts[index]
            )


def upgrade():
    _replace(1)


def downgrade():
    op.execute("DELETE FROM balance_movements WHERE kind = 'payout'")
    _replace(0)
