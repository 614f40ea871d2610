"""Report formats by name."""

from __future__ import annotations

from readypolicy.report.interface import ReportError, ReportFormat
from readypolicy.report.json_format import JsonFormat
from readypolicy.report.junit import JunitFormat
from readypolicy.report.markdown import MarkdownFormat
from readypolicy.report.sarif import SarifFormat
from readypolicy.report.table import TableFormat

FORMATS: dict[str, type[ReportFormat]] = {
    cls.name: cls for cls in (TableFormat, JsonFormat, MarkdownFormat, JunitFormat, SarifFormat)
}


def get_format(name: str) -> ReportFormat:
    """The format called `name`."""
    try:
        return FORMATS[name]()
    except KeyError as exc:
        raise ReportError(f"unknown format {name!r} (choose from {', '.join(FORMATS)})") from exc
