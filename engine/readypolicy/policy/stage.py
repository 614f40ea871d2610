"""Materialize a policy set as an OPA bundle directory that `opa eval --bundle` can load.

Staged directories are content-addressed (named by the policy digest) and written atomically, so
concurrent evaluations share one copy and a crash never leaves a half-written bundle in use. The
cache is writable by whoever runs readypolicy, so a name is never trusted: every load compares the
staged tree with the policy set's files byte for byte (about a millisecond for the default pack), and
a tree that differs (an edited or added file, a symlink) is refused. Otherwise OPA would run Rego that
no digest in the decision names.

A built bundle is staged the same way, from the members `bundle_read` read and the digest covers,
never handed to OPA as the archive: Python's tarfile and OPA's Go reader do not read every archive
alike (a contiguous-file member, type `'7'`, is a file to one and skipped by the other; a PAX global
header renames the members after it for one only), so a bundle whose digest matched could make OPA
run without a rule file the decision named.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from readypolicy.engines.interface import LoadedPolicy
from readypolicy.policy.interface import PolicyError, PolicySet


class StagedBundleError(PolicyError):
    """A staged bundle directory in the cache is not exactly the policy set it is named after."""


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
    """A loadable location for the policy set: a staged directory checked byte for byte."""
    loaded = location(policy, cache_dir)
    verify_tree(policy, loaded.path)
    return loaded


def location(policy: PolicySet, cache_dir: Path) -> LoadedPolicy:
    """Where `load` finds the policy set, staging it if it is not staged yet, without checking the staged files.

    Only for starting OPA ahead (`Runtime.prestart`): OPA reads its input before the bundle, and the
    evaluation that hands it the input calls `load`, whose check runs before that.
    """
    target = cache_dir / "policies" / staged_name(policy)
    if not target.is_dir():
        import shutil  # only when a pack is staged for the first time, not on every gate
        import tempfile

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


def staged_name(policy: PolicySet) -> str:
    """The staged directory's name: pack, version and digest, and for a bundle the hash of its `.manifest` too.

    The digest covers the files only; a bundle's metadata (lanes, levels, description) may differ from a
    source tree's of the same digest, and a directory staged for one would be refused for the other.
    """
    name = f"{policy.pack}@{policy.version}-{policy.digest.removeprefix('sha256:')}"
    if policy.source == "bundle":
        name += f"-bundle-{hashlib.sha256(manifest_bytes(policy)).hexdigest()[:16]}"
    return name


def manifest_bytes(policy: PolicySet) -> bytes:
    """The `.manifest` file as staged and as built into bundle files."""
    return json.dumps(bundle_manifest(policy), sort_keys=True, indent=2).encode()


def tree_files(policy: PolicySet) -> dict[str, bytes]:
    """Every file of the staged tree by relative path, `.manifest` included."""
    return {**policy.files, ".manifest": manifest_bytes(policy)}


def write_tree(policy: PolicySet, directory: Path) -> None:
    """Write the files and `.manifest` of a policy set into a directory."""
    for relative, content in tree_files(policy).items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def verify_tree(policy: PolicySet, directory: Path) -> None:
    """Refuse a staged directory that is not exactly the policy set's files (StagedBundleError).

    OPA loads every file it finds under the directory and follows symlinks, so the check covers the
    file list (nothing added or missing), every file's bytes, and that no entry is a symlink.
    """
    expected = tree_files(policy)
    found: set[str] = set()
    pending = [(directory, "")]
    while pending:
        folder, prefix = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                relative = f"{prefix}{entry.name}"
                if entry.is_symlink():
                    raise StagedBundleError(f"{directory}: staged bundle holds a symlink ({relative}); remove the directory")
                if entry.is_dir():
                    pending.append((Path(entry.path), f"{relative}/"))
                    continue
                found.add(relative)
                if relative not in expected or Path(entry.path).read_bytes() != expected[relative]:
                    raise StagedBundleError(
                        f"{directory}: staged file {relative} is not the policy's (edited or added after staging);"
                        " remove the directory to stage it again"
                    )
    missing = sorted(set(expected) - found)
    if missing:
        raise StagedBundleError(f"{directory}: staged bundle lacks {missing[0]}; remove the directory to stage it again")
