"""`make screenshots`: a picture of each role's home after logging in, for the README.

    python -m tools.screenshots [--out docs/screenshots] [--now 2026-11-25T10:00:00+08:00]

Seeds the demo into a temporary SQLite database with the service's clock at a fixed
instant (so the pictures change only when the pages do), starts the service on it, logs
in as each role in headless Chromium and saves the visible part of the page the login
lands on: phone-sized for the roles that work on a phone, desk-sized for the others.
Each landing is checked against the home this script expects (tests/core/test_homes.py
checks the expectations against the app's own table of homes)."""

import argparse
import io
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from mealservice.demo import LOGINS

ROOT = Path(__file__).resolve().parents[1]
# The suite's instant (tests/conftest.py, DEFAULT_INSTANT): a Wednesday morning, lunch
# booked and cooking, deliveries out.
NOW = "2026-11-25T10:00:00+08:00"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}

# Each role's demo login, the home it lands on ({canteen_id} and {district_code} are the
# login's own) and the screen it is used on.
HOMES = {
    "elder": ("elder", "/what-to-eat", PHONE),
    "family": ("daughter", "/what-to-eat", PHONE),
    "cashier": ("cashier", "/cashier", PHONE),
    "volunteer": ("volunteer", "/my-drops", PHONE),
    "manager": ("manager", "/canteens/{canteen_id}/today", DESK),
    "official": ("official", "/districts/{district_code}/dashboard", DESK),
    "inspector": ("inspector", "/inspections", DESK),
    "admin": ("admin", "/overview", DESK),
}
PASSWORDS = {login["username"]: login["password"] for login in LOGINS}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(database_url: str, now: str) -> dict:
    """The development service on its own database, its clock at `now`, with throwaway
    secrets (none written to the instance folder)."""
    throwaway = {
        name: secrets.token_urlsafe(48)
        for name in ("SECRET_KEY", "ELDER_DATA_KEY", "ID_LOOKUP_KEY", "CARD_SIGNING_KEY")
    }
    return {
        **os.environ,
        **throwaway,
        "MEALSERVICE_ENV": "development",
        "DATABASE_URL": database_url,
        "MEALSERVICE_NOW": now,
    }


def flask(env: dict, *args: str, **options) -> subprocess.Popen | None:
    command = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
    if options.pop("background", False):
        return subprocess.Popen(command, cwd=ROOT, env=env, **options)
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return None


def wait_until_up(url: str, server: subprocess.Popen, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the service stopped while starting")
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the service did not answer on {url} within {timeout_s:.0f} s")


def small_png(png: bytes) -> bytes:
    """The screenshot in 256 colours: a page's flat colours survive, the file is a third."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
    return out.getvalue()


def landing_path(page) -> str:
    return "/" + page.url.split("/", 3)[3].split("?", 1)[0]


def shoot(base_url: str, out: Path, now: str) -> list[Path]:
    from datetime import datetime

    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for role, (username, home, viewport) in HOMES.items():
            context = browser.new_context(locale="zh-CN", base_url=base_url, viewport=viewport)
            # The pages' own clock is the service's, as in the browser tests.
            context.clock.install(time=datetime.fromisoformat(now))
            page = context.new_page()
            page.goto("/login")
            page.get_by_label("用户名").fill(username)
            page.get_by_label("密码").fill(PASSWORDS[username])
            page.get_by_role("button", name="登录").click()
            page.wait_for_url(lambda url: "/login" not in url)
            page.wait_for_load_state("networkidle")
            landed = landing_path(page)
            expected = home.split("{", 1)[0]
            if not landed.startswith(expected):
                raise SystemExit(f"{role} landed on {landed}, not on its home {home}")
            path = out / f"{role}.png"
            path.write_bytes(small_png(page.screenshot()))
            written.append(path)
            print(
                f"{role:<9} {landed:<32} {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)"
            )
            context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--now", default=NOW, help="the service's instant, ISO 8601 with offset")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mealservice-screenshots-") as scratch:
        env = environment(f"sqlite:///{scratch}/demo.sqlite", args.now)
        print(f"Seeding the demo at {args.now}…")
        flask(env, "db", "upgrade")
        flask(env, "seed-demo")
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        with open(Path(scratch) / "server.log", "w") as log:
            server = flask(
                env,
                "run",
                "--port",
                str(port),
                background=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_until_up(base_url, server)
                shoot(base_url, args.out, args.now)
            finally:
                server.terminate()
                server.wait(timeout=10)


if __name__ == "__main__":
    main()
