# make demo: set up and start the service, its scheduler and the delivery platform simulator
# with the demo district on SQLite.
# make test: run the whole suite (on PostgreSQL too when TEST_DATABASE_URL is set).
# make screenshots: a picture of each role's home, for the README.
# make prod: migrate, then gunicorn (gunicorn.conf.py) and the one scheduler, in production.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: demo test lint format translations messages browser run bench vendor model-check screenshots

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

translations: $(BIN)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d mealservice/translations

# Re-extract the page texts after changing templates or labels; then translate the new ones.
messages: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o mealservice/translations/messages.pot .
	$(BIN)/pybabel update -i mealservice/translations/messages.pot -d mealservice/translations --width 100

# The scheduler (standing orders, closing ordering, no-shows) runs beside the server, in
# one shell whose trap stops it however the server ends.
demo: $(BIN)/.installed translations vendor
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	@echo "Serving the demo district on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	export PUBLIC_BASE_URL=http://$(HOST):$(PORT); \
	$(FLASK) scheduler & scheduler=$$!; \
	$(BIN)/python -m tools.delivery_simulator --port 5055 & simulator=$$!; \
	trap 'kill $$scheduler $$simulator 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

# The browser libraries the pages serve themselves, pinned in package-lock.json: jsQR
# decodes the cashier camera's QR codes where the browser has no BarcodeDetector.
vendor: mealservice/static/vendor/jsQR.js

mealservice/static/vendor/jsQR.js: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	mkdir -p mealservice/static/vendor
	cp node_modules/jsqr/dist/jsQR.js $@

# Headless Chromium and a CJK font for the browser tests, from Debian's packages.
browser:
	@if ! dpkg -s chromium fonts-wqy-zenhei >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; \
	fi
	@[ -x /usr/bin/chromium ] || echo "note: /usr/bin/chromium is missing; install Debian's chromium and fonts-wqy-zenhei for the browser tests"

# Two workers (pytest-xdist), each on a database of its own, a module's tests kept together
# on one; each run ends with its 15 slowest tests: a test that creeps up that list is a defect.
PYTEST_ARGS ?= -n 2 --dist loadscope --durations=15
test: $(BIN)/.installed translations browser vendor
	@echo "== the suite on SQLite"
	env -u TEST_DATABASE_URL $(BIN)/pytest $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then echo "== the suite on PostgreSQL"; $(BIN)/pytest $(PYTEST_ARGS); fi

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Each role's home as the README shows it (docs/screenshots/): the demo seeded into a
# temporary SQLite database at a fixed instant, pictured in headless Chromium.
screenshots: $(BIN)/.installed translations browser vendor
	$(BIN)/python -m tools.screenshots

# The scan benchmark: a synthetic district under gunicorn, ratios against floors measured in
# the same run (bench/scan.py --help). BENCH_ARGS="--database-url postgresql://..." for PostgreSQL.
bench: $(BIN)/.installed
	$(BIN)/python bench/scan.py $(BENCH_ARGS)

# Production on one machine: the migrations, then gunicorn (gunicorn.conf.py: WEB_CONCURRENCY
# workers, BIND, ACCESS_LOG) with the one scheduler beside it, in one shell whose trap stops
# the scheduler however the server ends. DATABASE_URL and the secrets come from the
# environment (README, Deployment); the service refuses to start without them. Delivery is
# by the canteens' volunteers unless DELIVERY_PLATFORMS names platforms, each with secrets of
# its own (the simulator's published ones refuse to start).
.PHONY: prod soak
prod: $(BIN)/.installed translations vendor
	@if [ -z "$$DATABASE_URL" ]; then \
		echo "make prod needs DATABASE_URL, e.g. postgresql://mealservice@127.0.0.1:5432/mealservice" >&2; \
		exit 2; \
	fi
	MEALSERVICE_ENV=production $(FLASK) db upgrade
	@echo "Serving on $${BIND:-127.0.0.1:8000} with the scheduler beside it (Ctrl-C stops both)"
	export MEALSERVICE_ENV=production; \
	$(FLASK) scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn --config gunicorn.conf.py

# The lunch-rush soak: scans, orders, platform reports and claim reading at once for a while,
# against floors measured in the same run (bench/soak.py --help).
# SOAK_ARGS="--seconds 60 --database-url postgresql://..." for PostgreSQL.
soak: $(BIN)/.installed
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

# The stateful model test of public money, run long: every money path in random order
# against the rules that must hold (tests/test_money_model.py); the suite runs it short.
MODEL_CHECK_EXAMPLES ?= 400
MODEL_CHECK_STEPS ?= 60
model-check: $(BIN)/.installed translations
	MODEL_CHECK_EXAMPLES=$(MODEL_CHECK_EXAMPLES) MODEL_CHECK_STEPS=$(MODEL_CHECK_STEPS) \
		$(BIN)/pytest -p no:randomly tests/test_money_model.py
