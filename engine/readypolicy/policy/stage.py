"""Materialize a policy set as an OPA bundle directory that `opa eval --bundle` can load.

Staged directories are content-addressed (named by the policy digest) and written atomically, so
concurrent evaluations share one copy and a crash never leaves a half-written bundle in use.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from readypolicy.engines.interface import LoadedPolicy
from readypolicy.policy.interface import PolicySet


def bundle_manifest(policy: PolicySet) -> dict[str, Any]:
    """The `.manifest` OPA reads: revision, roots, and readypolicy's metadata."""
    return {
        "revision": policy.revision,
        "roots": [policy.root],
        "metadata": {
            "readypolicy": {
                "pack": policy.pack,
                "version": policy.version,
                "digest": policy.digest,
                "lanes": dict(policy.lanes),
                "levels": dict(policy.levels),
                "description": policy.description,
            }
        },
    }


def load(policy: PolicySet, cache_dir: Path) -> LoadedPolicy:
    """A loadable location for the policy set: the bundle file itself, or a staged directory."""
    if policy.source == "bundle":
        return LoadedPolicy(path=policy.origin, digest=policy.digest, revision=policy.revision)
    target = cache_dir / "policies" / f"{policy.pack}@{policy.version}-{policy.digest.removeprefix('sha256:')}"
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".stage-", dir=target.parent))
        try:
            write_tree(policy, work)
            os.replace(work, target)
        except OSError:
            shutil.rmtree(work, ignore_errors=True)
            if not target.is_dir():
                raise
    return LoadedPolicy(path=target, digest=policy.digest, revision=policy.revision)


def write_tree(policy: PolicySet, directory: Path) -> None:
    """Write the files and `.manifest` of a policy set into a directory."""
    for relative, content in policy.files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    (directory / ".manifest").write_text(json.dumps(bundle_manifest(policy), sort_keys=True, indent=2), encoding="utf-8")
