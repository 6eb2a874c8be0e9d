"""Delivery pages: the manager's runs, the volunteer's drops, route sheets and labels."""

from flask import Blueprint

bp = Blueprint("delivery_pages", __name__)
