"""month_closures: the months a claim has closed, and the trigger that keeps meals out;
orders.cancel_reason: why the registry cancelled an order

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 22:00:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

MESSAGE = "month_closed: the subsidy claim of this canteen and month has been made"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION refuse_meal_in_closed_month() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM month_closures
             WHERE canteen_id = NEW.canteen_id AND month = to_char(NEW.date, 'YYYY-MM'))
     OR (TG_OP = 'UPDATE' AND EXISTS (
             SELECT 1 FROM month_closures
             WHERE canteen_id = OLD.canteen_id AND month = to_char(OLD.date, 'YYYY-MM'))) THEN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$"""


def _closed(row: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM month_closures WHERE canteen_id = {row}.canteen_id"
        f" AND month = substr({row}.date, 1, 7))"
    )


def upgrade():
    op.create_table(
        'month_closures',
        sa.Column('canteen_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['canteen_id'], ['canteens.id'], name=op.f('fk_month_closures_canteen_id_canteens')
        ),
        sa.PrimaryKeyConstraint('canteen_id', 'month', name=op.f('pk_month_closures')),
    )
    op.add_column('orders', sa.Column('cancel_reason', sa.String(length=32), nullable=True))
    op.execute(
        "INSERT INTO month_closures (canteen_id, month, closed_at)"
        " SELECT canteen_id, month, min(made_at) FROM claims GROUP BY canteen_id, month"
    )
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.exec_driver_sql(PG_FUNCTION)
        bind.exec_driver_sql(
            "CREATE TRIGGER meals_in_closed_month BEFORE INSERT OR UPDATE ON meals"
            " FOR EACH ROW EXECUTE FUNCTION refuse_meal_in_closed_month()"
        )
        return
    bind.exec_driver_sql(
        f"CREATE TRIGGER meals_in_closed_month_insert BEFORE INSERT ON meals"
        f" WHEN {_closed('NEW')} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    )
    bind.exec_driver_sql(
        f"CREATE TRIGGER meals_in_closed_month_update BEFORE UPDATE ON meals"
        f" WHEN {_closed('NEW')} OR {_closed('OLD')} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    )


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS meals_in_closed_month ON meals")
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS refuse_meal_in_closed_month()")
    else:
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS meals_in_closed_month_insert")
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS meals_in_closed_month_update")
    op.drop_table('month_closures')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('cancel_reason')
