"""Printable elder cards: one A4 PDF of cut-out cards for a community.

A card shows the elder's name, the community and district, the expiry and the QR code of
the card's payload, and nothing else: no ID number, phone or address.

Building a QR matrix is the slow part (pure Python, some 10 ms a card), so the matrices
are made in worker processes while this process signs payloads and draws pages. Workers
get payload strings only and are started from a fresh interpreter (forkserver) that loads
qr_runs alone, so the signing key and the database connections never leave this process
and the workers start in a fraction of a second. Pages are written as they end, so the
first one is out within a second of the start whatever the length of the sheet."""

import functools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import BinaryIO

from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.pdfdoc import (
    PDFCrossReferenceTable,
    PDFDocument,
    PDFFile,
    PDFIndirectObject,
    PDFStream,
    PDFTrailer,
    PDFZCompress,
)
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import aliased

from mealservice.core.db import db
from mealservice.elders.cards import payload_of, signing_key
from mealservice.elders.models import Card, Elder, ElderStatus
from mealservice.elders.qr_runs import qr_runs, qr_runs_of_chunk
from mealservice.places.models import Community, District

# ID-1, the size of a bank card, so the cards fit the sleeves and wallets made for those.
CARD_WIDTH, CARD_HEIGHT = 85.6 * mm, 53.98 * mm
CORNER_RADIUS = 3.18 * mm
COLUMNS, ROWS = 2, 4
CARDS_PER_PAGE = COLUMNS * ROWS
GUTTER = 6 * mm
QR_SIDE = 44 * mm  # the quiet zone included: about 1 mm a module at version 5
QUIET_ZONE = 4  # modules of white around the code, as ISO/IEC 18004 asks
TEXT_LEFT = 6 * mm
GREY = Color(0.4, 0.4, 0.4)
CUT_LINE = Color(0.6, 0.6, 0.6)

# TrueType CJK fonts are embedded (as subsets), so any printer shows them. Without one the
# cards fall back to STSong-Light, which every PDF reader supplies but none embeds.
TRUETYPE_CJK_FONTS = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
)
FALLBACK_CJK_FONT = "STSong-Light"

ELDER_BATCH = 200  # elders read per query
CHUNK = 8  # payloads per task sent to a worker


@dataclass(frozen=True)
class PrintableCard:
    name: str
    community: str
    district: str
    expires_on: date
    payload: str


def find_community(code: str) -> Community | None:
    return db.session.scalar(select(Community).where(Community.code == code))


def _printable_query(community: Community, today: date) -> Select:
    """The current card of each active elder of the community."""
    return _current_cards(today, Elder.community_id == community.id)


def _current_cards(today: date, *where) -> Select:
    """The current card of each active elder `where` finds: the elder's newest
    generation, not revoked, not expired. Older generations are superseded even when the
    newest one is revoked: revoking a card never revives the one before it."""
    newer = aliased(Card)
    return (
        select(Card, Elder.name)
        .join(Elder, Card.elder_id == Elder.id)
        .where(
            *where,
            # As services.is_active_on: active, or not yet gone on the date given.
            or_(Elder.status == ElderStatus.ACTIVE, Elder.status_since > today),
            ~exists().where(newer.elder_id == Card.elder_id, newer.generation > Card.generation),
            Card.revoked_at.is_(None),
            Card.expires_on >= today,
        )
    )


def count_printable_cards(community: Community) -> int:
    query = _printable_query(community, community.district.local_today())
    return db.session.scalar(query.with_only_columns(func.count()).order_by(None))


def printable_cards(community: Community, batch_size: int = ELDER_BATCH) -> Iterator[PrintableCard]:
    """The community's printable cards by elder id, read a batch at a time (keyset
    pagination, so no cursor is held open while pages are drawn), payloads signed here."""
    today = community.district.local_today()
    query = _printable_query(community, today).order_by(Elder.id).limit(batch_size)
    district = community.district.name
    key = signing_key()
    after = 0  # elder ids are positive
    while True:
        rows = db.session.execute(query.where(Elder.id > after)).all()
        for card, name in rows:
            yield PrintableCard(
                name, community.name, district, card.expires_on, payload_of(card, key)
            )
        if len(rows) < batch_size:
            return
        after = rows[-1][0].elder_id


