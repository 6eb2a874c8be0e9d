"""The oversight API: one blueprint, its routes in a module a concern."""

from mealservice.core.api import Blueprint

blp = Blueprint(
    "oversight",
    __name__,
    url_prefix="/api/v1",
    description="Oversight: the district dashboard, satisfaction and the access log, risk"
    " scores and claim sampling, filing, grading, the blacklist and inspections",
)

# The routes register themselves on blp when their modules are imported.
from mealservice.oversight.views import dashboard, register, risk, warnings  # noqa: E402, F401
