"""pip-licenses plain table (its default output, `pip-licenses` or `--format=plain`).

A header row names the columns (` Name  Version  License`, plus `Author`, `URL`... with the
`--with-*` options) and every row is padded to the column widths, so each value is cut at the
columns the header words start at; values hold spaces (`BSD License`), so splitting on whitespace
would misread them. Only the `Name` and `License` columns are required.
"""

from __future__ import annotations

import re

from readypolicy.evidence.formats.pip_licenses_json import licenses_data, package_row
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_HEADER = re.compile(r"^ Name +(?:[A-Z][A-Za-z-]* +)*License(?: +[A-Z][A-Za-z-]*)* *$")
_COLUMN = re.compile(r"\S+")


class PipLicensesPlain(Normalizer):
    """pip-licenses plain table → `licenses` evidence."""

    kind = "licenses"
    format = "pip-licenses-plain"
    description = "pip-licenses default plain table (Name, Version, License columns)"
    priority = 40

    def detect(self, artifact: Artifact) -> bool:
        return bool(_HEADER.match(artifact.raw[:4096].decode("utf-8", errors="replace").split("\n", 1)[0].rstrip("\r")))

    def normalize(self, artifact: Artifact) -> Normalized:
        text = artifact.text
        if text is None:
            raise self.fail(artifact, "not UTF-8 text")
        lines = text.splitlines()
        if not lines or not _HEADER.match(lines[0]):
            raise self.fail(artifact, "the first line is not a pip-licenses header (Name ... License)")
        columns = [(match.group(), match.start()) for match in _COLUMN.finditer(lines[0])]
        names = [name for name, _ in columns]
        if len(set(names)) != len(names):
            raise self.fail(artifact, "a column name appears twice in the header")
        rows = []
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            if not _fits(line, [start for _, start in columns]):
                raise self.fail(artifact, f"line {number} does not fit the header's columns")
            cells = {name: line[start:columns[i + 1][1] if i + 1 < len(columns) else None].strip()
                     for i, (name, start) in enumerate(columns)}
            rows.append(package_row(artifact, self, cells["Name"], cells.get("Version"), cells["License"]))
        return Normalized(kind=self.kind, format=self.format, producer=Producer("pip-licenses"), data=licenses_data(rows))


def _fits(line: str, starts: list[int]) -> bool:
    """Whether a row lines up with the header: padding before every column, and long enough to reach License."""
    return len(line) > starts[-1] and all(line[start - 1] == " " for start in starts)


NORMALIZER = PipLicensesPlain()
