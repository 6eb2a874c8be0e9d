"""OutputSchema's quicker dump gives marshmallow's answer, field for field."""

from datetime import UTC, datetime
from enum import StrEnum
from types import SimpleNamespace

import marshmallow as ma

from mealservice.core.schemas import OutputSchema, UtcDateTime


class Source(StrEnum):
    CARD = "card"


class Answer(ma.Schema):
    plain = ma.fields.Integer(allow_none=True)
    renamed = ma.fields.Integer(attribute="other")
    dotted = ma.fields.String(attribute="inner.name", allow_none=True)
    keyed = ma.fields.String(data_key="key")
    defaulted = ma.fields.Boolean(dump_default=True)
    source = ma.fields.String()
    at = UtcDateTime(allow_none=True)
    method = ma.fields.Method("dump_method")

    def dump_method(self, obj) -> str:
        return "made"


class QuickAnswer(OutputSchema, Answer):
    pass


def test_an_output_schema_dumps_as_marshmallow_does():
    at = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    objects = [
        SimpleNamespace(
            plain=1, other=2, inner=SimpleNamespace(name="x"), keyed="k", source=Source.CARD, at=at
        ),
        SimpleNamespace(plain=None, at=None, inner=None),
        SimpleNamespace(),
        {"plain": 3, "keyed": "from a mapping", "other": 4},
        None,
    ]
    for obj in objects:
        assert QuickAnswer().dump(obj) == Answer().dump(obj), obj
    assert QuickAnswer(only=("plain", "at")).dump(objects[0]) == Answer(only=("plain", "at")).dump(
        objects[0]
    )
    assert QuickAnswer(many=True).dump(objects[:3]) == Answer(many=True).dump(objects[:3])
