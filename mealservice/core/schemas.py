"""Shared schema pieces: the input base, ids, paging, locations, strict money."""

from collections.abc import Mapping
from datetime import UTC, date

import marshmallow as ma
from sqlalchemy import func, select
from werkzeug.routing import BaseConverter, IntegerConverter, ValidationError

from mealservice.core.db import db

# Ids are 32-bit integers in both databases; larger numbers name nothing.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<id:name>` in routes: a positive integer that fits an id column, else 404."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=MAX_ID)


class CodeConverter(BaseConverter):
    """`<code:name>` in routes: a district or community code; anything else is a 404."""

    regex = r"[A-Za-z0-9_-]{1,20}"
    openapi_schema = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,20}$"}


class CardIdConverter(BaseConverter):
    """`<card:name>` in routes: 16 hex digits, the random id printed in every card."""

    regex = r"[0-9a-f]{16}"
    openapi_schema = {"type": "string", "pattern": "^[0-9a-f]{16}$"}


class DateConverter(BaseConverter):
    """`<date:name>` in routes: an ISO date (YYYY-MM-DD); anything else is a 404."""

    regex = r"\d{4}-\d{2}-\d{2}"
    openapi_schema = {"type": "string", "format": "date"}

    def to_python(self, value: str) -> date:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationError() from None

    def to_url(self, value: date) -> str:
        return value.isoformat()


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    return isinstance(value, list | tuple) and any(_has_nul(item) for item in value)


class InputSchema(ma.Schema):
    """Base of every input schema: text with NUL characters is refused by field, since
    PostgreSQL cannot store it and nobody types it. Bodies, query strings (a mapping that
    is no dict) and lists of text alike."""

    @ma.pre_load
    def refuse_nul_characters(self, data, **kwargs):
        if isinstance(data, Mapping):
            bad = {
                key: ["Text may not contain NUL characters."]
                for key, value in data.items()
                if _has_nul(value)
            }
            if bad:
                raise ma.ValidationError(bad)
        return data


def required_when(field: str, value: str, *required: str) -> dict:
    """An input schema's rule, for its `openapi_rules`: when `field` is `value`, the
    `required` fields are given."""
    return {
        "anyOf": [
            {"properties": {field: {"not": {"enum": [value]}}}},
            {"required": list(required)},
        ]
    }


class UtcDateTime(ma.fields.AwareDateTime):
    """Times go out in UTC, however they came in: one form for every client."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.astimezone(UTC).isoformat()


def Id(**kwargs) -> ma.fields.Integer:
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=MAX_ID), **kwargs)


class PageQuery(InputSchema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


class LocationSchema(InputSchema):
    lat = ma.fields.Float(required=True, validate=ma.validate.Range(min=-90, max=90))
    lng = ma.fields.Float(required=True, validate=ma.validate.Range(min=-180, max=180))


def Fen(**kwargs) -> ma.fields.Integer:
    """Money as an integer number of fen; 12.5 or "12" are refused, not rounded."""
    kwargs.setdefault("validate", ma.validate.Range(min=0, max=MAX_ID))
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
