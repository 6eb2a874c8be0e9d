"""What the browser tests share: logging in as a person would, and axe's verdict."""

from axe_playwright_python.sync_playwright import Axe

from mealservice.demo import LOGINS

PASSWORDS = {login["username"]: login["password"] for login in LOGINS}


def log_in(page, username: str, password: str | None = None) -> None:
    """Log in on the login page (a demo login's password unless one is given)."""
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password or PASSWORDS[username])
    page.get_by_role("button", name="登录").click()
    # Lands on the role's home. Waits for the "load" event too, so the page's deferred
    # scripts have run.
    page.wait_for_url(lambda url: "/login" not in url)


def serious_violations(page) -> list:
    """axe-core's serious and critical findings on the page as it stands."""
    result = Axe().run(page)
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in result.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
