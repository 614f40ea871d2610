"""Report formats by name."""

from __future__ import annotations

from readypolicy.report.codequality import CodeQualityFormat
from readypolicy.report.interface import ReportError, ReportFormat
from readypolicy.report.json_format import JsonFormat
from readypolicy.report.junit import JunitFormat
from readypolicy.report.locations import Locate, LocatedFormat, no_sources
from readypolicy.report.markdown import MarkdownFormat
from readypolicy.report.sarif import SarifFormat
from readypolicy.report.table import TableFormat

FORMATS: dict[str, type[ReportFormat]] = {
    cls.name: cls for cls in (TableFormat, JsonFormat, MarkdownFormat, JunitFormat, SarifFormat, CodeQualityFormat)
}


def get_format(name: str, locate: Locate = no_sources) -> ReportFormat:
    """The format called `name`; formats that point at files (SARIF, Code Quality) find them with `locate`."""
    try:
        cls = FORMATS[name]
    except KeyError as exc:
        raise ReportError(f"unknown format {name!r} (choose from {', '.join(FORMATS)})") from exc
    return cls(locate) if issubclass(cls, LocatedFormat) else cls()
