"""A documentation directory as evidence: every file's path, size and sha256.

Ingesting a directory (`ingest DIR --kind docs`) first turns it into a listing, and the listing's
canonical JSON bytes are the artifact's raw bytes, so directory evidence is content-addressed
like any file: the same tree always yields the same digest. The walk never follows symlinks
(they are listed as skipped, so nothing outside the tree is read or vouched for), skips
non-regular files without opening them, and refuses trees of more than MAX_FILES files.
Only an artifact whose path really is a directory is accepted, so a hand-written JSON file
cannot pose as a listing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from readypolicy.canonical import canonical_bytes
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer
from readypolicy.safeio import UnsafeInputError, open_regular

LISTING = "readypolicy.dev/v1/directory-listing"
MAX_FILES = 5000
"""Regular files a listing may hold; a docs tree larger than this is refused, not truncated."""
MAX_ENTRIES = 20000
"""Directory entries of any type the walk visits before giving up (bounds trees of symlinks or empty dirs)."""
_CHUNK = 1 << 16


def directory_listing(root: Path, max_bytes: int) -> bytes:
    """Canonical JSON listing of the regular files under `root` (paths relative, `/`-separated, sorted)."""
    files: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    visited = 0
    pending = [(root, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            raise UnsafeInputError(f"{directory}: cannot list directory: {exc.strerror or exc}") from exc
        for entry in entries:
            visited += 1
            if visited > MAX_ENTRIES:
                raise UnsafeInputError(f"{root}: more than {MAX_ENTRIES} directory entries; refusing to list it")
            relative = prefix + entry.name.encode("utf-8", "replace").decode("utf-8")
            if entry.is_symlink():
                skipped.append({"path": relative, "reason": "symlink"})
            elif entry.is_dir(follow_symlinks=False):
                pending.append((Path(entry.path), relative + "/"))
            elif not entry.is_file(follow_symlinks=False):
                skipped.append({"path": relative, "reason": "not a regular file"})
            else:
                if len(files) >= MAX_FILES:
                    raise UnsafeInputError(f"{root}: more than {MAX_FILES} files; refusing to list it")
                size, digest = _hash_file(Path(entry.path), max_bytes)
                files.append({"path": relative, "bytes": size, "sha256": digest})
    files.sort(key=lambda f: f["path"])
    skipped.sort(key=lambda f: f["path"])
    listing = canonical_bytes({"listing": LISTING, "files": files, "skipped": skipped})
    if len(listing) > max_bytes:
        raise UnsafeInputError(f"{root}: its listing is {len(listing)} bytes, over the size limit of {max_bytes} bytes")
    return listing


def _hash_file(path: Path, max_bytes: int) -> tuple[int, str]:
    """Size and sha256 of a regular file, opened without following links, hashed in bounded chunks."""
    with open_regular(path, follow_symlinks=False) as handle:
        hasher = hashlib.sha256()
        size = 0
        while chunk := handle.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise UnsafeInputError(f"{path}: exceeds the size limit of {max_bytes} bytes")
            hasher.update(chunk)
    return size, f"sha256:{hasher.hexdigest()}"


class DocsListing(Normalizer):
    """Directory listing → `docs` evidence."""

    kind = "docs"
    format = "directory-listing"
    description = "A directory (ingest DIR --kind docs): files with size and sha256, symlinks skipped"
    priority = 5

    def detect(self, artifact: Artifact) -> bool:
        return artifact.path.is_dir()

    def normalize(self, artifact: Artifact) -> Normalized:
        if not artifact.path.is_dir():
            raise self.fail(artifact, "not a directory (docs evidence is a listing of a directory)")
        listing = artifact.json()
        if not isinstance(listing, dict) or listing.get("listing") != LISTING:
            raise self.fail(artifact, "artifact bytes are not a directory listing")
        files = listing["files"]
        data = {"files": files, "skipped": listing["skipped"], "total_files": len(files),
                "total_bytes": sum(f["bytes"] for f in files)}
        return Normalized(kind=self.kind, format=self.format, producer=Producer("readypolicy-listing"), data=data)


NORMALIZER = DocsListing()
