"""How fast a community's sheet of cards prints, against the QR matrices alone.

    python bench/cards.py [--cards 10000] [--database-url URL]

Builds a synthetic district (bench/scan.py's builder) and puts all its elders with cards in
one community, then measures in one run, in this order:

  sheet   the path `flask cards print` takes: find the community, count its printable
          cards, read them and write the PDF through printing.write_cards_pdf to a file,
          with its worker processes (one a core). It runs first, in a process that has
          neither loaded the card font nor started a worker yet, as the command would.
          The first page counts as written when the first byte reaches the file: the
          writer sends the PDF's header out with the first page, not before it;
  floor   the QR matrices alone for the same payloads, with printing's qrcode settings
          (error correction M, fitted version) and the same worker processes, chunking
          and number of chunks in flight; its forkserver is warm by then, which favours
          the floor.

CPU is counted as bench/scan.py does, since a ratio of CPU holds on a loaded machine where
one of wall-clock times does not: this process's, and the worker processes' read from
/proc as their pool shuts down (the sheet's pool is the printing code's own, made through
a subclass that reads them). The last line is `ratio_to_qr=<x> first_page_s=<y>`: the
sheet's CPU over the floor's, and the seconds from the start of the sheet to its first
page written; the wall-clock ratio is printed on the line before, with the load. The
database at --database-url is emptied first (unless --reuse keeps the district an earlier
run built there, as when comparing two versions of the code); the default is a new SQLite
file in a temporary folder.
"""

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def qr_matrices(payloads: list[str]) -> list[int]:
    import qrcode

    sizes = []
    for payload in payloads:
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
        code.add_data(payload)
        code.make(fit=True)
        sizes.append(len(code.get_matrix()))
    return sizes


TICKS = os.sysconf("SC_CLK_TCK")


class MeteredPool(ProcessPoolExecutor):
    """A process pool that adds up its workers' CPU seconds (from /proc, read as it shuts
    down, before they exit) into `MeteredPool.cpu_seconds`."""

    cpu_seconds = 0.0

    def shutdown(self, *args, **kwargs):
        for process in list((self._processes or {}).values()):
            with open(f"/proc/{process.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            MeteredPool.cpu_seconds += (int(fields[11]) + int(fields[12])) / TICKS
        super().shutdown(*args, **kwargs)


class WatchedFile:
    """A file that notes when it was first written to."""

    def __init__(self, stream):
        self.stream = stream
        self.first_write_at = None

    def write(self, data) -> int:
        if self.first_write_at is None and data:
            self.first_write_at = time.perf_counter()
        return self.stream.write(data)

    def __getattr__(self, name):
        return getattr(self.stream, name)


def print_sheet(app, community_code: str, output: Path) -> dict:
    from mealservice.elders import printing

    MeteredPool.cpu_seconds = 0.0
    printing.ProcessPoolExecutor = MeteredPool  # as the printing code makes its pool
    with app.app_context():
        started = time.perf_counter()
        cpu_started = time.process_time()
        community = printing.find_community(community_code)
        total = printing.count_printable_cards(community)
        with printing.replaced_on_success(str(output)) as stream:
            watched = WatchedFile(stream)
            drawn = printing.write_cards_pdf(printing.printable_cards(community), watched)
        finished = time.perf_counter()
    assert drawn == total, (drawn, total)
    return {
        "seconds": finished - started,
        "first_page_s": watched.first_write_at - started,
        "main_cpu_s": time.process_time() - cpu_started,
        "workers_cpu_s": MeteredPool.cpu_seconds,
        "drawn": drawn,
        "bytes": output.stat().st_size,
    }


def qr_floor(payloads: list[str]) -> tuple[float, float]:
    """The floor's wall and CPU seconds (its workers')."""
    from mealservice.elders import printing

    workers = os.cpu_count() or 1
    MeteredPool.cpu_seconds = 0.0
    started = time.perf_counter()
    with MeteredPool(workers, mp_context=printing._worker_context()) as pool:
        pending = []
        sizes = 0
        for start in range(0, len(payloads), printing.CHUNK):
            pending.append(pool.submit(qr_matrices, payloads[start : start + printing.CHUNK]))
            if len(pending) >= 2 * workers:
                sizes += len(pending.pop(0).result())
        for future in pending:
            sizes += len(future.result())
    assert sizes == len(payloads)
    return time.perf_counter() - started, MeteredPool.cpu_seconds


def main() -> int:
    options = parse_arguments()
    workdir = Path(tempfile.mkdtemp(prefix="mealservice-bench-cards-"))
    database_url = options.database_url or f"sqlite:///{workdir / 'bench.sqlite'}"
    from scan import build_district, server_environment

    os.environ.update(server_environment(database_url))
    started = time.perf_counter()
    if not options.reuse:
        build_district(database_url, options.cards, 1)
    from sqlalchemy import select, update

    from mealservice import create_app
    from mealservice.core.db import db
    from mealservice.elders import printing
    from mealservice.elders.models import Elder
    from mealservice.places.models import Community

    app = create_app(DATABASE_URL=database_url)
    with app.app_context():
        community = db.session.scalars(select(Community).order_by(Community.id)).first()
        db.session.execute(update(Elder).values(community_id=community.id))
        db.session.commit()
        code = community.code
        # The payloads the sheet will sign, for the floor (read here, outside both timings).
        payloads = [card.payload for card in printing.printable_cards(community)]
    assert len(payloads) == options.cards, len(payloads)
    print(
        f"setup: {options.cards} elders with cards in one community, "
        f"{database_url.split(':', 1)[0]} in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    sheet = print_sheet(app, code, workdir / "cards.pdf")
    sheet_cpu = sheet["main_cpu_s"] + sheet["workers_cpu_s"]
    print(
        f"sheet: {sheet['drawn']} cards, {sheet['bytes'] / 1e6:.1f} MB in "
        f"{sheet['seconds']:.2f} s, CPU {sheet_cpu:.2f} s (this process "
        f"{sheet['main_cpu_s']:.2f} s, QR workers {sheet['workers_cpu_s']:.2f} s), "
        f"first page written after {sheet['first_page_s']:.2f} s",
        flush=True,
    )
    floor_seconds, floor_cpu = qr_floor(payloads)
    print(
        f"floor: {len(payloads)} QR matrices in {floor_seconds:.2f} s, CPU {floor_cpu:.2f} s",
        flush=True,
    )
    print(
        f"wall-clock ratio {sheet['seconds'] / floor_seconds:.2f} (load {os.getloadavg()[0]:.1f})"
    )
    print(f"ratio_to_qr={sheet_cpu / floor_cpu:.2f} first_page_s={sheet['first_page_s']:.2f}")
    return 0


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--database-url", help="emptied first; default: a new SQLite file")
    parser.add_argument(
        "--reuse", action="store_true", help="keep --database-url's district from a run before"
    )
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
