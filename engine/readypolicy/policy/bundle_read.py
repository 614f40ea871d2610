"""Read an OPA bundle tarball into a policy set, without trusting it.

Members are read into memory, never extracted: absolute paths, `..`, links, devices, oversized
members and member floods are refused outright. The bundle's `.manifest` must carry readypolicy
metadata whose digest matches the files actually inside, so a bundle edited after it was built
is refused rather than evaluated.
"""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

from readypolicy.canonical import raw_digest
from readypolicy.policy.bundle_build import SIGNATURES
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.policy.pack import DATA_NAMES

MAX_MEMBER_BYTES = 16 * 1024 * 1024
MAX_TOTAL_BYTES = 128 * 1024 * 1024
MAX_MEMBERS = 10_000
MAX_BUNDLE_BYTES = 256 * 1024 * 1024


def safe_member_name(bundle: Path, member: tarfile.TarInfo, root_slash: bool = True) -> str:
    """The member's normalized relative path, or PolicyError if it could escape or is not a plain file.

    OPA writes member names with one leading `/` meaning "bundle root"; that one slash is accepted
    unless `root_slash` is False (archives readypolicy writes itself never use it), and any other
    absolute form (`//x`, drive letters, backslashes) is not.
    """
    name = member.name
    pure = PurePosixPath(name[1:] if root_slash and name.startswith("/") else name)
    if pure.is_absolute() or name.startswith("\\") or (pure.parts and ":" in pure.parts[0]):
        raise PolicyError(f"{bundle}: member {name!r} has an absolute path")
    if any(part == ".." for part in pure.parts):
        raise PolicyError(f"{bundle}: member {name!r} escapes the bundle with '..'")
    if member.issym() or member.islnk():
        raise PolicyError(f"{bundle}: member {name!r} is a link; bundles may only hold regular files")
    if not (member.isfile() or member.isdir()):
        raise PolicyError(f"{bundle}: member {name!r} is not a regular file")
    if member.size > MAX_MEMBER_BYTES:
        raise PolicyError(f"{bundle}: member {name!r} is {member.size} bytes, over the {MAX_MEMBER_BYTES} limit")
    return "/".join(part for part in pure.parts if part not in ("", "."))


def read_members(bundle: Path, root_slash: bool = True) -> dict[str, bytes]:
    """Every regular file of a .tar.gz bundle, by normalized path (see `safe_member_name`)."""
    try:
        size = bundle.stat().st_size
    except OSError as exc:
        raise PolicyError(f"{bundle}: cannot read bundle: {exc.strerror}") from exc
    if size > MAX_BUNDLE_BYTES:
        raise PolicyError(f"{bundle}: {size} bytes exceeds the bundle size limit")
    members: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(bundle, mode="r:gz") as archive:
            for count, member in enumerate(archive, start=1):
                if count > MAX_MEMBERS:
                    raise PolicyError(f"{bundle}: more than {MAX_MEMBERS} members")
                name = safe_member_name(bundle, member, root_slash)
                if member.isdir():
                    continue
                total += member.size
                if total > MAX_TOTAL_BYTES:
                    raise PolicyError(f"{bundle}: expands past {MAX_TOTAL_BYTES} bytes")
                handle = archive.extractfile(member)
                if handle is None:
                    raise PolicyError(f"{bundle}: member {name!r} cannot be read")
                data = handle.read(MAX_MEMBER_BYTES + 1)
                if len(data) != member.size:
                    raise PolicyError(f"{bundle}: member {name!r} size does not match its header")
                if name in members:
                    raise PolicyError(f"{bundle}: member {name!r} appears twice")
                members[name] = data
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, OSError) as exc:
        raise PolicyError(f"{bundle}: not a readable .tar.gz bundle: {exc}") from exc
    return members


def read_bundle(bundle: Path) -> PolicySet:
    """A policy set from a bundle built by `readypolicy policy build`."""
    members = read_members(bundle)
    manifest_bytes = members.pop(".manifest", None)
    if manifest_bytes is None:
        raise PolicyError(f"{bundle}: no .manifest; build bundles with `readypolicy policy build`")
    try:
        manifest: dict[str, Any] = json.loads(manifest_bytes)
        meta = manifest["metadata"]["readypolicy"]
        root = manifest["roots"][0]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise PolicyError(f"{bundle}: .manifest lacks readypolicy metadata ({exc})") from exc
    files = {
        name: data for name, data in members.items()
        if (name.endswith(".rego") and not name.endswith("_test.rego")) or PurePosixPath(name).name in DATA_NAMES
    }
    uncovered = sorted(set(members) - set(files) - {SIGNATURES})
    if uncovered:
        # OPA loads members the digest leaves out (a `_test.rego` is a module like any other to `opa eval
        # --bundle`; `.wasm`, `plan.json`, `patch.json` change what runs): a decision would name the digest
        # of a policy other than the one evaluated. `policy build` writes none of them; OPA's own
        # `.signatures.json` (`policy build --signing-key`) only signs the members and runs nothing.
        raise PolicyError(f"{bundle}: member {uncovered[0]!r} is not covered by the bundle's policy digest; "
                          f"a bundle may hold only .manifest, {SIGNATURES}, policy modules and data files")
    policy = PolicySet(
        pack=str(meta["pack"]), version=str(meta["version"]), root=str(root), lanes=dict(meta["lanes"]),
        files=files, source="bundle", origin=bundle, bundle_sha256=raw_digest(bundle.read_bytes()),
        description=str(meta.get("description") or ""), levels=dict(meta.get("levels") or {}),
    )
    if policy.digest != meta.get("digest"):
        raise PolicyError(
            f"{bundle}: files inside do not match the digest recorded at build time "
            f"({policy.digest} != {meta.get('digest')}); the bundle was modified after it was built"
        )
    if manifest.get("revision") != policy.revision:
        raise PolicyError(f"{bundle}: .manifest revision {manifest.get('revision')!r} does not match its content")
    return policy
