"""Relatives' and elders' pages for the prepaid meal balance."""

from flask import Blueprint

bp = Blueprint("balances_pages", __name__)
