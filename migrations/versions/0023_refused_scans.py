"""refused_scans: queued offline scans the service refused, kept until a person retries or
dismisses them; audited like the meals they stand for

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-11 09:00:00

"""

from alembic import op
import sqlalchemy as sa

from mealservice.core import audit


# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "refused_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("canteen_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=True),
        sa.Column("scan", sa.JSON(), nullable=False),
        sa.Column("scanned_at", sa.DateTime(), nullable=False),
        sa.Column("error_code", sa.String(length=40), nullable=False),
        sa.Column("error_message", sa.String(length=500), nullable=True),
        sa.Column("reported_by", sa.String(length=64), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolution_reason", sa.String(length=200), nullable=True),
        sa.Column("meal_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "resolution IN ('retried', 'dismissed')", name=op.f("ck_refused_scans_resolution")
        ),
        sa.CheckConstraint(
            "(resolution IS NULL AND resolved_at IS NULL AND resolved_by IS NULL"
            " AND resolution_reason IS NULL AND meal_id IS NULL)"
            " OR (resolution IS NOT NULL AND resolved_at IS NOT NULL AND resolved_by IS NOT NULL)",
            name=op.f("ck_refused_scans_resolved_whole"),
        ),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution <> 'dismissed'"
            " OR (resolution_reason IS NOT NULL AND length(trim(resolution_reason)) > 0)",
            name=op.f("ck_refused_scans_dismissed_with_reason"),
        ),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution <> 'retried' OR meal_id IS NOT NULL",
            name=op.f("ck_refused_scans_retried_with_meal"),
        ),
        sa.ForeignKeyConstraint(
            ["canteen_id"], ["canteens.id"], name=op.f("fk_refused_scans_canteen_id_canteens")
        ),
        sa.ForeignKeyConstraint(
            ["meal_id"], ["meals.id"], name=op.f("fk_refused_scans_meal_id_meals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refused_scans")),
        sa.UniqueConstraint("canteen_id", "key", name=op.f("uq_refused_scans_canteen_id_key")),
    )
    audit.install_audit_trigger(op.get_bind(), "refused_scans", "id")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS audit_refused_scans ON refused_scans")
    else:
        for action in ("insert", "update", "delete"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS audit_refused_scans_{action}")
    op.drop_table("refused_scans")
