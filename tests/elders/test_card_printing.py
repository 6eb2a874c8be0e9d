import base64
import re
import zlib
from datetime import date

import pypdfium2 as pdfium
import pytest
import qrcode
import zxingcpp

from mealservice.elders import printing
from mealservice.elders.cards import payload_of, revoke_card
from mealservice.elders.protection import decrypt_id_number
from mealservice.elders.services import update_elder
from tests import factories

NAMES = ["王秀英", "李建国", "张桂兰", "刘德华", "陈淑珍", "杨志强", "赵玉梅", "黄永福", "周凤英"]


@pytest.fixture
def community(db, district):
    return factories.create_community(district)


def carded_elder(district, community, **fields):
    elder = factories.create_elder(district, community, **fields)
    return elder, factories.create_card(elder)


def print_cards(runner, code: str, output):
    return runner.invoke(args=["cards", "print", "--community", code, "--output", str(output)])


def scanned_pages(path) -> list[list[str]]:
    """The QR payloads read off each page, rendered as a printer would see it."""
    pdf = pdfium.PdfDocument(path)
    try:
        pages = []
        for page in pdf:
            image = page.render(scale=2).to_pil()
            pages.append([barcode.text for barcode in zxingcpp.read_barcodes(image)])
        return pages
    finally:
        pdf.close()


def page_texts(path) -> list[str]:
    pdf = pdfium.PdfDocument(path)
    try:
        return [page.get_textpage().get_text_range() for page in pdf]
    finally:
        pdf.close()


def pdf_bytes(path) -> bytes:
    """The file, and every compressed stream in it inflated (reportlab writes page streams
    in ASCII85 over Flate, font files in Flate alone)."""
    raw = path.read_bytes()
    inflated = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", raw, re.S):
        if stream.rstrip().endswith(b"~>"):
            stream = base64.a85decode(stream.rstrip(), adobe=True)
        inflated.append(zlib.decompressobj().decompress(stream))
    return b"\n".join([raw, *inflated])


def test_every_current_card_of_the_community_is_printed_as_a_qr_code_that_scans(
    runner, district, community, tmp_path
):
    cards = [carded_elder(district, community, name=name)[1] for name in NAMES]
    carded_elder(district, factories.create_community(district))  # another community's
    output = tmp_path / "cards.pdf"

    result = print_cards(runner, community.code, output)

    assert result.exit_code == 0, result.output
    assert f"Wrote 9 cards on 2 pages to {output}." in result.stdout
    assert community.name in result.stderr  # the progress bar's label
    pages = scanned_pages(output)
    assert [len(page) for page in pages] == [8, 1]
    assert sorted(sum(pages, [])) == sorted(payload_of(card) for card in cards)


@pytest.fixture(params=["installed font", "STSong-Light"])
def font(request, monkeypatch):
    """Each card text font: an installed TrueType one (when there is one), and the built-in."""
    if request.param == "STSong-Light":
        monkeypatch.setattr(printing, "TRUETYPE_CJK_FONTS", ())
    printing.cjk_font.cache_clear()
    yield request.param
    printing.cjk_font.cache_clear()


def test_a_card_shows_the_chinese_name_the_community_and_the_expiry(
    runner, district, community, tmp_path, font
):
    _, card = carded_elder(district, community, name="欧阳秀英")
    output = tmp_path / "cards.pdf"

    assert print_cards(runner, community.code, output).exit_code == 0

    (text,) = page_texts(output)
    assert "欧阳秀英" in text
    assert community.name in text and district.name in text
    assert f"有效期至 {card.expires_on:%Y-%m-%d}" in text
    if font == "STSong-Light":
        assert b"/BaseFont /STSong-Light" in output.read_bytes()
    assert scanned_pages(output) == [[payload_of(card)]]


def test_revoked_superseded_expired_and_inactive_elders_cards_are_not_printed(
    runner, db, district, community, tmp_path
):
    _, current = carded_elder(district, community, name="在用卡")
    renewed, _superseded = carded_elder(district, community, name="换过卡")
    renewal = factories.create_card(renewed)
    _, lost = carded_elder(district, community, name="挂失卡")
    revoke_card(lost, "遗失")
    # A revoked newest card does not bring back the one before it.
    unlucky, _older = carded_elder(district, community, name="新卡挂失")
    revoke_card(factories.create_card(unlucky), "被盗")
    _, expired = carded_elder(district, community, name="过期卡")
    expired.expires_on = date(2024, 12, 31)
    deceased, _ = carded_elder(district, community, name="已故老人")
    update_elder(deceased, {"status": "deceased", "status_since": date(2025, 6, 1)})
    factories.create_elder(district, community, name="未发卡")
    db.session.commit()
    output = tmp_path / "cards.pdf"

    result = print_cards(runner, community.code, output)

    assert result.exit_code == 0, result.output
    assert "Wrote 2 cards on 1 page to" in result.stdout
    assert sorted(scanned_pages(output)[0]) == sorted([payload_of(current), payload_of(renewal)])
    (text,) = page_texts(output)
    assert "在用卡" in text and "换过卡" in text
    for name in ("挂失卡", "新卡挂失", "过期卡", "已故老人", "未发卡"):
        assert name not in text


