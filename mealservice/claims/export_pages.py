from flask import Blueprint

bp = Blueprint("claim_exports_pages", __name__)
