"""The audit log reader: filters by table, actor and local dates, the reader's scope
(district, canteen), changes told old → new, and never a secret or a personal number."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from mealservice.core.db import db
from mealservice.oversight.models import AuditEntry
from mealservice.oversight.services import audit_log
from tests import factories
from tests.pages import browser_as, html_of


@pytest.fixture
def policy(district):
    return factories.create_policy(district)


@pytest.fixture
def meal(canteen, elder, policy):
    return factories.create_meal(canteen, elder)


def meal_entry(meal) -> AuditEntry:
    return db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.table_name == "meals", AuditEntry.row_key == str(meal.id)
        )
    )


def test_an_admin_reads_a_meals_creation_with_its_fields(app, meal):
    admin = browser_as(app, "admin")
    page = html_of(admin.get("/audit-log?table=meals"))
    entry = meal_entry(meal)
    assert f'data-testid="audit-{entry.id}"' in page
    assert "Created" in page and "factory-cashier" in page  # recorded_by, a field
    assert re.search(r"<code>subsidy_fen</code>:\s*500\s*<", page)


def test_an_update_shows_only_what_changed_old_to_new():
    entry = AuditEntry(
        action="update",
        before={"balance_fen": 1000, "elder_id": 3, "updated_at": "a"},
        after={"balance_fen": 400, "elder_id": 3, "updated_at": "b"},
    )
    assert [(c.field, c.before, c.after) for c in audit_log.changes_of(entry)] == [
        ("balance_fen", 1000, 400),
        ("updated_at", "a", "b"),
    ]


def test_secrets_and_id_numbers_are_never_shown():
    entry = AuditEntry(
        action="insert",
        before=None,
        after={"username": "x", "password_hash": "scrypt$", "id_number_encrypted": "gAAA"},
    )
    assert [c.field for c in audit_log.changes_of(entry)] == ["username"]


def test_the_filters_narrow_by_table_actor_and_dates(app, district, meal):
    admin = browser_as(app, "admin")
    entry = meal_entry(meal)
    today = district.local_today()
    row = f'data-testid="audit-{entry.id}"'
    assert row not in html_of(admin.get("/audit-log?table=users"))
    assert row in html_of(admin.get("/audit-log?actor=system"))
    assert row not in html_of(admin.get("/audit-log?actor=somebody-else"))
    assert row in html_of(admin.get(f"/audit-log?since={today}&until={today}"))
    tomorrow = date.fromordinal(today.toordinal() + 1)
    assert row not in html_of(admin.get(f"/audit-log?since={tomorrow}"))


def test_a_bad_date_is_named_and_nothing_listed(app, meal):
    admin = browser_as(app, "admin")
    page = html_of(admin.get("/audit-log?since=yesterday"))
    assert "From: the date must look like 2026-11-24." in page
    assert 'data-testid="audit-table"' not in page


def test_an_official_reads_their_districts_changes_only(app, district, meal):
    entry = meal_entry(meal)
    own = browser_as(app, "official", district=district)
    assert f'data-testid="audit-{entry.id}"' in html_of(own.get("/audit-log"))
    other = browser_as(app, "official", district=factories.create_district())
    assert f'data-testid="audit-{entry.id}"' not in html_of(other.get("/audit-log"))


def test_a_manager_reads_their_canteens_meals_but_no_policy_of_the_district(
    app, district, canteen, meal, policy
):
    entry = meal_entry(meal)
    manager = browser_as(app, "manager", canteen=canteen)
    page = html_of(manager.get("/audit-log"))
    assert f'data-testid="audit-{entry.id}"' in page
    assert "Subsidy policy versions" not in page.split('data-testid="audit-table"')[1]
    elsewhere = browser_as(app, "manager", canteen=factories.create_canteen(district))
    assert f'data-testid="audit-{entry.id}"' not in html_of(elsewhere.get("/audit-log"))


def test_cashiers_and_families_may_not_read_the_audit_log(app, canteen, elder):
    assert browser_as(app, "cashier", canteen=canteen).get("/audit-log").status_code == 403
    assert browser_as(app, "family", elders=[elder]).get("/audit-log").status_code == 403
