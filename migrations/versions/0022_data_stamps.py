"""data_stamps: a version stamp per kind of near-static data (policies, holidays, the
blacklist, closed months), new on every write by triggers, for the workers' caches

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-10 09:00:00

"""

from alembic import op
import sqlalchemy as sa

from mealservice.core import stamps


# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# Each stamped table and the stamp its writes renew.
STAMPED = {
    "subsidy_policies": "policy",
    "policy_tiers": "policy",
    "holidays": "holidays",
    "blacklist_entries": "blacklist",
    "month_closures": "month_closures",
}


def upgrade():
    table = op.create_table(
        "data_stamps",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_data_stamps")),
    )
    op.bulk_insert(
        table,
        [{"name": name, "stamp": stamps.new_stamp()} for name in sorted(set(STAMPED.values()))],
    )
    bind = op.get_bind()
    for stamped, name in STAMPED.items():
        for statement in stamps.stamp_statements(bind.dialect.name, stamped, name):
            bind.exec_driver_sql(statement)


def downgrade():
    bind = op.get_bind()
    for stamped in STAMPED:
        for statement in stamps.drop_stamp_statements(bind.dialect.name, stamped):
            bind.exec_driver_sql(statement)
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS new_data_stamp()")
    op.drop_table("data_stamps")
