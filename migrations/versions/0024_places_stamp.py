"""data_stamps: the "places" stamp, new on every write to districts and canteens, for the
workers' cache of the canteen a scan reads (places.services.counter_canteen)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 11:30:00

"""

from alembic import op
import sqlalchemy as sa

from mealservice.core import stamps


# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

# The tables a counter's canteen is read from (the canteen, its district's zone and meal
# windows), and the stamp their writes renew.
STAMPED = {"districts": "places", "canteens": "places"}

DATA_STAMPS = sa.table(
    "data_stamps", sa.column("name", sa.String), sa.column("stamp", sa.BigInteger)
)


def upgrade():
    op.bulk_insert(DATA_STAMPS, [{"name": "places", "stamp": stamps.new_stamp()}])
    bind = op.get_bind()
    for stamped, name in STAMPED.items():
        for statement in stamps.stamp_statements(bind.dialect.name, stamped, name):
            bind.exec_driver_sql(statement)


def downgrade():
    bind = op.get_bind()
    for stamped in STAMPED:
        for statement in stamps.drop_stamp_statements(bind.dialect.name, stamped):
            bind.exec_driver_sql(statement)
    # new_data_stamp() stays: 0022's tables still call it.
    op.execute(DATA_STAMPS.delete().where(DATA_STAMPS.c.name == "places"))
