"""mealservice: senior meal assistance (老年助餐) for a district."""

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask

from config import Config, config_from_environment, normalise_database_url
from mealservice.core import clock

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: type[Config] | None = None, **overrides) -> Flask:
    config = config or config_from_environment()
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        instance_path=str(ROOT / "instance"),
    )
    configure(app, config, overrides)
    register_extensions(app)
    register_url_converters(app)
    register_blueprints(app)
    register_errors(app)
    register_request_hooks(app)
    register_commands(app)
    register_receivers()
    return app


def configure(app: Flask, config: type[Config], overrides: dict) -> None:
    app.config.from_object(config)
    app.config.update(config.load_secrets(app.instance_path))
    app.config.update(overrides)
    try:
        ZoneInfo(app.config["TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        raise RuntimeError(
            f"TIMEZONE {app.config['TIMEZONE']!r} is not an IANA time zone"
        ) from None
    if os.environ.get(clock.ENVIRONMENT_VARIABLE) and app.config["ENV_NAME"] == "production":
        raise RuntimeError(f"{clock.ENVIRONMENT_VARIABLE} moves the clock; never in production")
    clock.start_from_environment()
    url = app.config.get("DATABASE_URL") or config.default_database_url(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
    if url.startswith("sqlite"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        # A file has no connection to lose: pinging it before each use is pure cost.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
            "pool_pre_ping": False,
        }
    if app.config["ENV_NAME"] == "production":
        refuse_unsafe_production_settings(app)


def refuse_unsafe_production_settings(app: Flask) -> None:
    """Settings that are harmless on a developer's machine and an open door in production."""
    from mealservice.delivery.platforms import unsafe_platform_settings

    problems = unsafe_platform_settings(app.config["DELIVERY_PLATFORMS"])
    if problems:
        raise RuntimeError(
            "refusing to start in production with unsafe DELIVERY_PLATFORMS: "
            + "; ".join(problems)
            + ". Give each platform its own secrets of at least 16 random characters,"
            " or leave the platform out."
        )


def register_extensions(app: Flask) -> None:
    from mealservice.core import audit
    from mealservice.core.db import configure_engine, render_migration_item
    from mealservice.core.i18n import select_locale
    from mealservice.core.security import init_security
    from mealservice.extensions import babel, csrf, db, migrate

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine, app.config["SQLITE_BUSY_TIMEOUT_S"])
        audit.configure(db.engine)
    migrate.init_app(
        app,
        db,
        directory=str(ROOT / "migrations"),
        render_as_batch=True,
        compare_type=True,
        render_item=render_migration_item,
    )
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    init_security(app)


def register_url_converters(app: Flask) -> None:
    from mealservice.core.schemas import (
        CardIdConverter,
        CodeConverter,
        DateConverter,
        IdConverter,
    )

    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["code"] = CodeConverter
    app.url_map.converters["date"] = DateConverter
    app.url_map.converters["card"] = CardIdConverter


def register_blueprints(app: Flask) -> None:
    from mealservice.accounts import pages as account_pages
    from mealservice.accounts import views as account_views
    from mealservice.balances import pages as balance_pages
    from mealservice.balances import views as balance_views
    from mealservice.claims import pages as claim_pages
    from mealservice.claims import views as claim_views
    from mealservice.core import health
    from mealservice.core import pages as core_pages
    from mealservice.core.api import Api, register_docs_assets
    from mealservice.core.security import give_api_docs_their_policy
    from mealservice.counter import pages as counter_pages
    from mealservice.counter import views as counter_views
    from mealservice.delivery import pages as delivery_pages
    from mealservice.delivery import views as delivery_views
    from mealservice.elders import pages as elder_pages
    from mealservice.elders import views as elder_views
    from mealservice.meals import pages as meal_pages
    from mealservice.meals import views as meal_views
    from mealservice.menus import pages as menu_pages
    from mealservice.menus import views as menu_views
    from mealservice.oversight import pages as oversight_pages
    from mealservice.oversight import views as oversight_views
    from mealservice.places import pages as place_pages
    from mealservice.places import views as place_views
    from mealservice.policy import pages as policy_pages
    from mealservice.policy import views as policy_views

    api = Api(app)
    for blueprint in (
        account_views.blp,
        place_views.blp,
        elder_views.blp,
        policy_views.blp,
        menu_views.blp,
        meal_views.blp,
        balance_views.blp,
        counter_views.blp,
        delivery_views.blp,
        claim_views.blp,
        oversight_views.blp,
    ):
        # In the app's context: the document states choices the configuration makes.
        with app.app_context():
            api.register_blueprint(blueprint)
    register_docs_assets(app)
    give_api_docs_their_policy(app)
    if app.config["BENCHMARK_FLOORS"]:
        from mealservice.core import floors

        app.register_blueprint(floors.bp)
    for blueprint in (
        health.bp,
        core_pages.bp,
        account_pages.bp,
        place_pages.bp,
        elder_pages.bp,
        policy_pages.bp,
        counter_pages.bp,
        balance_pages.bp,
        meal_pages.bp,
        menu_pages.bp,
        delivery_pages.bp,
        claim_pages.bp,
        oversight_pages.bp,
    ):
        app.register_blueprint(blueprint)


def register_errors(app: Flask) -> None:
    from mealservice.core.errors import register_error_handlers

    register_error_handlers(app)


def register_request_hooks(app: Flask) -> None:
    from mealservice.accounts.loader import load_current_user
    from mealservice.core.db import commit_request_transaction
    from mealservice.core.i18n import register_template_helpers
    from mealservice.core.limits import init_app as init_limits
    from mealservice.core.logs import init_app as init_logs

    # First: a body over its limit is refused before any hook reads it.
    init_limits(app)
    app.before_request(load_current_user)
    app.after_request(commit_request_transaction)
    register_template_helpers(app)
    # After load_current_user: the request's log line names the caller it found.
    init_logs(app)


def register_receivers() -> None:
    """Higher packages listen to the signals of lower ones (connected once, at import)."""
    import mealservice.claims.receivers  # noqa: F401
    import mealservice.meals.receivers  # noqa: F401


def register_commands(app: Flask) -> None:
    from mealservice.cli import register

    register(app)
