"""The counter's pages: the cashier page, counter terminals, the end-of-shift report."""

from flask import Blueprint

bp = Blueprint("counter_pages", __name__)
