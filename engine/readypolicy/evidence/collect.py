"""Turn what a CI job has (an evidence contract, a reports folder) into one ingest batch.

Two ways in, both ending in `ingest()`, so either way the batch is stored whole or not at all:

- **Contract.** A lane manifest's `evidence:` list names the reports the module promises (path or
  glob relative to the manifest, optional kind, format and scope). The batch is the manifest plus
  exactly those files; a declared path that matches nothing is an error, because a report that
  silently went missing must not turn into a quiet `missing` check three steps later.
- **Folder.** Every file under a directory is detected; its first directory below the folder is its
  scope (`unit/junit.xml` → `unit`) when the normalizer does not choose one itself. What is not
  evidence is listed as skipped with the reason; `strict` turns any skip into an error.
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from readypolicy.evidence.ingest import IngestOptions, normalize_path
from readypolicy.evidence.interface import Artifact, NormalizeError
from readypolicy.evidence.registry import detect
from readypolicy.safeio import read_limited

DOCS = "docs"
"""The one kind read from a directory as a whole (its file listing) rather than file by file."""


@dataclass(frozen=True)
class Skipped:
    """A file a folder walk did not ingest, and why."""

    path: Path
    reason: str


@dataclass
class Batch:
    """Paths to ingest together, how to read each, and what was left out."""

    paths: list[Path] = field(default_factory=list)
    readers: list[IngestOptions] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def add(self, path: Path, reader: IngestOptions) -> None:
        """Queue one path, refusing a second claim on the same file (two labels for one report)."""
        if path in self.paths:
            raise NormalizeError(f"{path}: listed twice in one batch; declare each report once")
        self.paths.append(path)
        self.readers.append(reader)


def contract_batch(manifest: Path, options: IngestOptions) -> Batch:
    """The manifest plus every file its `evidence:` list declares; names every entry that matched nothing."""
    _artifact, normalized = normalize_path(manifest, replace(options, kind="manifest", fmt=None, scope=None))
    entries = normalized.data.get("evidence")
    if not entries:
        raise NormalizeError(f"{manifest}: declares no evidence; add an 'evidence:' list of report paths")
    batch = Batch()
    batch.add(manifest, replace(options, kind="manifest", fmt=None, scope=None))
    unmatched: list[str] = []
    for entry in entries:
        matches = _matches(manifest.parent, entry["path"], entry.get("kind") == DOCS)
        if not matches:
            unmatched.append(entry["path"])
        reader = replace(options, kind=entry.get("kind"), fmt=entry.get("format"), scope=entry.get("scope"))
        for path in matches:
            batch.add(path, reader)
    if unmatched:
        raise NormalizeError(f"{manifest}: declared evidence matched no file: {', '.join(unmatched)}")
    return batch


def _matches(base: Path, pattern: str, directories: bool) -> list[Path]:
    """Files (or, for a docs entry, directories) the pattern names under base, in a stable order."""
    if glob.has_magic(pattern):
        found = sorted(base.glob(pattern))
    else:
        found = [base / pattern] if (base / pattern).exists() or (base / pattern).is_symlink() else []
    for path in found:
        if path.is_dir() and not directories:
            raise NormalizeError(f"{path}: is a directory; declare its files with a glob, or kind: docs for a listing")
    return found


def paths_batch(
    paths: Sequence[Path], options: IngestOptions, strict: bool, on_skip: Callable[[Skipped], None] = lambda _s: None,
) -> Batch:
    """Files as given, directories walked (or, with kind docs, read as one listing).

    `on_skip` hears of every skipped file as it is found, so a person sees them even when the
    batch then fails (under `strict`, or because nothing was evidence).
    """
    batch = Batch()
    for path in paths:
        if path.is_dir() and options.kind != DOCS:
            _walk(path, options, batch, on_skip)
        else:
            batch.add(path, options)
    if strict and batch.skipped:
        first = batch.skipped[0]
        raise NormalizeError(
            f"{first.path}: {first.reason} (--strict; {len(batch.skipped)} file(s) not ingested in total)"
        )
    if not batch.paths:
        where = ", ".join(str(path) for path in paths)
        raise NormalizeError(
            f"{where}: no evidence found ({len(batch.skipped)} file(s) skipped); a documentation folder is read "
            "with --kind docs"
        )
    return batch


def _walk(root: Path, options: IngestOptions, batch: Batch, on_skip: Callable[[Skipped], None]) -> None:
    """Detect every file under root; queue the evidence, record the rest as skipped."""
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in sorted(files):
            path = Path(directory) / name
            relative = path.relative_to(root)
            reason = _not_evidence(path, options)
            if reason is not None:
                batch.skipped.append(Skipped(path, reason))
                on_skip(batch.skipped[-1])
                continue
            folder = relative.parts[0] if len(relative.parts) > 1 else None
            batch.add(path, replace(options, fallback_scope=folder))


def _not_evidence(path: Path, options: IngestOptions) -> str | None:
    """Why a walked file is not ingested, or None when some normalizer recognizes it.

    Only detection decides: a file that looks like a known format but does not parse is ingested
    (and then fails the batch), so a truncated failing report can never be skipped as "unknown".
    """
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        return "symbolic link (a folder walk does not follow links; name the file itself)"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    raw = read_limited(path, options.max_bytes)
    artifact = Artifact(path=path, raw=raw, max_depth=options.max_depth, max_bytes=options.max_bytes)
    try:
        detect(artifact, kind=options.kind, fmt=options.fmt)
    except NormalizeError as exc:
        return str(exc).removeprefix(f"{path}: ")
    return None
