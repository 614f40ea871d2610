"""The `sbom` data shape shared by the CycloneDX and SPDX normalizers.

Both count the inventory without its root (the thing the SBOM describes), and report licenses
over that inventory, so one project gives the same numbers whichever SBOM format it ships.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def sbom_data(
    sbom_format: str, spec_version: str, root: dict[str, Any] | None, component_licenses: Iterable[list[str]],
) -> dict[str, Any]:
    """Build `sbom` data; `component_licenses` holds, per non-root component, its license ids/names/expressions."""
    per_component = list(component_licenses)
    return {
        "format": sbom_format,
        "spec_version": spec_version,
        "components": len(per_component),
        "has_root_component": root is not None,
        "root_component": root,
        "licenses": sorted({name for names in per_component for name in names}),
        "components_without_license": sum(1 for names in per_component if not names),
    }
