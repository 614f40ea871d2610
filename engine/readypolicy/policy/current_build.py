"""The bundle `policy build` made from a pack's current sources, for commands that default to it.

`policy approve` without `--bundle` pins this bundle; it must exist and hold exactly the sources on
disk, or the lock would approve something other than what the author reviewed.
"""

from __future__ import annotations

from pathlib import Path

from readypolicy.policy.bundle_build import bundle_file_name
from readypolicy.policy.bundle_read import read_bundle
from readypolicy.policy.interface import PolicyError, PolicySet


def current_build(source: PolicySet, bundles_dir: Path) -> tuple[Path, PolicySet]:
    """The built bundle of `source` in `bundles_dir` and its policy set; `PolicyError` if missing or stale."""
    bundle = bundles_dir / bundle_file_name(source.pack, source.revision)
    built = read_bundle(bundle) if bundle.is_file() else None
    if built is None or built.digest != source.digest:
        state = "does not exist" if built is None else "was built from other sources"
        raise PolicyError(f"{bundle} {state}; run `readypolicy policy build` first")
    return bundle, built
