"""Compare two sets of policy files (approved vs actual) into file-, rule- and data-level differences.

Sources, bundles and a running server all reduce to "bundle path → bytes", so one comparison
serves them: a file added, removed or changed, then inside it the Rego rules or data leaves that
differ. A Rego file whose bytes changed but whose rules did not is reported as formatting only.
"""

from __future__ import annotations

from collections.abc import Mapping

from readypolicy.canonical import raw_digest
from readypolicy.drift.data_diff import ABSENT, data_mount, diff_data, load_data
from readypolicy.drift.interface import DataChange, Difference
from readypolicy.drift.rego_diff import diff_rego
from readypolicy.engines.opa_binary import OpaBinary


def data_difference(source: str, lanes: tuple[str, ...], change: DataChange, where: str) -> Difference:
    """A data leaf change as a report line."""
    kind = "data-added" if change.before is None else "data-removed" if change.after is None else "data-changed"
    return Difference(source, lanes, kind, change.key, change.before, change.after, where)


def content_differences(
    opa: OpaBinary, path: str, old: bytes | None, new: bytes | None, *, source: str, lanes: tuple[str, ...],
) -> list[Difference]:
    """What changed inside one file: Rego rules, or data leaves."""
    if path.endswith(".rego"):
        return [
            Difference(source, lanes, f"rule-{c.change}", c.name, detail=path + (f"; {c.detail}" if c.detail else ""))
            for c in diff_rego(opa, path, old, new)
        ]
    before = load_data(path, old) if old is not None else ABSENT
    after = load_data(path, new) if new is not None else ABSENT
    prefix = "data." + data_mount(path).replace("/", ".")
    return [data_difference(source, lanes, change, path) for change in diff_data(prefix, before, after)]


def compare_files(
    opa: OpaBinary, expected: Mapping[str, bytes], actual: Mapping[str, bytes], *,
    source: str, lanes: tuple[str, ...], where: str,
) -> list[Difference]:
    """Every file that differs between the approved and the actual set, each followed by what changed inside."""
    out: list[Difference] = []
    for path in sorted(expected.keys() | actual.keys()):
        old, new = expected.get(path), actual.get(path)
        if old == new:
            continue
        inner = content_differences(opa, path, old, new, source=source, lanes=lanes)
        kind = "file-added" if old is None else "file-removed" if new is None else "file-changed"
        note = where if inner or kind != "file-changed" else f"{where}; formatting or comments only"
        out.append(Difference(
            source, lanes, kind, path, raw_digest(old) if old is not None else None,
            raw_digest(new) if new is not None else None, note,
        ))
        out.extend(inner)
    return out
