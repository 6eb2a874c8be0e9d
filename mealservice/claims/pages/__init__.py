"""The claims pages: one blueprint, its pages in a module a concern."""

from flask import Blueprint

bp = Blueprint("claims_pages", __name__)

# The pages register themselves on bp when their modules are imported.
from mealservice.claims.pages import capacity, claims, exports  # noqa: E402, F401
