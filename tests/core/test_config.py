import json

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
