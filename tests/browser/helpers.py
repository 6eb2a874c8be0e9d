"""What the browser tests share: logging in as a person would, and axe's verdict."""

from axe_playwright_python.base import AXE_SCRIPT

from mealservice.demo import LOGINS

PASSWORDS = {login["username"]: login["password"] for login in LOGINS}

# Rows of a table (and cards of a list) are drawn by one loop with one style: past the
# first few they add time to axe (its colour-contrast check takes some 5 ms an element)
# and nothing to what it finds.
LATER_ROWS = ["tbody > tr:nth-child(n+6)", "ul.cards > li:nth-child(n+6)"]


def log_in(page, username: str, password: str | None = None) -> None:
    """Log in on the login page (a demo login's password unless one is given)."""
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password or PASSWORDS[username])
    page.get_by_role("button", name="登录").click()
    # Lands on the role's home. Waits for the "load" event too, so the page's deferred
    # scripts have run.
    page.wait_for_url(lambda url: "/login" not in url)


def load_axe_in_every_page(context) -> None:
    """axe-core in each page the context opens, before the page's own scripts: spares
    serious_violations sending its half a megabyte to every page."""
    context.add_init_script(script=AXE_SCRIPT)


def serious_violations(page, exclude: list[str] | None = None) -> list:
    """axe-core's serious and critical findings on the page as it stands (outside the
    elements `exclude` selects)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    context = {"exclude": exclude} if exclude else None
    violations = page.evaluate(
        """(context) => axe.run(context || document, {resultTypes: ['violations']})
            .then((result) => result.violations)""",
        context,
    )
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
