"""The import page: officials upload a spreadsheet of elders and see what became of
each row, in their language."""

from io import BytesIO

from flask import Blueprint, render_template, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField
from wtforms.validators import DataRequired

from mealservice.core.auth import require_permission
from mealservice.core.i18n import select_locale
from mealservice.core.limits import body_limit
from mealservice.elders import importing
from mealservice.elders.importing import N_

bp = Blueprint("elders_pages", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The reasons the registration checks give most often, marked so the catalog translates
# them on this page; a reason not listed here is shown as the API words it.
KNOWN_REASONS = (
    N_("Missing data for required field."),
    N_("Not a valid number."),
    N_("Use 7–20 digits, spaces or dashes."),
    N_("An ID number has 18 characters."),
    N_("An ID number is 17 digits and a digit or X."),
    N_("Characters 7-14 are not a real birth date."),
    N_("Characters 7-14 are not a possible birth date."),
    N_("The check character does not match; is a digit mistyped?"),
    N_("No such district in your scope."),
    N_("No such community in the elder's district."),
    N_("List each category once."),
    N_("Longer than maximum length 50."),
    N_("Longer than maximum length 200."),
    N_("Longer than maximum length 300."),
    N_("Must be greater than or equal to -90 and less than or equal to 90."),
    N_("Must be greater than or equal to -180 and less than or equal to 180."),
    N_("Text may not contain NUL characters."),
)


class ImportForm(FlaskForm):
    file = FileField(
        _l("Spreadsheet (.xlsx)"),
        validators=[FileRequired(_l("Choose the .xlsx file to import."))],
    )
    consent = BooleanField(
        _l("Written consent was collected from every elder in this file."),
        validators=[DataRequired(_l("Confirm that written consent was collected first."))],
    )


@bp.route("/elders/import", methods=["GET", "POST"])
@body_limit("IMPORT_MAX_REQUEST_BYTES")
def import_elders():
    user = require_permission("elders.write")
    form = ImportForm()
    outcome = None
    if form.validate_on_submit():
        try:
            outcome = importing.import_workbook(
                user, form.file.data.stream, recorded_by=user.username
            )
        except importing.UnreadableWorkbook as error:
            form.file.errors.append(translated(error.reason))
            # 422: the request's transaction is rolled back, so a file stopped midway
            # (out of time) leaves nothing imported.
            return _page(form, None), 422
        outcome = shown(outcome)
        # Consent is confirmed for one file: the next upload asks again.
        form = ImportForm(formdata=None)
    return _page(form, outcome)


def _page(form: ImportForm, outcome: dict | None) -> str:
    limits = importing.Limits.configured()
    return render_template(
        "elders/import.html",
        form=form,
        outcome=outcome,
        max_rows=limits.rows,
        max_mb=importing.megabytes(limits.file_bytes),
    )


@bp.get("/elders/import/template.xlsx")
def import_template():
    user = require_permission("elders.write")
    return send_file(
        BytesIO(importing.template_workbook(user)),
        mimetype=XLSX,
        as_attachment=True,
        download_name="老人导入模板.xlsx",
    )


def translated(reason: importing.Reason) -> str:
    return _(reason.text, **reason.params)


def shown(outcome: dict) -> dict:
    """The import's outcome for the page: columns named as in the sheet, reasons translated."""
    chinese = select_locale() == "zh"

    def column(name: str) -> str:
        if name == importing.WHOLE_ROW:
            return _("Row")
        return importing.HEADER_OF[name] if chinese else name

    rows = [
        {
            **row,
            "reasons": [
                (column(name), [translated(reason) for reason in reasons])
                for name, reasons in row.get("errors", {}).items()
            ],
        }
        for row in outcome["rows"]
    ]
    return {**outcome, "rows": rows}
