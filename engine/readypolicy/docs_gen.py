"""The formats table of docs/evidence.md, generated from the normalizer registry.

A hand-kept list of formats drifts from the code (a format added, renamed or given a new kind); the
table between the markers below is instead written from `registry.all_normalizers()`, and a test
fails when the committed docs differ from what this module generates.

    python -m readypolicy.docs_gen [DOCS_FILE]          rewrite the table in place
    python -m readypolicy.docs_gen --check [DOCS_FILE]  exit 1 when the table is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

from readypolicy.evidence.registry import all_normalizers

START = "<!-- formats:start -->"
END = "<!-- formats:end -->"
DEFAULT_DOCS = Path(__file__).resolve().parents[2] / "docs" / "evidence.md"


def kind_page(kind: str) -> str:
    """Where a kind is documented, relative to docs/evidence.md (the manifest is described in place)."""
    return "#the-lane-manifest-manifest" if kind == "manifest" else f"evidence/{kind}.md"


def formats_table() -> str:
    """One row per registered format, grouped by kind, in the registry's detection order within a kind."""
    rows = ["| kind | format (`--format`) | reads |", "| --- | --- | --- |"]
    normalizers = sorted(all_normalizers(), key=lambda n: n.kind)  # stable: detection order kept per kind
    for normalizer in normalizers:
        description = normalizer.description.replace("|", "\\|")
        rows.append(f"| [`{normalizer.kind}`]({kind_page(normalizer.kind)}) | `{normalizer.format}` | {description} |")
    return "\n".join(rows)


def render(text: str) -> str:
    """`text` with the part between the markers replaced by the generated table."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"expected one {START} ... {END} block")
    head, rest = text.split(START)
    _old, tail = rest.split(END)
    return f"{head}{START}\n{formats_table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    """Rewrite (or with --check, verify) the formats table; exit 1 when --check finds it stale."""
    check = "--check" in argv
    paths = [arg for arg in argv if arg != "--check"]
    docs = Path(paths[0]) if paths else DEFAULT_DOCS
    current = docs.read_text(encoding="utf-8")
    wanted = render(current)
    if check:
        if wanted != current:
            print(f"{docs}: formats table is stale; run `python -m readypolicy.docs_gen`", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        docs.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
