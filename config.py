"""Configuration classes, read from the environment.

Secrets follow one rule: in production they must come from the environment and the
service refuses to start without them; elsewhere a missing secret is generated once and
kept in the instance folder, so no key ever lives in this file or the repository.
"""

import fcntl
import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

# The names of every secret the service needs; later features add theirs here.
# ELDER_DATA_KEY encrypts ID numbers at rest; ID_LOOKUP_KEY keys their look-up hash;
# CARD_SIGNING_KEY seeds the Ed25519 key that signs elder cards.
SECRET_NAMES = ("SECRET_KEY", "ELDER_DATA_KEY", "ID_LOOKUP_KEY", "CARD_SIGNING_KEY")


def normalise_database_url(url: str) -> str:
    """Take `postgres://` and `postgresql://` URLs as psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    ENV_NAME = "development"
    TIMEZONE = os.environ.get("TIMEZONE", "Asia/Shanghai")
    DATABASE_URL = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Seconds a SQLite writer waits for the lock before giving up.
    SQLITE_BUSY_TIMEOUT_S = float(os.environ.get("SQLITE_BUSY_TIMEOUT_S", "30"))
    # How long a request's statements may run (PostgreSQL's statement_timeout, set per
    # transaction), under gunicorn's 30-second timeout: a request held by a lock ends with
    # 503 `busy` rather than working on for a client that gave up.
    REQUEST_DEADLINE_S = float(os.environ.get("REQUEST_DEADLINE_S", "25"))
    # The largest request body read at all (bytes; JSON for the API, the pages' forms): a
    # larger one is refused with 413 before it is read or parsed, login and webhooks
    # included. Werkzeug enforces it while a body without Content-Length streams in too.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(1024 * 1024)))
    # The elder import (API and page) takes a workbook: its upload has a limit of its own,
    # the file's plus room for the form around it. The .xlsx is a zip: what it unpacks to is
    # bounded (openpyxl holds a sheet's shared strings in memory), and so is how much one
    # part may expand (a crafted "zip bomb" expands hundreds of times; a sheet, about 10).
    IMPORT_MAX_FILE_BYTES = int(os.environ.get("IMPORT_MAX_FILE_BYTES", str(5 * 1024 * 1024)))
    IMPORT_MAX_REQUEST_BYTES = IMPORT_MAX_FILE_BYTES + 64 * 1024
    IMPORT_MAX_UNPACKED_BYTES = int(
        os.environ.get("IMPORT_MAX_UNPACKED_BYTES", str(20 * 1024 * 1024))
    )
    IMPORT_MAX_COMPRESSION_RATIO = int(os.environ.get("IMPORT_MAX_COMPRESSION_RATIO", "100"))
    # Rows per file, and the seconds one import may take, reading included: under the
    # request deadline (REQUEST_DEADLINE_S), so a slow file ends with a 422 that names it
    # and nothing imported, not with a cancelled statement or a killed worker.
    IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "5000"))
    IMPORT_TIME_BUDGET_S = float(os.environ.get("IMPORT_TIME_BUDGET_S", "20"))
    TOKEN_TTL_HOURS = int(os.environ.get("TOKEN_TTL_HOURS", "12"))
    # A counter terminal's token lasts long (it is revoked, not left to expire), and so does
    # the browser session of a tablet signed in as a terminal.
    TERMINAL_TOKEN_DAYS = int(os.environ.get("TERMINAL_TOKEN_DAYS", "365"))
    PERMANENT_SESSION_LIFETIME = timedelta(days=TERMINAL_TOKEN_DAYS)
    # The id printed into new cards, and older keys that still verify until retired:
    # "1:<hex public key>,2:<hex public key>".
    CARD_KEY_ID = int(os.environ.get("CARD_KEY_ID", "1"))
    CARD_RETIRED_KEYS = os.environ.get("CARD_RETIRED_KEYS", "")
    CARD_VALID_YEARS = int(os.environ.get("CARD_VALID_YEARS", "5"))
    # Delivery platforms, one block each: {"name": {"adapter": "http" | "simulator" |
    # "volunteer", "base_url": ..., "api_key": ..., "webhook_secret": ...}}. The default is
    # the canteens' own volunteers and the local simulator `make demo` starts (production's
    # is the volunteers alone).
    DELIVERY_PLATFORMS = os.environ.get(
        "DELIVERY_PLATFORMS",
        json.dumps(
            {
                "volunteer": {"adapter": "volunteer"},
                "simulator": {
                    "adapter": "simulator",
                    "base_url": "http://127.0.0.1:5055",
                    "api_key": "simulator-key",
                    "webhook_secret": "simulator-secret",
                },
            }
        ),
    )
    # Where platforms call back: this service's address as they reach it.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # At most this many orders in one delivery run; more are split by community.
    DELIVERY_RUN_SIZE = int(os.environ.get("DELIVERY_RUN_SIZE", "20"))
    # A platform delivery with no report for this long is asked about; one the platform no
    # longer knows is ended as failed (platform_lost).
    DELIVERY_LOST_AFTER_MINUTES = int(os.environ.get("DELIVERY_LOST_AFTER_MINUTES", "120"))
    # Days after a month's end before its claim is made: longer than an offline scan waits.
    CLAIM_GRACE_DAYS = int(os.environ.get("CLAIM_GRACE_DAYS", "2"))
    # Early warnings: a regular diner (REGULAR_MEALS_PER_WEEK meals in each of the last
    # REGULAR_WEEKS weeks) not seen for ABSENCE_DAYS days raises a welfare alert; a place
    # whose utilisation stays under FAILING_UTILISATION for a month is flagged as failing.
    REGULAR_MEALS_PER_WEEK = int(os.environ.get("REGULAR_MEALS_PER_WEEK", "3"))
    REGULAR_WEEKS = int(os.environ.get("REGULAR_WEEKS", "2"))
    ABSENCE_DAYS = int(os.environ.get("ABSENCE_DAYS", "3"))
    FAILING_UTILISATION = float(os.environ.get("FAILING_UTILISATION", "0.3"))
    # bench/scan.py's reference endpoints; off unless the benchmark starts the server.
    BENCHMARK_FLOORS = os.environ.get("BENCHMARK_FLOORS") == "1"

    # How passwords are hashed: werkzeug's generate_password_hash method. Not read from
    # the environment, so no deployment can weaken it; each hash records its method, so
    # check_password_hash verifies whatever made it.
    PASSWORD_HASH_METHOD = "scrypt"

    # Log lines: json or text; unset, json in production and text elsewhere (core/logs.py).
    LOG_FORMAT = os.environ.get("LOG_FORMAT")

    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = ("zh", "en")

    # Flask-WTF: the check runs in core.auth, where bearer-token API calls are told apart.
    WTF_CSRF_CHECK_DEFAULT = False
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Secure cookies need HTTPS: on in production, off for plain-HTTP intranet installs
    # (SESSION_COOKIE_SECURE=0) and on a developer's machine.
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    # Proxies in front of the service (a load balancer, nginx) whose X-Forwarded-For and
    # X-Forwarded-Proto are trusted: the login limits count the client's address, not theirs.
    PROXY_HOPS = int(os.environ.get("PROXY_HOPS", "0"))

    # Login throttling (Flask-Limiter). Its memory store is per process, so with several
    # workers or machines REDIS_URL must be set for the counts to be shared.
    REDIS_URL = os.environ.get("REDIS_URL")
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "mealservice")
    RATELIMIT_HEADERS_ENABLED = True
    # Attempts from one address, and failed attempts on one account: past the second the
    # account is locked for the rest of the window, even with the right password.
    LOGIN_ATTEMPTS_PER_ADDRESS = os.environ.get("LOGIN_ATTEMPTS_PER_ADDRESS", "30 per minute")
    LOGIN_FAILURES_PER_ACCOUNT = os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "5 per 15 minutes")
    # Wrong drop codes (the six digits that prove a delivery) per order and per account
    # typing them: past either, no code is taken for the rest of the window.
    DROP_CODE_FAILURES_PER_ORDER = os.environ.get(
        "DROP_CODE_FAILURES_PER_ORDER", "5 per 15 minutes"
    )
    DROP_CODE_FAILURES_PER_ACCOUNT = os.environ.get(
        "DROP_CODE_FAILURES_PER_ACCOUNT", "10 per 15 minutes"
    )

    API_TITLE = "mealservice"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"

    @classmethod
    def default_database_url(cls, instance_path: str) -> str:
        return "sqlite:///" + str(Path(instance_path) / "mealservice.sqlite")

    @classmethod
    def load_secrets(cls, instance_path: str) -> dict:
        """Secrets from the environment, else generated once into the instance folder."""
        found = {name: os.environ[name] for name in SECRET_NAMES if os.environ.get(name)}
        missing = [name for name in SECRET_NAMES if name not in found]
        if not missing:
            return found
        store = Path(instance_path) / "secrets.json"
        store.parent.mkdir(parents=True, exist_ok=True)
        # Processes that start together (gunicorn's workers, the test runner's) must all
        # read the secrets one of them made, never a file half written: each reads, and
        # writes if it must, under an exclusive lock, and the file is replaced whole.
        with open(store.with_name("secrets.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            stored = json.loads(store.read_text()) if store.exists() else {}
            if any(name not in stored for name in missing):
                for name in missing:
                    stored.setdefault(name, secrets.token_urlsafe(48))
                written = store.with_name(f"secrets.{os.getpid()}.tmp")
                descriptor = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "w") as file:
                    file.write(json.dumps(stored, indent=2))
                os.replace(written, store)
        return {**{name: stored[name] for name in missing}, **found}


class DevelopmentConfig(Config):
    ENV_NAME = "development"


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    # The suite logs in thousands of times from one address; the login-limit tests build
    # their own app with the limiter on.
    RATELIMIT_ENABLED = False
    DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    # scrypt costs a quarter of a second a hash, and the suite hashes thousands of
    # passwords; one round of PBKDF2 keeps the hashes real (check_password_hash reads the
    # method from the hash) at no cost. Only the tests: the other configs keep scrypt.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1"


class ProductionConfig(Config):
    ENV_NAME = "production"
    # Only the canteens' volunteers unless the deployment names its platforms: the local
    # simulator and its published secrets are for `make demo` (mealservice/__init__.py
    # refuses to start with a platform whose secret is missing, short or published).
    DELIVERY_PLATFORMS = os.environ.get(
        "DELIVERY_PLATFORMS", json.dumps({"volunteer": {"adapter": "volunteer"}})
    )
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") != "0"

    @classmethod
    def default_database_url(cls, instance_path: str) -> str:
        raise RuntimeError("DATABASE_URL must be set in production")

    @classmethod
    def load_secrets(cls, instance_path: str) -> dict:
        missing = [name for name in SECRET_NAMES if not os.environ.get(name)]
        if missing:
            raise RuntimeError(
                "refusing to start in production without the secrets: " + ", ".join(missing)
            )
        return {name: os.environ[name] for name in SECRET_NAMES}


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_environment() -> type[Config]:
    name = os.environ.get("MEALSERVICE_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"MEALSERVICE_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    return CONFIGS[name]
