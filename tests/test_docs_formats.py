"""The evidence docs say what the registry does: a generated formats table and one page per kind.

docs/evidence/telemetry.md once described the opposite of promtool_junit.py; these tests make such
drift fail instead of waiting for a reader to notice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from readypolicy import docs_gen
from readypolicy.evidence.registry import all_normalizers, kinds

DOCS = Path(__file__).resolve().parents[1] / "docs"
EVIDENCE = DOCS / "evidence.md"


def _page(kind: str) -> Path:
    return EVIDENCE if kind == "manifest" else DOCS / "evidence" / f"{kind}.md"


def test_formats_table_is_what_the_registry_generates() -> None:
    text = EVIDENCE.read_text(encoding="utf-8")
    assert docs_gen.render(text) == text, "docs/evidence.md is stale: run `python -m readypolicy.docs_gen`"


def test_a_stale_table_is_caught_and_regenerated(tmp_path: Path) -> None:
    """Dropping a format's row (a format added without docs) fails --check; a rewrite restores it."""
    stale = tmp_path / "evidence.md"
    text = EVIDENCE.read_text(encoding="utf-8")
    stale.write_text("\n".join(line for line in text.splitlines() if "| `junit-xml` |" not in line) + "\n",
                     encoding="utf-8")
    assert docs_gen.main(["--check", str(stale)]) == 1
    assert docs_gen.main([str(stale)]) == 0
    assert docs_gen.main(["--check", str(stale)]) == 0
    assert "| `junit-xml` |" in stale.read_text(encoding="utf-8")


def test_missing_markers_are_refused() -> None:
    with pytest.raises(ValueError, match="formats:start"):
        docs_gen.render("no markers here")


@pytest.mark.parametrize("kind", kinds())
def test_every_kind_has_a_page_and_a_row(kind: str) -> None:
    assert _page(kind).is_file(), f"no page documents evidence kind {kind!r}"
    assert f"| `{kind}` |" in EVIDENCE.read_text(encoding="utf-8"), f"kind {kind!r} missing from the Kinds table"


@pytest.mark.parametrize(("kind", "fmt"), [pytest.param(n.kind, n.format, id=n.format) for n in all_normalizers()])
def test_every_format_is_described_on_its_kind_page(kind: str, fmt: str) -> None:
    page = _page(kind)
    assert f"`{fmt}`" in page.read_text(encoding="utf-8"), f"{page.relative_to(DOCS.parent)} does not describe format `{fmt}`"
