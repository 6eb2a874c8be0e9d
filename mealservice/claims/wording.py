"""How a claim's anomalies read to people: their names and their particulars, in the
reader's language. One owner for the wording: the claim page, the preview, the printable
claim and the claim's workbook all say an anomaly in these words.

Elders are named masked, as on every claim line."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mealservice.claims.models import AnomalyCode, Claim
from mealservice.core import refusals
from mealservice.core.db import db
from mealservice.core.i18n import SLOT_WORDS
from mealservice.core.privacy import mask_name
from mealservice.elders.models import Elder, ElderStatus
from mealservice.meals.models import OrderStatus
from mealservice.places.models import Canteen

ANOMALY_WORDS = {
    AnomalyCode.DUPLICATE_IN_SLOT: _l("More than one meal in the same slot"),
    AnomalyCode.TWO_PLACES: _l("Meals at two places within an hour"),
    AnomalyCode.OVER_CAPACITY: _l("More meals than seats"),
    AnomalyCode.HOLIDAY_SUBSIDY: _l("Subsidy given on a holiday"),
    AnomalyCode.DELIVERY_UNCONFIRMED: _l("Delivery not confirmed as delivered"),
    AnomalyCode.CARD_NOT_VALID: _l("Card reported lost or replaced"),
    AnomalyCode.ELDER_INACTIVE: _l("Elder has died or moved away"),
    AnomalyCode.OFFLINE_CONFLICT: _l("Offline scan conflict"),
    AnomalyCode.SAMPLE_FAILED: _l("Denied on a random phone check"),
}

ORDER_STATUS_WORDS = {
    OrderStatus.CONFIRMED: _l("confirmed, not sent"),
    OrderStatus.CANCELLED: _l("cancelled"),
    OrderStatus.CONSUMED: _l("eaten at the counter"),
    OrderStatus.NO_SHOW: _l("nobody came"),
    OrderStatus.DISPATCHED: _l("on the way, not marked delivered"),
    OrderStatus.FAILED: _l("delivery failed"),
}


def anomaly_name(code: str) -> str:
    return str(ANOMALY_WORDS.get(code, code))


def slot_name(slot: str | None) -> str:
    return str(SLOT_WORDS.get(slot, slot)) if slot else ""


def claim_anomaly_rows(claim: Claim) -> list[dict]:
    """A claim's anomalies, as `anomaly_rows` words them."""
    return anomaly_rows(
        [
            {"code": a.code, "elder_id": a.elder_id, "meal_ids": a.meal_ids, "detail": a.detail}
            for a in claim.anomalies
        ],
        claim.canteen.district.effective_timezone,
    )


def anomaly_rows(anomalies: list[dict], timezone: str) -> list[dict]:
    """Anomalies (`code`, `elder_id`, `meal_ids`, `detail`) as people read them: the name,
    the elder masked, the date and slot, the meals and the particulars, each as text."""
    elders = _masked_elders(a["elder_id"] for a in anomalies)
    places = _canteen_names(
        canteen_id for a in anomalies for canteen_id in a["detail"].get("other_canteen_ids", ())
    )
    rows = []
    for anomaly in anomalies:
        detail = anomaly["detail"]
        when = " ".join(filter(None, (detail.get("date", ""), slot_name(detail.get("slot")))))
        rows.append(
            {
                "code": anomaly["code"],
                "name": anomaly_name(anomaly["code"]),
                "elder_id": anomaly["elder_id"],
                "elder": elders.get(anomaly["elder_id"], ""),
                "when": when,
                "meal_ids": anomaly["meal_ids"],
                "meals": ", ".join(map(str, anomaly["meal_ids"])),
                "particulars": particulars(anomaly["code"], detail, places, timezone),
            }
        )
    return rows


def particulars(code: str, detail: dict, places: dict[int, str], timezone: str) -> str:
    """What the check found beyond the date and slot, in a sentence."""
    if code == AnomalyCode.DUPLICATE_IN_SLOT:
        return _(
            "%(meals)s meals in this slot, where %(limit)s is allowed",
            meals=detail.get("meals", ""),
            limit=detail.get("limit", ""),
        )
    if code == AnomalyCode.TWO_PLACES:
        return _(
            "Also ate at %(places)s within an hour (meal nos. %(ids)s)",
            places="、".join(
                places.get(canteen_id, str(canteen_id))
                for canteen_id in detail.get("other_canteen_ids", ())
            ),
            ids=", ".join(map(str, detail.get("other_meal_ids", ()))),
        )
    if code == AnomalyCode.OVER_CAPACITY:
        return _(
            "%(served)s meals served for %(seats)s seats",
            served=detail.get("served", ""),
            seats=detail.get("seats", ""),
        )
    if code == AnomalyCode.HOLIDAY_SUBSIDY:
        holiday = detail.get("holiday")
        return _("Holiday: %(name)s", name=holiday) if holiday else _("A holiday")
    if code == AnomalyCode.DELIVERY_UNCONFIRMED:
        if detail.get("order_id") is None:
            return _("A delivery subsidy without an order")
        status = detail.get("order_status")
        return _(
            "Order no. %(order)s: %(status)s",
            order=detail["order_id"],
            status=ORDER_STATUS_WORDS.get(status, status),
        )
    if code == AnomalyCode.CARD_NOT_VALID:
        if detail.get("revoked_at"):
            return _(
                "Card no. %(card)s, reported lost on %(day)s",
                card=detail.get("card_id", ""),
                day=_local_day(detail["revoked_at"], timezone),
            )
        return _(
            "Card no. %(card)s, replaced on %(day)s",
            card=detail.get("card_id", ""),
            day=_local_day(detail.get("superseded_at"), timezone),
        )
    if code == AnomalyCode.ELDER_INACTIVE:
        if detail.get("status") == ElderStatus.DECEASED:
            return _("Died on %(day)s", day=detail.get("status_since", ""))
        return _("Moved away on %(day)s", day=detail.get("status_since", ""))
    if code == AnomalyCode.OFFLINE_CONFLICT:
        conflict = detail.get("conflict") or ""
        reason = refusals.words(conflict, refusals.COUNTER) or conflict
        return _("Scanned offline: %(reason)s", reason=reason)
    if code == AnomalyCode.SAMPLE_FAILED:
        note = detail.get("note")
        check = detail.get("sample_id")
        if note:
            return _("Random check no. %(check)s: %(note)s", check=check, note=note)
        return _("Random check no. %(check)s", check=check)
    # A code this module does not know yet: its particulars as they are stored.
    return "; ".join(
        f"{key}: {value}" for key, value in detail.items() if key not in ("date", "slot")
    )


def _local_day(moment: str | None, timezone: str) -> str:
    if not moment:
        return ""
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(timezone)).date().isoformat()


def _masked_elders(elder_ids) -> dict[int, str]:
    ids = {elder_id for elder_id in elder_ids if elder_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(select(Elder.id, Elder.name).where(Elder.id.in_(ids)))
    return {elder_id: mask_name(name) for elder_id, name in rows}


def _canteen_names(canteen_ids) -> dict[int, str]:
    ids = set(canteen_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(Canteen.id, Canteen.name).where(Canteen.id.in_(ids)))
    return {canteen_id: name for canteen_id, name in rows}
