from mealservice.core.api import Blueprint
from mealservice.delivery import models  # noqa: F401 (the tables are part of the schema)

blp = Blueprint(
    "delivery", __name__, url_prefix="/api/v1", description="Delivery runs and platform reports"
)
