"""Shared schema pieces: paging, locations, strict money."""

import marshmallow as ma
from sqlalchemy import func, select

from mealservice.extensions import db


class PageQuery(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


class LocationSchema(ma.Schema):
    lat = ma.fields.Float(required=True, validate=ma.validate.Range(min=-90, max=90))
    lng = ma.fields.Float(required=True, validate=ma.validate.Range(min=-180, max=180))


def Fen(**kwargs) -> ma.fields.Integer:
    """Money as an integer number of fen; 12.5 or "12" are refused, not rounded."""
    kwargs.setdefault("validate", ma.validate.Range(min=0))
    return ma.fields.Integer(strict=True, **kwargs)


def page_of_query(query, page: int, per_page: int) -> dict:
    """One page of a SQL query as the API's collection body."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "next": page + 1 if page * per_page < total else None}


def page_of_list(items: list, page: int, per_page: int) -> dict:
    start = (page - 1) * per_page
    return {
        "items": items[start : start + per_page],
        "next": page + 1 if start + per_page < len(items) else None,
    }


def collection_schema(item_schema, name: str) -> type[ma.Schema]:
    """The `{items, next}` body of a collection, for dumping and for the OpenAPI document."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "next": ma.fields.Integer(allow_none=True),
        },
        name=name,
    )
