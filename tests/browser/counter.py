"""What the counter's browser tests share: the demo canteen, hungry elders and fresh cards
for them, the lunches the live server recorded, and the cashier's way of scanning."""

import io
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import qrcode
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from mealservice.elders.cards import issue_card, payload_of, revoke_card
from mealservice.elders.models import Elder
from mealservice.elders.services import is_active_on, update_elder
from mealservice.meals.models import LIVE_ORDER_STATUSES, Meal, Order
from mealservice.places.models import Canteen
from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, site_context

CANTEEN = "北山街道老年食堂"
JSQR = Path(__file__).resolve().parents[2] / "mealservice/static/vendor/jsQR.js"


def canteen_of(db) -> Canteen:
    return db.session.scalar(select(Canteen).where(Canteen.name == CANTEEN))


def canteen_id(db) -> int:
    found = canteen_of(db).id
    db.session.rollback()
    return found


def hungry_elders(
    db, how_many: int, with_diet_notes: bool = False, not_low_salt: bool = False
) -> list[SimpleNamespace]:
    """Demo elders who have not eaten lunch today, anywhere, as plain facts; `not_low_salt`:
    whose diet needs the demo's first option (营养套餐, low salt only) does not meet."""
    today = canteen_of(db).district.local_today()
    eaten = select(Meal.elder_id).where(Meal.date == today, Meal.slot == "lunch")
    # An order for today's lunch (a delivery, a booking elsewhere) fills the slot too.
    ordered = select(Order.elder_id).where(
        Order.date == today, Order.slot == "lunch", Order.status.in_(LIVE_ORDER_STATUSES)
    )
    candidates = db.session.scalars(
        select(Elder).where(Elder.id.not_in(eaten), Elder.id.not_in(ordered)).order_by(Elder.id)
    )
    found = [
        SimpleNamespace(
            id=elder.id,
            name=elder.name,
            diet_notes=elder.diet_notes,
            phone4=elder.phone_last4,
            diet_needs=list(elder.diet_needs),
        )
        for elder in candidates
        if is_active_on(elder, today)
        and (elder.diet_notes or not with_diet_notes)
        and (set(elder.diet_needs) - {"low_salt"} or not not_low_salt)
    ][:how_many]
    # On SQLite the test's session holds the write lock until its transaction ends, and
    # the live server must write.
    db.session.rollback()
    return found


def fresh_payload(db, elder, revoked: bool = False, deceased: bool = False) -> str:
    registered = db.session.get(Elder, elder.id)
    card = issue_card("browser-test", registered)
    payload = payload_of(card)
    if revoked:
        revoke_card(card, "丢失")
    if deceased:
        today = canteen_of(db).district.local_today()
        update_elder(registered, {"status": "deceased", "status_since": today})
    db.session.commit()
    return payload


def lunches_of(db, elder) -> list[SimpleNamespace]:
    """The elder's lunches today, as the live server committed them."""
    today = canteen_of(db).district.local_today()
    meals = [
        SimpleNamespace(
            to_collect_fen=meal.to_collect_fen,
            elder_pays_fen=meal.elder_pays_fen,
            offline=meal.offline,
        )
        for meal in db.session.scalars(
            select(Meal).where(Meal.elder_id == elder.id, Meal.date == today, Meal.slot == "lunch")
        )
    ]
    db.session.rollback()
    return meals


def open_cashier(page) -> None:
    """The counter from the home the login landed on: the cashier's home is the counter
    itself; anyone else follows the navigation's link."""
    if not page.url.endswith("/cashier"):
        page.get_by_test_id("nav-cashier").click()
    expect(page.get_by_test_id("cashier-canteen")).to_have_text(CANTEEN)
    expect(page.get_by_test_id("scan-input")).to_be_focused()


def scan_like_a_scanner(page, payload: str) -> None:
    # The scanner is a keyboard: it types into whatever has the focus, then presses Enter.
    page.keyboard.type(payload)
    page.keyboard.press("Enter")


def y4m_of(payload: str, width: int = 640, height: int = 480, frames: int = 10) -> bytes:
    """A fake camera's video: the card's QR code, grey on white, still for a second."""
    code = qrcode.QRCode(box_size=8, border=4)
    code.add_data(payload)
    code.make(fit=True)
    picture = code.make_image().get_image().convert("L")
    canvas = Image.new("L", (width, height), 255)
    canvas.paste(picture, ((width - picture.width) // 2, (height - picture.height) // 2))
    luma = canvas.tobytes()
    chroma = bytes([128]) * (width * height // 4)
    out = io.BytesIO()
    out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
    for _ in range(frames):
        out.write(b"FRAME\n" + luma + chroma + chroma)
    return out.getvalue()


@contextmanager
def camera_filming(browser, site, payload: str, tmp_path):
    """A phone-sized page, camera allowed, in a Chromium of its own whose fake camera films
    the card (the fake camera is chosen when Chromium starts)."""
    video = tmp_path / "card.y4m"
    video.write_bytes(y4m_of(payload))
    camera_browser = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_FLAGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = site_context(
            camera_browser, site, viewport={"width": 390, "height": 844}, permissions=["camera"]
        )
        yield context.new_page()
    finally:
        camera_browser.close()