def test_the_pdf_holds_no_id_number_phone_or_address(runner, district, community, tmp_path):
    elder, _ = carded_elder(district, community, address="文三路478号5幢2单元")
    number = decrypt_id_number(elder.id_number_encrypted)
    output = tmp_path / "cards.pdf"

    assert print_cards(runner, community.code, output).exit_code == 0

    # The text layer shows whatever is drawn; the bytes what is not (metadata, streams).
    (text,) = page_texts(output)
    everything = pdf_bytes(output)
    assert b" 1 re" in everything  # the page streams were inflated
    for personal in (number, elder.id_number_masked, elder.phone):
        assert personal not in text
        assert personal.encode() not in everything
    assert "文三路" not in text and elder.birth_date.strftime("%Y%m%d") not in text


def test_an_unknown_community_is_refused_by_its_code(runner, tmp_path):
    output = tmp_path / "cards.pdf"

    result = print_cards(runner, "330106999999", output)

    assert result.exit_code != 0
    assert "No community with the code 330106999999." in result.output
    assert not output.exists()


def test_a_community_without_printable_cards_says_so_and_writes_nothing(
    runner, district, community, tmp_path
):
    factories.create_elder(district, community)  # registered, but no card yet
    output = tmp_path / "cards.pdf"

    result = print_cards(runner, community.code, output)

    assert result.exit_code != 0
    assert f"{community.name} ({community.code}) has no elder with a current card" in result.output
    assert not output.exists()


def test_a_run_that_fails_leaves_no_pdf_behind(runner, district, community, tmp_path, monkeypatch):
    carded_elder(district, community)
    output = tmp_path / "cards.pdf"

    def out_of_toner(*args):
        raise RuntimeError("out of toner")

    monkeypatch.setattr(printing, "_draw_card", out_of_toner)
    result = print_cards(runner, community.code, output)

    assert isinstance(result.exception, RuntimeError)
    assert list(tmp_path.iterdir()) == []


def test_cards_are_read_in_batches_in_elder_order(db, district, community):
    elders = [carded_elder(district, community)[0] for _ in range(5)]

    printed = list(printing.printable_cards(community, batch_size=2))

    assert [card.name for card in printed] == [elder.name for elder in elders]
    assert printing.count_printable_cards(community) == 5


def test_the_qr_runs_cover_exactly_the_dark_modules():
    payload = "MS1:" + "8A:UT-3 Q*Z$" * 10
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(payload)
    code.make(fit=True)
    matrix = code.get_matrix()

    size, runs = printing.qr_runs(payload)

    drawn = [[False] * size for _ in range(size)]
    for row, column, length in runs:
        assert not any(drawn[row][column : column + length])
        drawn[row][column : column + length] = [True] * length
    assert size == len(matrix) and drawn == matrix


def test_each_page_is_written_as_it_ends_not_when_the_sheet_is_saved(tmp_path):
    cards = [
        printing.PrintableCard(name, "翠苑一区", "西湖区", date(2030, 6, 30), f"MS1:PAGE-{n}")
        for n, name in enumerate(NAMES)
    ]
    output = tmp_path / "cards.pdf"
    written_when_drawn = []

    with output.open("wb") as stream:
        drawn = printing.write_cards_pdf(
            cards, stream, lambda _: written_when_drawn.append(stream.tell()), workers=0
        )

    assert drawn == 9
    # Nothing while the first page is drawn; all of it before the ninth card is.
    assert written_when_drawn[:8] == [0] * 8
    assert written_when_drawn[8] > 0
    pages = scanned_pages(output)
    assert [sorted(page) for page in pages] == [
        sorted(card.payload for card in cards[:8]),
        [cards[8].payload],
    ]
    assert "黄永福" in page_texts(output)[0] and "周凤英" in page_texts(output)[1]
