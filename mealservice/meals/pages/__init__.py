"""The meals pages: one blueprint, its pages in a module a concern."""

from flask import Blueprint

bp = Blueprint("meals_pages", __name__)

# The pages register themselves on bp when their modules are imported.
from mealservice.meals.pages import (  # noqa: E402, F401
    home,
    kitchen,
    ordering,
    phone_order,
    standing,
)
