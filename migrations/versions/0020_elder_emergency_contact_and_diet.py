"""elders: the emergency contact (with its consent) and structured diet needs

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 00:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

WHOLE = (
    "(emergency_contact_name IS NULL) = (emergency_contact_phone IS NULL)"
    " AND (emergency_contact_name IS NULL) = (emergency_contact_relation IS NULL)"
    " AND (emergency_contact_name IS NULL) = (emergency_contact_consent_at IS NULL)"
    " AND (emergency_contact_name IS NULL) = (emergency_contact_recorded_by IS NULL)"
)


def upgrade():
    with op.batch_alter_table('elders', schema=None) as batch_op:
        # Existing elders have no structured needs yet: their free-text note stays.
        batch_op.add_column(sa.Column('allergies', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('diet_needs', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('emergency_contact_name', sa.String(length=50), nullable=True))
        batch_op.add_column(
            sa.Column('emergency_contact_relation', sa.String(length=20), nullable=True)
        )
        batch_op.add_column(
            sa.Column('emergency_contact_phone', sa.String(length=20), nullable=True)
        )
        batch_op.add_column(sa.Column('emergency_contact_consent_at', sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column('emergency_contact_recorded_by', sa.String(length=64), nullable=True)
        )
        batch_op.create_check_constraint(batch_op.f('ck_elders_emergency_contact_whole'), WHOLE)
    with op.batch_alter_table('elders', schema=None) as batch_op:
        # The model sets both lists on every insert; the default only filled the old rows.
        batch_op.alter_column('allergies', server_default=None)
        batch_op.alter_column('diet_needs', server_default=None)


def downgrade():
    with op.batch_alter_table('elders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_elders_emergency_contact_whole'), type_='check')
        for column in (
            'emergency_contact_recorded_by',
            'emergency_contact_consent_at',
            'emergency_contact_phone',
            'emergency_contact_relation',
            'emergency_contact_name',
            'diet_needs',
            'allergies',
        ):
            batch_op.drop_column(column)