def chosen_printable_cards(elder_ids: list[int], today: date) -> list[PrintableCard]:
    """The current cards of the chosen elders (a page's list, so a few hundred at most),
    by elder id; an elder without a current card is left out."""
    if not elder_ids:
        return []
    rows = db.session.execute(
        _current_cards(today, Elder.id.in_(elder_ids))
        .add_columns(Community.name, District.name)
        .join(Community, Community.id == Elder.community_id)
        .join(District, District.code == Community.district_code)
        .order_by(Elder.id)
    ).all()
    key = signing_key()
    return [
        PrintableCard(name, community, district, card.expires_on, payload_of(card, key))
        for card, name, community, district in rows
    ]


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _with_matrices(
    pool: ProcessPoolExecutor, cards: Iterable[PrintableCard], ahead: int
) -> Iterator[tuple[PrintableCard, tuple[int, list]]]:
    """Each card with its QR runs, in order. Unlike Executor.map, which submits the whole
    input at once, only `ahead` chunks are in flight, so memory stays bounded."""
    pending: deque = deque()
    for chunk in _chunks(cards, CHUNK):
        pending.append((chunk, pool.submit(qr_runs_of_chunk, [c.payload for c in chunk])))
        if len(pending) >= ahead:
            chunk, future = pending.popleft()
            yield from zip(chunk, future.result(), strict=True)
    while pending:
        chunk, future = pending.popleft()
        yield from zip(chunk, future.result(), strict=True)


@functools.cache
def _worker_context() -> multiprocessing.context.BaseContext:
    # Workers forked from a clean server process, not from this one: they inherit no
    # database connection, app or key, and after the first pool they start in milliseconds.
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([qr_runs_of_chunk.__module__])
    return context


@functools.cache
def cjk_font() -> str:
    """The name of a registered font with Chinese glyphs."""
    for path, index in TRUETYPE_CJK_FONTS:
        if os.path.exists(path):
            try:
                pdfmetrics.registerFont(TTFont("CardCJK", path, subfontIndex=index))
            except TTFError:
                continue
            return "CardCJK"
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_CJK_FONT))
    return FALLBACK_CJK_FONT


def _fitted_size(text: str, font: str, size: float, width: float) -> float:
    """The font size, shrunk if needed so the text fits the width (long names exist)."""
    return min(size, width / max(pdfmetrics.stringWidth(text, font, 1), 1e-6))


def _card_origin(slot: int) -> tuple[float, float]:
    page_width, page_height = A4
    left = (page_width - COLUMNS * CARD_WIDTH - (COLUMNS - 1) * GUTTER) / 2
    top = (page_height + ROWS * CARD_HEIGHT + (ROWS - 1) * GUTTER) / 2
    row, column = divmod(slot, COLUMNS)
    return left + column * (CARD_WIDTH + GUTTER), top - (row + 1) * CARD_HEIGHT - row * GUTTER


def _draw_card(pdf: Canvas, font: str, slot: int, card: PrintableCard, qr) -> None:
    x, y = _card_origin(slot)
    pdf.saveState()
    pdf.translate(x, y)
    pdf.setStrokeColor(CUT_LINE)
    pdf.setLineWidth(0.5)
    pdf.setDash(3, 2)
    pdf.roundRect(0, 0, CARD_WIDTH, CARD_HEIGHT, CORNER_RADIUS, stroke=1, fill=0)

    qr_left = CARD_WIDTH - QR_SIDE - 3 * mm
    qr_bottom = (CARD_HEIGHT - QR_SIDE) / 2
    text_width = qr_left - TEXT_LEFT
    top = CARD_HEIGHT
    lines = [
        ("老年助餐卡", 8, GREY, top - 7 * mm),
        (card.name, 26, black, top - 19 * mm),
        (card.community, 11, black, top - 28 * mm),
        (card.district, 8, GREY, top - 33 * mm),
        (f"有效期至 {card.expires_on:%Y-%m-%d}", 8, black, 6 * mm),
    ]
    for text, size, colour, baseline in lines:
        pdf.setFillColor(colour)
        pdf.setFont(font, _fitted_size(text, font, size, text_width))
        pdf.drawString(TEXT_LEFT, baseline, text)

    size, runs = qr
    module = QR_SIDE / (size + 2 * QUIET_ZONE)
    # Drawn in module units from the code's top-left corner, so each run is a rectangle
    # of small integers: exact, and a short page stream. The `re` operators are written
    # as they are, filled once: twenty times faster than reportlab's path object, which
    # was a third of the time of a card.
    pdf.translate(qr_left + QUIET_ZONE * module, qr_bottom + (QUIET_ZONE + size) * module)
    pdf.scale(module, -module)
    pdf.setFillColor(black)
    pdf.addLiteral("\n".join([f"{column} {row} {length} 1 re" for row, column, length in runs]))
    pdf.addLiteral("f")
    pdf.restoreState()


