"""What the page tests share: a test client signed in as a new user of a role, reading the
pages in English, and forms posted with the page's own CSRF token."""

from tests import factories
from tests.core.test_pages import log_in, page_token

PASSWORD = "steamed-bun-42"


def browser_as(app, role, **placement):
    """A test client logged in with a new user of that role, reading the pages in English."""
    user = factories.create_user(role, password=PASSWORD, **placement)
    client = app.test_client()
    log_in(client, user.username, PASSWORD)
    client.get("/lang/en")
    client.user = user
    return client


def html_of(response) -> str:
    return response.get_data(as_text=True)


def post_form(client, path: str, data: dict, page: str):
    return client.post(path, data={"csrf_token": page_token(client, page), **data})
