from flask import Blueprint

bp = Blueprint("claims_pages", __name__)
