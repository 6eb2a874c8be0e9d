"""A volunteer deactivated mid-run: their open runs are left to the manager, who sees a
notice on the deliveries page and gives each run to another volunteer."""

import pytest

from mealservice.accounts.services import deactivate as deactivate_account
from mealservice.core.db import db
from mealservice.core.errors import ApiError
from mealservice.delivery import services
from tests import factories
from tests.core.test_errors import assert_error
from tests.delivery.test_delivery_pages import deliveries_url, volunteer_run
from tests.pages import browser_as, html_of, post_form


@pytest.fixture
def manager(app, canteen):
    return browser_as(app, "manager", canteen=canteen)


@pytest.fixture
def volunteer(app, canteen):
    return browser_as(app, "volunteer", canteen=canteen)


@pytest.fixture
def order(canteen, elder):
    return factories.create_order(canteen, elder, "delivery")


@pytest.fixture
def tomorrow(order):
    return order.date


def deactivate(user) -> None:
    deactivate_account(factories.create_user("admin"), user)
    db.session.commit()


def test_the_manager_is_told_of_open_runs_whose_volunteer_was_deactivated(
    manager, volunteer, canteen, order, tomorrow
):
    run = volunteer_run(canteen, order, volunteer)
    page = html_of(manager.get(deliveries_url(canteen, tomorrow)))
    assert 'data-testid="left-runs"' not in page

    deactivate(volunteer.user)

    page = html_of(manager.get(deliveries_url(canteen, tomorrow)))
    assert f'data-testid="left-run-{run.id}"' in page
    assert volunteer.user.username in page
    assert f'data-testid="run-{run.id}-volunteer-deactivated"' in page
    # Seen from any day's page: the run waits for the manager whatever the date shown.
    other_day = html_of(manager.get(deliveries_url(canteen, tomorrow.replace(day=1))))
    assert f'data-testid="left-run-{run.id}"' in other_day


def test_the_manager_gives_the_run_to_another_volunteer(
    app, manager, volunteer, canteen, order, tomorrow
):
    run = volunteer_run(canteen, order, volunteer)
    deactivate(volunteer.user)
    other = browser_as(app, "volunteer", canteen=canteen)

    response = post_form(
        manager,
        f"/delivery-runs/{run.id}/volunteer",
        {"volunteer_id": str(other.user.id)},
        deliveries_url(canteen, tomorrow),
    )

    assert response.status_code == 302
    db.session.refresh(run)
    assert run.volunteer_id == other.user.id
    page = html_of(manager.get(deliveries_url(canteen, tomorrow)))
    assert "is given to another volunteer" in page
    assert 'data-testid="left-runs"' not in page


def test_a_run_is_never_given_to_a_deactivated_volunteer(manager, volunteer, canteen, order):
    run = volunteer_run(canteen, order, volunteer)
    gone = factories.create_user("volunteer", canteen=canteen)
    deactivate(gone)
    post_form(
        manager, f"/delivery-runs/{run.id}/volunteer", {"volunteer_id": str(gone.id)}, "/users"
    )
    db.session.refresh(run)
    assert run.volunteer_id == volunteer.user.id


def test_new_runs_are_never_given_to_a_deactivated_volunteer(login_as, canteen, order):
    gone = factories.create_user("volunteer", canteen=canteen)
    deactivate(gone)
    response = login_as("manager").post(
        f"/api/v1/canteens/{canteen.id}/delivery-runs",
        json={
            "date": order.date.isoformat(),
            "slot": "lunch",
            "platform": "volunteer",
            "volunteer_id": gone.id,
        },
    )
    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]) == {"volunteer_id"}


def test_a_finished_run_is_not_given_again(manager, volunteer, canteen, order):
    run = volunteer_run(canteen, order, volunteer)
    run.status = "done"
    db.session.commit()
    other = factories.create_user("volunteer", canteen=canteen)
    actor = factories.create_user("manager", canteen=canteen)
    with pytest.raises(ApiError) as refused:
        services.give_run_to(actor, run, other.id)
    assert refused.value.code == "run_done"
