import json
import multiprocessing

import pytest
from flask import Flask
from werkzeug.security import check_password_hash

from config import (
    SECRET_NAMES,
    DevelopmentConfig,
    ProductionConfig,
    TestingConfig,
    config_from_environment,
    normalise_database_url,
)
from mealservice import create_app
from mealservice.accounts.services import hash_password


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h:5432/d", "postgresql+psycopg://u@h:5432/d"),
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////tmp/x.sqlite", "sqlite:////tmp/x.sqlite"),
    ],
)
def test_postgres_urls_are_taken_as_psycopg3(given, expected):
    assert normalise_database_url(given) == expected


def test_environment_chooses_the_configuration(monkeypatch):
    monkeypatch.delenv("MEALSERVICE_ENV", raising=False)
    assert config_from_environment() is DevelopmentConfig
    monkeypatch.setenv("MEALSERVICE_ENV", "production")
    assert config_from_environment() is ProductionConfig
    monkeypatch.setenv("MEALSERVICE_ENV", "staging")
    with pytest.raises(RuntimeError, match="MEALSERVICE_ENV"):
        config_from_environment()


def without_secrets(monkeypatch):
    for name in SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)


def with_secrets(monkeypatch):
    for name in SECRET_NAMES:
        monkeypatch.setenv(name, f"{name.lower()}-from-the-environment")


@pytest.mark.parametrize("missing", SECRET_NAMES)
def test_production_refuses_to_start_without_any_of_its_secrets(monkeypatch, tmp_path, missing):
    with_secrets(monkeypatch)
    monkeypatch.delenv(missing)
    with pytest.raises(RuntimeError, match=missing):
        ProductionConfig.load_secrets(str(tmp_path))
    assert not (tmp_path / "secrets.json").exists()


def test_production_refuses_to_start_without_a_database_url(monkeypatch):
    with_secrets(monkeypatch)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        create_app(ProductionConfig)


def test_production_takes_secrets_from_the_environment(monkeypatch, tmp_path):
    with_secrets(monkeypatch)
    assert ProductionConfig.load_secrets(str(tmp_path)) == {
        name: f"{name.lower()}-from-the-environment" for name in SECRET_NAMES
    }


def test_development_generates_secrets_once_into_the_instance_folder(monkeypatch, tmp_path):
    without_secrets(monkeypatch)
    first = DevelopmentConfig.load_secrets(str(tmp_path))
    second = DevelopmentConfig.load_secrets(str(tmp_path))
    assert set(first) == set(SECRET_NAMES)
    assert all(len(value) >= 40 for value in first.values())
    assert len(set(first.values())) == len(SECRET_NAMES), "each secret is its own"
    assert first == second
    stored = tmp_path / "secrets.json"
    assert json.loads(stored.read_text()) == first
    assert stored.stat().st_mode & 0o077 == 0, "the secrets file must be private to its owner"


def load_secrets_with_the_others(barrier, instance_path: str, results) -> None:
    barrier.wait()
    try:
        results.put(DevelopmentConfig.load_secrets(instance_path))
    except Exception as error:  # noqa: BLE001 - the test reports what any process met
        results.put(repr(error))


def test_processes_starting_together_share_one_set_of_secrets(monkeypatch, tmp_path):
    # Gunicorn's workers, or the test runner's, on a fresh clone: each once read the file
    # another had created but not yet written, or made secrets of its own.
    without_secrets(monkeypatch)
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(8), context.Queue()
    processes = [
        context.Process(target=load_secrets_with_the_others, args=(barrier, str(tmp_path), results))
        for _ in range(8)
    ]
    for process in processes:
        process.start()
    loaded = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert all(isinstance(secrets, dict) for secrets in loaded), loaded
    assert all(secrets == loaded[0] for secrets in loaded)
    assert json.loads((tmp_path / "secrets.json").read_text()) == loaded[0]
    assert set(loaded[0]) == set(SECRET_NAMES)


def test_an_environment_secret_wins_over_the_stored_one(monkeypatch, tmp_path):
    without_secrets(monkeypatch)
    DevelopmentConfig.load_secrets(str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "operator-chosen")
    assert TestingConfig.load_secrets(str(tmp_path))["SECRET_KEY"] == "operator-chosen"