class _StreamingDocument(PDFDocument):
    """reportlab's document, but each page and its content stream are written to the
    output when the page ends instead of all at once on save: the first page is out within
    a second or two of the start, and finished pages' drawing commands (some 6 KB a card)
    are not kept. What every page refers to (the page tree, the catalogue, the fonts, whose
    subsets are known only at the end) is written on save, then the cross-reference table,
    which lists objects by number whatever their order in the file."""

    def start_streaming(self, output: BinaryIO) -> None:
        self._output = output
        self._offset = 0
        self._written: set[int] = set()
        # Numbered before any page, so formatting a page's reference to them does not
        # register them as the page's own objects (and write them too early).
        for shared in (self.Catalog, self.info, self.Pages):
            self.Reference(shared)

    def _emit(self, data: bytes) -> int:
        if not self._offset:
            # The header goes out with the first page: a reader of the output (and the
            # benchmark) sees bytes only once there is a page.
            self._offset = len(header := PDFFile(self._pdfVersion).format(self))
            self._output.write(header)
        offset = self._offset
        self._output.write(data)
        self._offset += len(data)
        return offset

    def _write_object(self, number: int) -> None:
        name = self.numberToId[number]
        formatted = PDFIndirectObject(name, self.idToObject[name]).format(self)
        self.idToOffset[name] = self._emit(formatted)
        self._written.add(number)

    def addPage(self, page) -> None:
        # Flate alone: reportlab's pure-Python ASCII85 on top cost a sixth of a card's
        # drawing, for a file a quarter larger.
        contents = page.Contents = PDFStream(content=page.stream)
        contents.filters = [PDFZCompress]
        first = self.objectcounter + 1
        super().addPage(page)
        # The page, then what formatting it registered (its content stream), by number.
        number = first
        while number in self.numberToId:
            self._write_object(number)
            number += 1
        page.stream = None
        contents.content = b""

    def format(self) -> bytes:
        self.encrypt.prepare(self)
        number = 1
        while number in self.numberToId:  # grows while formatting, as in reportlab's
            if number not in self._written:
                self._write_object(number)
            number += 1
        count = number - 1
        xref = PDFCrossReferenceTable()
        xref.addsection(0, [self.numberToId[n] for n in range(1, number)])
        xref_offset = self._emit(xref.format(self))
        trailer = PDFTrailer(
            startxref=xref_offset,
            Size=count + 1,
            Root=self.Reference(self.Catalog),
            Info=self.Reference(self.info),
            ID=self.ID(),
        )
        return trailer.format(self)  # SaveToFile writes it, after all the rest


class _StreamingCanvas(Canvas):
    def __init__(self, output: BinaryIO, **options):
        super().__init__(output, **options)
        self._doc = _StreamingDocument(
            compression=options.get("pageCompression"),
            invariant=options.get("invariant"),
            filename=output,
        )
        self._doc.start_streaming(output)


@contextmanager
def replaced_on_success(path: str) -> Iterator[BinaryIO]:
    """A file to write `path` through, opened at once so a bad path fails before any work:
    renamed to `path` when the block succeeds, removed when it fails, so an interrupted
    run leaves no half-written PDF to be printed by mistake."""
    partial = f"{path}.part"
    stream = open(partial, "wb")  # noqa: SIM115 (closed below, before the rename)
    try:
        with stream:
            yield stream
    except BaseException:
        os.remove(partial)
        raise
    os.replace(partial, path)


def write_cards_pdf(
    cards: Iterable[PrintableCard],
    output: BinaryIO,
    progress: Callable[[int], object] | None = None,
    workers: int | None = None,
) -> int:
    """Draw the cards, CARDS_PER_PAGE to an A4 page, into a PDF; the number drawn.

    Cards are read and their QR codes made a few chunks ahead of the page being drawn, so
    neither the elders nor the matrices are ever all in memory, and each page is written
    to `output` as it ends (_StreamingDocument), so neither are the pages.

    `workers=0` makes the QR codes in this process, for a page's short list.
    The workers start as multiprocessing's forkserver does: a script that calls this must
    keep its own work under `if __name__ == "__main__":`, or each worker runs it again."""
    pdf = _StreamingCanvas(output, pagesize=A4, pageCompression=1, invariant=1)
    pdf.setTitle("老年助餐卡")
    pdf.setCreator("mealservice")
    font = cjk_font()
    drawn = 0
    if workers == 0:
        # In this process: a page's short list, not worth starting workers for.
        pool = None
        with_matrices = ((card, qr_runs(card.payload)) for card in cards)
    else:
        workers = workers or os.cpu_count() or 1
        pool = ProcessPoolExecutor(workers, mp_context=_worker_context())
        with_matrices = _with_matrices(pool, cards, ahead=2 * workers)
    try:
        for card, qr in with_matrices:
            slot = drawn % CARDS_PER_PAGE
            if slot == 0 and drawn:
                pdf.showPage()
            _draw_card(pdf, font, slot, card, qr)
            drawn += 1
            if progress is not None:
                progress(1)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    pdf.showPage()
    pdf.save()
    return drawn
