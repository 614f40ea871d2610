"""Signed decisions on disk: where `<module>.<lane>.decision.json` and its bundles go, and writing them.

`eval --sign` writes them, `verify DECISION.json` finds a bundle next to its decision by these
names, and `audit export` looks a recorded decision's signature up by them; one module says how.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from readypolicy.canonical import canonical_bytes
from readypolicy.safeio import publish_together
from readypolicy.signing.attest import default_bundle_path, sign_decision, vsa_bundle_path
from readypolicy.signing.bundle import bundle_text
from readypolicy.signing.interface import Signer

SIGN_DIR = Path(".readypolicy/decisions")
"""Default directory of signed decisions, relative to the project root."""

_FILE_SAFE = frozenset(string.ascii_letters + string.digits + "_.-")


def _file_part(text: str, safe: frozenset[str]) -> str:
    """Percent-encode (UTF-8) every character outside `safe`, `%` included: reversible, so no two names meet."""
    return "".join(ch if ch in safe else "".join(f"%{byte:02X}" for byte in ch.encode()) for ch in text)


def decision_path(directory: Path, module: str, lane: str) -> Path:
    """`<dir>/<module>.<lane>.decision.json`, both parts percent-encoded so that distinct subjects never share a file.

    `pay/x` and `pay_x` become `pay%2Fx` and `pay_x`; the lane also has its dots encoded, so the
    last dot before `.decision.json` always separates module from lane.
    """
    name = f"{_file_part(module, _FILE_SAFE)}.{_file_part(lane, _FILE_SAFE - {'.'})}"
    return directory / f"{name}.decision.json"


def write_signed(
    records: Sequence[Mapping[str, Any]], signer: Signer, directory: Path, subject_digest: str | None, vsa: bool,
) -> list[Path]:
    """Write `<module>.<lane>.decision.json` and its Sigstore bundle(s) per record; returns the paths.

    The names are what `readypolicy verify DECISION.json` looks for next to a decision, so a CI job
    can hand the directory to an auditor as it is. Each record is signed before anything is written,
    and its files are published together (`publish_together`), so two runs sharing a directory
    never leave a decision of one beside a bundle of the other.
    """
    written: list[Path] = []
    for record in records:
        path = decision_path(directory, record["subject"]["module"], record["lane"])
        bundle_path = default_bundle_path(path)
        bundles = [(bundle_path, sign_decision(record, signer, subject_digest))]
        if vsa:
            bundles.append((vsa_bundle_path(bundle_path), sign_decision(record, signer, subject_digest, vsa=True)))
        # The canonical (RFC 8785) bytes, no newline: their sha256 is the statement's subject, so
        # `cosign verify-blob-attestation` checks this very file as the blob.
        writers: list[tuple[Path, Callable[[Path], object]]] = [
            (path, functools.partial(_write_bytes, canonical_bytes(record)))
        ]
        # publish_together already stages each file privately and renames the set: the staged file is written
        # directly (write_bundle would stage it a second time).
        writers += [(target, functools.partial(_write_bytes, bundle_text(bundle).encode())) for target, bundle in bundles]
        publish_together(directory, writers, mode=0o600)
        written += [path, *(target for target, _bundle in bundles)]
    return written


def _write_bytes(data: bytes, path: Path) -> None:
    path.write_bytes(data)
