"""The workers' caches of near-static data: served without reading the tables again while
the stamp holds, and never stale, whichever path writes, whether it commits or rolls back."""

from datetime import date

from sqlalchemy import create_engine, delete, insert, text

from config import normalise_database_url
from mealservice.core import stamps
from mealservice.places import registry
from mealservice.places.models import BlacklistEntry, District, MonthClosure
from mealservice.policy import services as policy
from mealservice.policy.models import Holiday, PolicyTier, SubsidyPolicy
from tests import factories

DAY = date(2026, 10, 1)


def test_a_cached_answer_costs_one_read_of_the_stamps_a_transaction(db, statements):
    assert policy.is_holiday(DAY) is False
    statements.clear()
    assert [policy.is_holiday(DAY), policy.is_holiday(DAY)] == [False, False]
    # The stamps were read for this transaction already: neither they nor the holidays
    # are read again.
    assert not [s for s in statements if "holidays" in s or "data_stamps" in s], statements
    db.session.execute(text("SAVEPOINT other_work"))
    statements.clear()
    assert policy.is_holiday(DAY) is False
    # A statement that may have written anything forgets the stamps: read them once more.
    assert [s for s in statements if "holidays" in s or "data_stamps" in s] == [
        "SELECT data_stamps.name, data_stamps.stamp FROM data_stamps"
    ]


def test_a_write_to_a_table_that_keeps_the_stamps_does_not_forget_them(db, statements):
    assert policy.is_holiday(DAY) is False
    statements.clear()
    # A scan's seat, tallies and meal are written after it read the stamps.
    db.session.execute(text("UPDATE menus SET seats_used = seats_used WHERE id = -1"))
    db.session.execute(text('UPDATE "slot_tallies" SET taken = taken WHERE elder_id = -1'))
    assert policy.is_holiday(DAY) is False
    assert not [s for s in statements if "data_stamps" in s], statements
    db.session.execute(text("UPDATE holidays SET name = name WHERE day = '1900-01-01'"))
    statements.clear()
    assert policy.is_holiday(DAY) is False
    assert [s for s in statements if "data_stamps" in s], statements


