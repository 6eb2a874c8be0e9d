"""Extensions, created unbound and initialised in the application factory. The database,
the limiter and Talisman are core's own (core/db.py, core/security.py), named here too so
the factory finds every extension in one place. The API (core/api.py's Api) is not among
them: the factory makes one an app, because its document states the app's configuration
(the delivery platforms it knows), and a second app in the process must not rewrite the
first one's."""

from flask_babel import Babel
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

from mealservice.core.db import db
from mealservice.core.security import limiter, talisman

migrate = Migrate()
babel = Babel()
csrf = CSRFProtect()

__all__ = ["babel", "csrf", "db", "limiter", "migrate", "talisman"]
