"""The API's plumbing: flask-smorest with our error body, docs assets served locally,
and a Blueprint that documents and enforces the permission of each operation."""

import json
from functools import wraps
from http import HTTPStatus

import flask_smorest
import marshmallow as ma
from apispec import BasePlugin
from flask import Flask, send_from_directory
from swagger_ui_bundle import swagger_ui_path
from webargs import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.routing import BaseConverter

from mealservice.core.auth import require_permission
from mealservice.core.errors import ValidationFailed
from mealservice.core.schemas import InputSchema


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "snake_case error code"})
    message = ma.fields.String(required=True, metadata={"description": "a human sentence"})
    fields = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "validation reasons per field (dotted for nested)"},
    )
    detail = ma.fields.Dict(metadata={"description": "particulars of a refusal"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorDetailSchema, required=True)


def converter_schema(converter: BaseConverter) -> dict:
    """A path parameter's schema: what its route's converter accepts (`openapi_schema` on
    our converters); any other value names no route, hence no object."""
    return dict(getattr(converter, "openapi_schema", {"type": "string"}))


class PathParametersPlugin(BasePlugin):
    """Every operation with a path parameter declares 404: a value that names nothing, or
    does not even match the parameter's form, is `not_found` whatever the operation."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        if rule is None or not rule.arguments:
            return
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if 404 not in responses and "404" not in responses:
                responses[404] = HTTPStatus.NOT_FOUND.name


class BodyLimitPlugin(BasePlugin):
    """Every operation that takes a body declares 413: a body over the request size limit
    (core.limits) is refused before it is read, whatever the operation."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation and not {413, "413"} & responses.keys():
                responses[413] = HTTPStatus.REQUEST_ENTITY_TOO_LARGE.name


class SchemaRulesPlugin(BasePlugin):
    """A schema's rules across its fields, stated where JSON Schema can say them: an input
    schema's `openapi_rules` (a list of JSON Schema objects, e.g. "the card or the elder,
    not both") join its component as `allOf`, beside the validator that enforces them."""

    def schema_helper(self, name, definition, **kwargs):
        rules = getattr(kwargs.get("schema"), "openapi_rules", None)
        return {"allOf": list(rules)} if rules else None


# Every text an input schema takes refuses NUL (InputSchema), and says so.
NO_NUL_PATTERN = "^[^\\u0000]*$"


def _input_schema_of(field) -> ma.Schema | None:
    parent = field.parent
    while isinstance(parent, ma.fields.Field):
        parent = parent.parent
    return parent if isinstance(parent, InputSchema) else None


def field_rules(self, field, ret: dict, **kwargs) -> dict:
    """What a field's validators enforce that apispec leaves out: the NUL rule of every
    input text, a NoneOf's refused values, choices known only to the running app
    (metadata `openapi_enum`, a function called as the document is built, in the app's
    context), and a nullable nested object that is the object or null (apispec's OpenAPI
    3.0 form lets any object through)."""
    rules: dict = {}
    if (choices := field.metadata.get("openapi_enum")) is not None:
        rules["enum"] = list(choices())
    if (
        type(field) is ma.fields.String
        and _input_schema_of(field) is not None
        and not {"pattern", "enum", "format"} & (ret.keys() | rules.keys())
    ):
        rules["pattern"] = NO_NUL_PATTERN
    refused = [
        value
        for validator in field.validators
        if isinstance(validator, ma.validate.NoneOf)
        for value in validator.iterable
    ]
    if refused:
        rules["not"] = {"enum": refused}
    # apispec writes a Dict's additionalProperties after the metadata: a field that names
    # its keys says so again here.
    if "additionalProperties" in field.metadata:
        rules["additionalProperties"] = field.metadata["additionalProperties"]
    for branch in ret.get("anyOf", ()):
        if branch == {"type": "object", "nullable": True}:
            branch["enum"] = [None]
    return rules


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app=None, *, spec_kwargs=None, **kwargs):
        plugins = [
            PathParametersPlugin(),
            BodyLimitPlugin(),
            SchemaRulesPlugin(),
            *(spec_kwargs or {}).get("extra_plugins", ()),
        ]
        spec_kwargs = {**(spec_kwargs or {}), "extra_plugins": plugins}
        super().__init__(app, spec_kwargs=spec_kwargs, **kwargs)
        self.register_converter(BaseConverter, converter_schema)

    def _init_spec(self, **kwargs):
        super()._init_spec(**kwargs)
        self.ma_plugin.converter.add_attribute_function(field_rules)

    def _register_error_handlers(self):
        # core.errors registers the one handler for every HTTP error, API or page.
        pass


# The most digits an integer in a JSON body may have: far more than any id, count or
# amount holds (a BIGINT has 19), far fewer than the 4,300 past which Python refuses to
# read one at all. Between 20 and this, the schema's range names the field.
MAX_JSON_INTEGER_DIGITS = 50


class NumberTooLarge(ValueError):
    pass


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_INTEGER_DIGITS:
        raise NumberTooLarge(text[:20])
    return int(text)


def parse_json_body(raw: bytes):
    """A request body as JSON, refusing integers too large to be anything (NumberTooLarge)
    before Python's own limit turns them into a server error."""
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError(
            f"Bytes decoding error : {exc.reason}", doc=str(exc.object), pos=exc.start
        ) from exc
    return json.loads(text, parse_int=_bounded_int)


class ArgumentsParser(FlaskParser):
    """webargs' parser, reading every JSON body of the API through parse_json_body."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return missing
        try:
            return parse_json_body(req.get_data(cache=True))
        except RecursionError:
            # A body nested thousands deep is bad input, not a server failure.
            raise json.JSONDecodeError("The JSON is nested too deeply.", "", 0) from None
        except NumberTooLarge:
            raise ValidationFailed(
                {
                    "json": [
                        f"A number has more than {MAX_JSON_INTEGER_DIGITS} digits:"
                        " too large for any field."
                    ]
                },
                "A number in the body is too large to handle.",
            ) from None


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = ArgumentsParser()

    def arguments(self, schema, *args, **kwargs):
        """flask-smorest's, given an instance made once here: webargs makes a new one from
        a schema class on every request, and marshmallow's deep copy of the fields was a
        fixed cost of every call (a load keeps nothing on the schema between requests)."""
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)

    def requires(self, action: str, *errors: int, scope=None):
        """Enforce `action` from the permission table and document the refusals.

        `scope` looks up the object the route names (404 outside the caller's scope)
        before the role is judged. 401 and 403 are documented for every guarded
        operation; `errors` adds the operation's own refusals (409...)."""
        if scope is not None:
            errors = (*errors, 404)

        def decorator(func):
            @wraps(func)
            def guarded(*args, **kwargs):
                require_permission(action, scope, **kwargs)
                return func(*args, **kwargs)

            guarded = self.doc(**{"x-permission": action})(guarded)
            for status in sorted({401, 403, *errors}):
                guarded = self.alt_response(status, response=HTTPStatus(status).name)(guarded)
            return guarded

        return decorator


def register_docs_assets(app: Flask) -> None:
    """Swagger UI's files come from the swagger-ui-bundle package: no CDN needed."""

    @app.get("/api/v1/docs/assets/<path:filename>")
    def api_docs_assets(filename: str):
        return send_from_directory(swagger_ui_path, filename)
