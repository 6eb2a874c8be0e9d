"""The oversight pages: one blueprint, its pages in a module a concern."""

from flask import Blueprint

bp = Blueprint("oversight_pages", __name__)

# The pages register themselves on bp when their modules are imported.
from mealservice.oversight.pages import (  # noqa: E402, F401
    audit,
    dashboard,
    homes,
    public,
    register,
    risk,
    warnings,
)
