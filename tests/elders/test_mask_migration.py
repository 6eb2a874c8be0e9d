"""Migration 0019 rewrites the masks stored in the old form (region prefix and last four)
to the last four only, on whichever database the suite runs (SQLite or PostgreSQL)."""

import importlib.util
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select, update

from mealservice.elders.models import Elder
from tests import factories

MIGRATION = (
    Path(__file__).resolve().parents[2] / "migrations/versions/0019_masks_keep_the_last_four.py"
)


def run_upgrade_of_0019(connection) -> None:
    spec = importlib.util.spec_from_file_location("migration_0019", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with Operations.context(MigrationContext.configure(connection)):
        module.upgrade()


def test_stored_masks_of_the_old_form_keep_only_their_last_four(db, district):
    old = factories.create_elder(district)
    new = factories.create_elder(district)
    last4 = old.id_number_masked[-4:]
    db.session.execute(
        update(Elder).where(Elder.id == old.id).values(id_number_masked=f"3301**********{last4}")
    )
    db.session.flush()
    run_upgrade_of_0019(db.session.connection())
    db.session.expire_all()
    masks = dict(db.session.execute(select(Elder.id, Elder.id_number_masked)).all())
    assert masks[old.id] == f"**************{last4}"
    assert masks[new.id] == new.id_number_masked == "*" * 14 + new.id_number_masked[-4:]