def test_the_time_zone_defaults_to_shanghai(app):
    assert app.config["TIMEZONE"] == "Asia/Shanghai"


def test_an_unknown_timezone_setting_refuses_to_start(monkeypatch):
    with pytest.raises(RuntimeError, match="IANA"):
        create_app(TestingConfig, TIMEZONE="Mars/Olympus", DATABASE_URL="sqlite://")


def test_passwords_are_hashed_with_scrypt_outside_the_test_suite():
    assert DevelopmentConfig.PASSWORD_HASH_METHOD == "scrypt"
    assert ProductionConfig.PASSWORD_HASH_METHOD == "scrypt"
    hashes = {}
    for config in (ProductionConfig, TestingConfig):
        app = Flask(__name__)
        app.config.from_object(config)
        with app.app_context():
            hashes[config] = hash_password("correct-horse-9")
    assert hashes[ProductionConfig].startswith("scrypt:")
    # The suite's cheap hash is still a real one, checked the same way.
    assert hashes[TestingConfig].startswith("pbkdf2:sha256:1$")
    for hashed in hashes.values():
        assert check_password_hash(hashed, "correct-horse-9")
        assert not check_password_hash(hashed, "correct-horse-8")


def production_app(monkeypatch, tmp_path, platforms):
    with_secrets(monkeypatch)
    return create_app(
        ProductionConfig,
        DATABASE_URL="sqlite:///" + str(tmp_path / "production.sqlite"),
        DELIVERY_PLATFORMS=json.dumps(platforms),
    )


def test_production_offers_only_the_volunteers_unless_platforms_are_named():
    assert json.loads(ProductionConfig.DELIVERY_PLATFORMS) == {
        "volunteer": {"adapter": "volunteer"}
    }
    assert "simulator" in json.loads(DevelopmentConfig.DELIVERY_PLATFORMS), "make demo's"


def test_production_starts_with_the_volunteers_alone(monkeypatch, tmp_path):
    app = production_app(monkeypatch, tmp_path, {"volunteer": {"adapter": "volunteer"}})
    assert app.config["ENV_NAME"] == "production"


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        # The simulator named with nothing else: its adapter fills in the published secrets.
        ({"adapter": "simulator"}, "webhook_secret is the simulator's published default"),
        ({"adapter": "simulator"}, "api_key is the simulator's published default"),
        (
            {"adapter": "simulator", "api_key": "k" * 20, "webhook_secret": "simulator-secret"},
            "webhook_secret is the simulator's published default",
        ),
        (
            {"adapter": "http", "base_url": "https://courier.example", "api_key": "k" * 20},
            "webhook_secret is missing",
        ),
        (
            {"adapter": "http", "base_url": "https://c.example", "webhook_secret": "s" * 20},
            "api_key is missing",
        ),
        (
            {
                "adapter": "http",
                "base_url": "https://c.example",
                "api_key": "k" * 20,
                "webhook_secret": "short-secret",
            },
            "webhook_secret is shorter than 16 characters",
        ),
        ({"adapter": "pigeon"}, "adapter 'pigeon' is not one of"),
    ],
)
def test_production_refuses_to_start_with_a_platform_secret_missing_short_or_published(
    monkeypatch, tmp_path, settings, named
):
    platforms = {"volunteer": {"adapter": "volunteer"}, "courier": settings}
    with pytest.raises(RuntimeError, match="DELIVERY_PLATFORMS") as refused:
        production_app(monkeypatch, tmp_path, platforms)
    assert f"platform 'courier': {named}" in str(refused.value)


def test_production_runs_the_simulator_only_named_with_secrets_of_its_own(monkeypatch, tmp_path):
    own = {"adapter": "simulator", "api_key": "a" * 24, "webhook_secret": "b" * 24}
    app = production_app(monkeypatch, tmp_path, {"simulator": own})
    assert json.loads(app.config["DELIVERY_PLATFORMS"]) == {"simulator": own}


def test_development_and_the_demo_keep_the_simulators_defaults(app):
    # The suite's app is the testing configuration, as `make demo` runs development's.
    assert "simulator" in json.loads(app.config["DELIVERY_PLATFORMS"])
