import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "mealservice/translations/zh/LC_MESSAGES/messages.po"


def test_every_page_text_has_a_chinese_translation(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(template),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with template.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with CATALOG.open("rb") as f:
        catalog = read_po(f, locale="zh")
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert wanted - translated == set(), "run `make messages` and translate the new texts"
