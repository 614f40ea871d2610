"""Build a policy set into a reproducible OPA bundle tarball.

The tarball is written here rather than by `opa build` so that the same policy files always give
byte-identical output (sorted members, zero mtimes and owners, no gzip timestamp): the lock file
pins a sha256, and a rebuild on another machine must reproduce it. OPA still compiles the staged
bundle first with the restricted capabilities, so a bundle that OPA would refuse is never written.

Bundles are named by content, `<pack>-<version>-<digest prefix>.tar.gz` (the revision with `-` for
`+`): an edit rebuilt without a version bump writes a new file beside the approved one instead of
silently replacing the bytes the lock pins, and a rebuild of unchanged sources rewrites the same bytes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from readypolicy.canonical import raw_digest
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.policy.stage import tree_files, write_tree
from readypolicy.safeio import write_atomic
from readypolicy.tarballs import deterministic_targz


def bundle_file_name(pack: str, revision: str) -> str:
    """The file name `policy build` gives a bundle of `pack` at `revision` (`<version>+<digest prefix>`)."""
    return f"{pack}-{revision.replace('+', '-')}.tar.gz"


def bundle_bytes(policy: PolicySet) -> bytes:
    """The deterministic .tar.gz bytes of a policy set."""
    # OPA writes member names with a leading "/" (bundle root); do the same.
    return deterministic_targz(tree_files(policy), prefix="/")


SIGNATURES = ".signatures.json"
"""OPA's own bundle signature member, checked by `opa run --verification-key` (and OPA's bundle downloader)."""


def opa_signed_bytes(policy: PolicySet, opa: OpaBinary, signing_key_pem: bytes) -> bytes:
    """The bundle with OPA's `.signatures.json`: `opa sign` (ES256) over the unsigned tarball's members.

    OPA itself signs, so the JWT is exactly what `opa build --signing-key` would carry; the members
    are the reproducible ones plus that file (an ECDSA signature differs per run, so a signed
    bundle's bytes do too). The unencrypted key exists only in a private temporary directory.
    """
    members = tree_files(policy)
    with tempfile.TemporaryDirectory(prefix="readypolicy-opa-sign-") as work:
        unsigned, key = Path(work) / "bundle.tar.gz", Path(work) / "signing-key.pem"
        unsigned.write_bytes(deterministic_targz(members, prefix="/"))
        with os.fdopen(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(signing_key_pem)
        done = opa.run(["sign", "--signing-key", str(key), "--signing-alg", "ES256", "--bundle", str(unsigned),
                        "-o", work])
        if done.returncode != 0:
            text = (done.stderr or done.stdout).decode("utf-8", errors="replace")
            raise PolicyError(f"opa sign failed for pack {policy.pack!r}: {' '.join(text.split())[:400]}")
        members[SIGNATURES] = (Path(work) / SIGNATURES).read_bytes()
    return deterministic_targz(members, prefix="/")


def compile_check(policy: PolicySet, opa: OpaBinary) -> None:
    """`opa check --strict` of the staged bundle against the restricted capabilities."""
    with tempfile.TemporaryDirectory(prefix="readypolicy-check-") as work:
        write_tree(policy, Path(work))
        done = opa.run(["check", "--strict", "--bundle", "--capabilities", str(opa.capabilities_file), work])
    if done.returncode != 0:
        text = (done.stderr or done.stdout).decode("utf-8", errors="replace").replace(work + "/", "")
        raise PolicyError(f"pack {policy.pack!r} does not compile: {' '.join(text.split())[:600]}")


def build_bundle(
    policy: PolicySet, opa: OpaBinary, out_dir: Path, signing_key_pem: bytes | None = None,
    holder: Callable[[str], str | None] | None = None,
) -> tuple[Path, str]:
    """Compile-check, then write the content-named bundle atomically; returns (path, sha256).

    Built bundles are immutable: a file with the same name and other bytes (a signed or re-signed
    build) is replaced only when `holder` (given the existing file's sha256) names nothing that
    refers to it, such as a lock entry or a stored decision. The same bytes are left as they are.
    """
    compile_check(policy, opa)
    data = bundle_bytes(policy) if signing_key_pem is None else opa_signed_bytes(policy, opa, signing_key_pem)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / bundle_file_name(policy.pack, policy.revision)
    if target.is_file():
        existing = raw_digest(target.read_bytes())
        if existing == raw_digest(data):
            return target, existing
        referenced = holder(existing) if holder is not None else None
        if referenced is not None:
            raise PolicyError(f"{target} already exists with other bytes and {referenced}: a built bundle is never "
                              "overwritten; use it as it is, or change the pack's sources or version")
    write_atomic(target, data)
    return target, raw_digest(data)
