"""Where a check "is" in the repository, for reports that must point at a file (SARIF, Code Quality).

A readiness check is about a module revision, but code-scanning UIs only accept results located at
a file. A check points at the artifact its verdict was drawn from (the first evidence whose source
path is a path inside the repository), else at the module's lane manifest (where a missing report
is declared), else at `module.lane.yaml`, where a manifest would be added. Paths are relative and
use `/`: GitHub and GitLab both refuse absolute paths and paths outside the checkout.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path, PurePosixPath, PureWindowsPath

from readypolicy.records import CheckResult, DecisionRecord
from readypolicy.report.interface import ReportFormat
from readypolicy.store.interface import Store

Locate = Callable[[str], str | None]
"""Evidence digest → the path the artifact was ingested from (None when unknown)."""

DEFAULT_MANIFEST = "module.lane.yaml"


def no_sources(_digest: str) -> str | None:
    """The locator of a report rendered without a store: no evidence path is known."""
    return None


def store_locator(store: Store, base: Path | None = None) -> Locate:
    """Look up source paths in the store (cached: a fleet report asks for the same digests often).

    Relative source paths are kept as ingested; absolute ones are made relative to `base` (the
    working directory, the checkout root in CI) when they lie under it.
    """
    root = (base or Path.cwd()).absolute()

    @functools.lru_cache(maxsize=8192)
    def locate(digest: str) -> str | None:
        record = store.get_evidence(digest)
        if record is None:
            return None
        source = Path(record.source_path)
        if source.is_absolute():
            try:
                return source.relative_to(root).as_posix()
            except ValueError:
                return None
        return record.source_path

    return locate


def repo_path(path: str | None) -> str | None:
    """`path` as a clean repository-relative POSIX path, or None when it cannot be one."""
    if not path:
        return None
    pure = PurePosixPath(path.replace("\\", "/"))
    if pure.is_absolute() or PureWindowsPath(path).drive or ".." in pure.parts or str(pure) in ("", "."):
        return None
    return pure.as_posix()


def check_path(record: DecisionRecord, check: CheckResult, locate: Locate) -> str:
    """The repository path a check of a decision record points at."""
    candidates = list(check.get("evidence") or [])
    candidates += [e["digest"] for e in record.get("evidence") or [] if e.get("kind") == "manifest"]
    for digest in candidates:
        path = repo_path(locate(digest))
        if path is not None:
            return path
    return DEFAULT_MANIFEST


class LocatedFormat(ReportFormat):
    """A format whose results must name a file; `get_format` hands it the locator."""

    def __init__(self, locate: Locate = no_sources) -> None:
        self.locate = locate
