"""Extensions, created unbound and initialised in the application factory. The database,
the limiter and Talisman are core's own (core/db.py, core/security.py), named here too so
the factory finds every extension in one place."""

from flask_babel import Babel
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

from mealservice.core.api import Api
from mealservice.core.db import db
from mealservice.core.security import limiter, talisman

migrate = Migrate()
babel = Babel()
csrf = CSRFProtect()
api = Api()

__all__ = ["api", "babel", "csrf", "db", "limiter", "migrate", "talisman"]
