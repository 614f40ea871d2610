"""Read a pack from its source directory (`pack.yaml` + Rego + data files).

pack.yaml names the bundle root, the lane packages and which source directories go into the
bundle under which path. `_test.rego` files stay out of the policy set: editing a test is not a
change of policy, and the digest should say so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.safeio import UnsafeInputError, loads_yaml, read_limited

POLICY_SUFFIXES = (".rego", ".json", ".yaml", ".yml")
DATA_NAMES = ("data.json", "data.yaml", "data.yml")


def pack_dir(policies_dir: Path, pack: str) -> Path:
    """Where a pack lives: `policies/` itself for the default pack, else `policies/packs/<name>/` or a path."""
    candidate = Path(pack)
    if candidate.is_dir() and (candidate / "pack.yaml").is_file():
        return candidate
    if (policies_dir / "pack.yaml").is_file() and _pack_name(policies_dir) == pack:
        return policies_dir
    named = policies_dir / "packs" / pack
    if (named / "pack.yaml").is_file():
        return named
    raise PolicyError(f"no policy pack {pack!r} in {policies_dir} (expected {named}/pack.yaml)")


def _pack_name(directory: Path) -> str:
    return str(_read_manifest(directory).get("name"))


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / "pack.yaml"
    try:
        doc = loads_yaml(read_limited(path, 1024 * 1024), str(path))
    except UnsafeInputError as exc:
        raise PolicyError(str(exc)) from exc
    if not isinstance(doc, dict):
        raise PolicyError(f"{path}: expected a mapping")
    for key in ("name", "version", "root", "lanes", "sources"):
        if key not in doc:
            raise PolicyError(f"{path}: missing {key!r}")
    return doc


def is_policy_file(path: Path) -> bool:
    """Rego modules and data documents, but not tests."""
    if path.name.endswith("_test.rego"):
        return False
    return path.suffix == ".rego" or path.name in DATA_NAMES


def source_dirs(directory: Path) -> dict[str, Path]:
    """Bundle directory (under the root) → source directory, as pack.yaml `sources` names them.

    Tools that work on the sources rather than the policy set (tests, fmt, check) walk these.
    """
    manifest = _read_manifest(directory)
    out: dict[str, Path] = {}
    for bundle_dir, source in dict(manifest["sources"]).items():
        source_path = (directory / str(source)).resolve()
        if not source_path.is_dir():
            raise PolicyError(f"{directory / 'pack.yaml'}: source {source!r} is not a directory")
        out[str(bundle_dir)] = source_path
    return out


def load_pack(directory: Path) -> PolicySet:
    """Collect a pack's files under their bundle paths."""
    manifest = _read_manifest(directory)
    root = str(manifest["root"])
    files: dict[str, bytes] = {}
    for bundle_dir, source_path in source_dirs(directory).items():
        for path in sorted(source_path.rglob("*")):
            if path.is_file() and is_policy_file(path):
                relative = path.relative_to(source_path).as_posix()
                files[f"{root}/{bundle_dir}/{relative}"] = path.read_bytes()
    if not files:
        raise PolicyError(f"{directory}: pack has no policy files")
    lanes = {str(k): str(v) for k, v in dict(manifest["lanes"]).items()}
    levels = {str(k): str(v) for k, v in dict(manifest.get("levels") or {}).items()}
    return PolicySet(
        pack=str(manifest["name"]), version=str(manifest["version"]), root=root, lanes=lanes, files=files,
        source="tree", origin=directory, description=str(manifest.get("description") or ""), levels=levels,
    )
