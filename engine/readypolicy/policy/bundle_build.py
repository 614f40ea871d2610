"""Build a policy set into a reproducible OPA bundle tarball.

The tarball is written here rather than by `opa build` so that the same policy files always give
byte-identical output (sorted members, zero mtimes and owners, no gzip timestamp): the lock file
pins a sha256, and a rebuild on another machine must reproduce it. OPA still compiles the staged
bundle first with the restricted capabilities, so a bundle that OPA would refuse is never written.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from readypolicy.canonical import raw_digest
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.policy.stage import bundle_manifest, write_tree
from readypolicy.tarballs import deterministic_targz


def bundle_bytes(policy: PolicySet) -> bytes:
    """The deterministic .tar.gz bytes of a policy set."""
    members = dict(policy.files)
    members[".manifest"] = json.dumps(bundle_manifest(policy), sort_keys=True, indent=2).encode()
    # OPA writes member names with a leading "/" (bundle root); do the same.
    return deterministic_targz(members, prefix="/")


def compile_check(policy: PolicySet, opa: OpaBinary) -> None:
    """`opa check --strict` of the staged bundle against the restricted capabilities."""
    with tempfile.TemporaryDirectory(prefix="readypolicy-check-") as work:
        write_tree(policy, Path(work))
        done = opa.run(["check", "--strict", "--bundle", "--capabilities", str(opa.capabilities_file), work])
    if done.returncode != 0:
        text = (done.stderr or done.stdout).decode("utf-8", errors="replace").replace(work + "/", "")
        raise PolicyError(f"pack {policy.pack!r} does not compile: {' '.join(text.split())[:600]}")


def build_bundle(policy: PolicySet, opa: OpaBinary, out_dir: Path) -> tuple[Path, str]:
    """Compile-check, then write `<pack>-<version>.tar.gz` atomically; returns (path, sha256)."""
    compile_check(policy, opa)
    data = bundle_bytes(policy)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{policy.pack}-{policy.version}.tar.gz"
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target, raw_digest(data)