def test_no_write_to_a_table_that_keeps_the_stamps_can_change_one(db):
    """Their triggers write no stamp, and no stamped table follows them by a cascade."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        triggers = connection.execute(
            text(
                "SELECT c.relname, p.prosrc FROM pg_trigger t"
                " JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid"
                " WHERE NOT t.tgisinternal"
            )
        ).all()
    else:
        triggers = connection.execute(
            text("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        ).all()
    stamped = {table for table, body in triggers if "data_stamps" in body}
    assert {"holidays", "subsidy_policies", "canteens"} <= stamped
    assert {"meals", "menus", "slot_tallies", "subsidy_tallies"} <= stamps.KEEPING_TABLES
    assert not stamps.KEEPING_TABLES & stamped
    for name in stamped:
        for key in db.metadata.tables[name].foreign_keys:
            follows = key.ondelete or key.onupdate
            assert not (follows and key.column.table.name in stamps.KEEPING_TABLES), key


def test_a_write_by_any_path_is_seen_at_once(db):
    assert policy.is_holiday(DAY) is False
    # Raw SQL, as a migration or a hand's fix would write: no service was told.
    db.session.execute(
        text("INSERT INTO holidays (day, name) VALUES (:day, '国庆节')"), {"day": DAY}
    )
    assert policy.is_holiday(DAY) is True
    db.session.execute(delete(Holiday))
    assert policy.is_holiday(DAY) is False


def test_a_rolled_back_write_takes_its_stamp_back_and_the_cache_answers_as_before(db):
    assert policy.is_holiday(DAY) is False
    with db.session.begin_nested() as savepoint:
        policy.set_holiday(DAY, "国庆节")
        assert policy.is_holiday(DAY) is True
        savepoint.rollback()
    assert policy.is_holiday(DAY) is False


def test_every_write_to_a_stamped_table_gives_its_stamp_a_new_value(db, district, canteen):
    factories.create_policy(district)
    version = db.session.query(SubsidyPolicy).first()
    writes = {
        "policy": [
            insert(PolicyTier).values(
                policy_id=version.id, position=99, name="extra", amount_fen=100, channel="any"
            ),
            text("UPDATE policy_tiers SET amount_fen = amount_fen + 1"),
            text("UPDATE subsidy_policies SET delivery_subsidy_fen = 300"),
            delete(PolicyTier).where(PolicyTier.position == 99),
        ],
        "holidays": [
            insert(Holiday).values(day=DAY, name="国庆节"),
            text("UPDATE holidays SET name = '国庆'"),
            delete(Holiday),
        ],
        "blacklist": [
            insert(BlacklistEntry).values(
                canteen_id=canteen.id, reason="test", starts_on=DAY, created_by="test"
            ),
            text("UPDATE blacklist_entries SET reason = 'other'"),
            delete(BlacklistEntry),
        ],
        "month_closures": [
            insert(MonthClosure).values(canteen_id=canteen.id, month="2026-10"),
            delete(MonthClosure),
        ],
        "places": [
            insert(District).values(code="990099", name="其他区", slot_windows={}, standards={}),
            text("UPDATE districts SET name = '其他' WHERE code = '990099'"),
            text("UPDATE canteens SET phone = '0571-0000'"),
            text(
                "INSERT INTO canteens (name, kind, district_code, community_id, seats_per_meal,"
                " dining_area_m2, functions, operator_type, address, lat, lng,"
                " monthly_operating_subsidy_fen, created_at, filing_status)"
                " SELECT 'copy', kind, district_code, community_id, seats_per_meal,"
                " dining_area_m2, functions, operator_type, address, lat, lng,"
                " monthly_operating_subsidy_fen, created_at, filing_status FROM canteens"
            ),
            text("DELETE FROM canteens WHERE name = 'copy'"),
            delete(District).where(District.code == "990099"),
        ],
    }
    for name, statements_of_name in writes.items():
        for statement in statements_of_name:
            before = stamps.stamp_of(name)
            db.session.execute(statement)
            assert stamps.stamp_of(name) not in (before, None), (name, str(statement))


def test_the_blacklist_and_closed_months_are_read_through_the_cache(db, canteen):
    assert registry.is_blacklisted(canteen.id, DAY) is False
    assert registry.month_closed(canteen.id, DAY) is False
    entry = registry.add_to_blacklist(None, canteen, "Fraud", DAY, date(2026, 10, 31))
    registry.close_month(canteen.id, "2026-10")
    assert registry.is_blacklisted(canteen.id, DAY) is True
    assert registry.is_blacklisted(canteen.id, date(2026, 11, 1)) is False
    assert registry.month_closed(canteen.id, DAY) is True
    registry.lift(None, entry)
    assert registry.is_blacklisted(canteen.id, DAY) is False


def test_a_missing_stamp_turns_its_cache_off(db, statements):
    db.session.execute(delete(stamps.DataStamp))
    assert policy.is_holiday(DAY) is False
    statements.clear()
    assert policy.is_holiday(DAY) is False
    assert any("holidays" in statement for statement in statements)


def test_another_workers_committed_write_is_seen_by_the_next_transaction(app, committed):
    other = create_engine(normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"]))
    try:
        assert policy.is_holiday(DAY) is False
        committed.session.commit()
        with other.begin() as connection:
            connection.execute(insert(Holiday).values(day=DAY, name="国庆节"))
        assert policy.is_holiday(DAY) is True
        committed.session.commit()
        with other.begin() as connection:
            connection.execute(delete(Holiday))
        assert policy.is_holiday(DAY) is False
    finally:
        committed.session.rollback()
        with other.begin() as connection:
            connection.execute(delete(Holiday))
        other.dispose()
