"""elders.id_number_masked keeps the last four characters only (**************1234)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 01:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    # The old form, 3301**********1234, showed the region's first four characters too;
    # substr and || mean the same on SQLite and PostgreSQL. A stored mask already in the
    # new form is left as it is.
    op.execute(
        "UPDATE elders SET id_number_masked = '**************'"
        " || substr(id_number_masked, length(id_number_masked) - 3, 4)"
        " WHERE id_number_masked NOT LIKE '**************%'"
    )


def downgrade():
    # Nothing to undo: the old form held the region's first four characters, which only
    # the encrypted number still knows, and the old code shows the new form just as well.
    pass
