"""Source vs bundle: policy edits under `policies/` that were never built and approved.

The pack as it is on disk now is compared file by file with the bundle the lock approved, so an
edit waiting for `policy build` + `policy approve` shows up with the rules it touches.
"""

from __future__ import annotations

from readypolicy.drift.compare import compare_files
from readypolicy.drift.interface import Difference
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.policy.interface import PolicySet


def source_differences(opa: OpaBinary, source: PolicySet, approved: PolicySet, lanes: tuple[str, ...]) -> list[Difference]:
    """Files and rules of the source pack that differ from the approved bundle."""
    if source.digest == approved.digest:
        return []
    return compare_files(
        opa, approved.files, source.files, source="source", lanes=lanes,
        where=f"{source.origin} vs approved {approved.origin.name}",
    )
