"""Read a pack from its source directory (`pack.yaml` + Rego + data files).

pack.yaml names the bundle root, the lane packages and which source directories go into the
bundle under which path. `_test.rego` files stay out of the policy set: editing a test is not a
change of policy, and the digest should say so.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.safeio import UnsafeInputError, loads_json, loads_yaml, read_limited

POLICY_SUFFIXES = (".rego", ".json", ".yaml", ".yml")
DATA_NAMES = ("data.json", "data.yaml", "data.yml")
CONFIG_DIR = "config"
"""Directory under the bundle root whose data document (`data.<root>.config`) holds the catalog and `lane_order`."""


def pack_dir(policies_dir: Path, pack: str, root: Path | None = None) -> Path:
    """Where a pack lives: `policies/` itself for the default pack, else `policies/packs/<name>/` or a path.

    A value is a directory only when it is written as a path (it holds a `/` or is `.` or `..`), and a
    relative one is resolved against `root` (the project root, like every configured path), never the
    working directory: a CI job runs in the module's checkout, and a `readiness/pack.yaml` there must not
    replace the configured pack of the same name (the decision would still name `readiness`). A bare name
    is looked up only under `policies_dir`.
    """
    if "/" in pack or pack in (".", ".."):
        candidate = Path(pack) if root is None else root / pack
        if (candidate / "pack.yaml").is_file():
            return candidate
        raise PolicyError(f"no policy pack at {candidate} (expected {candidate / 'pack.yaml'})")
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
    for key in ("name", "version", "root", "sources"):
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


def golden_dir(directory: Path) -> Path | None:
    """The pack's golden case directory, as pack.yaml `golden` names it (relative to the pack), or None.

    Golden cases are JSON documents; kept beside the Rego, `opa test policies/` would load them as
    data (and fail on their conflicting keys), so a pack names a directory OPA is not pointed at.
    """
    golden = _read_manifest(directory).get("golden")
    return None if golden is None else (directory / str(golden)).resolve()


def config_writers(files: Mapping[str, bytes], root: str) -> list[str]:
    """Data files whose document OPA mounts at, below or above `data.<root>.config` (it merges them all).

    A data document lands at its directory's path: `<root>/config/lanes/production/thresholds/data.yaml`
    adds keys to `data.<root>.config.lanes.production.thresholds`, and one at `<root>/` or the bundle's top
    can hold a `config` key of its own.
    """
    config = (root, CONFIG_DIR)
    writers = []
    for path in files:
        *mount, name = path.split("/")
        shared = min(len(mount), len(config))
        if name in DATA_NAMES and tuple(mount[:shared]) == config[:shared]:
            writers.append(path)
    return sorted(writers)


def config_data(files: Mapping[str, bytes], root: str, pack: str) -> dict[str, Any] | None:
    """The data document at `data.<root>.config` among a policy set's files, or None when there is none.

    It must be the only data file that writes there: readypolicy reads the catalog, enforcement, lane
    order, waiver tables and thresholds (`requirements`, `explain`) from this one file, while OPA decides
    on the merge of every data file mounted there. A second one (a `lanes/production/thresholds/data.yaml`
    below `config/`, a `data.json` beside `data.yaml`) would loosen what OPA enforces while every
    readypolicy view of the pack still shows the first file's values.
    """
    writers = config_writers(files, root)
    if len(writers) > 1:
        raise PolicyError(
            f"pack {pack!r}: {len(writers)} data files write data.{root}.{CONFIG_DIR} ({', '.join(writers)}); OPA merges "
            "them, readypolicy's catalog and thresholds read one: keep the pack's config in one data file"
        )
    for name in DATA_NAMES:
        path = f"{root}/{CONFIG_DIR}/{name}"
        content = files.get(path)
        if content is None:
            continue
        try:
            value = _parsed(path, content)
        except UnsafeInputError as exc:
            raise PolicyError(f"pack {pack!r}: {exc}") from exc
        if not isinstance(value, dict):
            raise PolicyError(f"pack {pack!r}: {path} must be a mapping")
        return copy.deepcopy(value)  # the caller's own copy: the cached parse is never handed out
    return None


@lru_cache(maxsize=8)
def _parsed(path: str, content: bytes) -> Any:
    """A config data file parsed once per process for the same bytes (a gate reads it for lanes and catalog)."""
    return loads_json(content, path) if path.endswith(".json") else loads_yaml(content, path)


def pack_lanes(where: Path, declared: Any, config: dict[str, Any] | None) -> dict[str, str]:
    """Lane → its Rego package, in promotion order, from the one place the pack writes its lane list.

    A pack on the shared library lists its lanes once, as `lane_order` in its config data: the Rego
    reads them there (OPA keeps no order among an object's keys, so a mapping could not carry it),
    and each lane's package is named like the lane. A pack without that list names its lanes in
    pack.yaml `lanes` (lane → package, in order). A pack.yaml that also names them must agree.
    """
    order = (config or {}).get("lane_order")
    if order is None:
        if not isinstance(declared, dict) or not declared:
            raise PolicyError(f"{where}: name the lanes in promotion order (config data `lane_order`, or pack.yaml `lanes`)")
        return {str(lane): str(package) for lane, package in declared.items()}
    if not isinstance(order, list) or not order or not all(isinstance(lane, str) and lane for lane in order) \
            or len(set(order)) != len(order):
        raise PolicyError(f"{where}: config `lane_order` must list each lane once, in promotion order")
    if declared is not None and (not isinstance(declared, dict) or list(declared) != order):
        raise PolicyError(f"{where}: pack.yaml `lanes` {list(declared or [])} disagree with config `lane_order` {order}")
    return {lane: str((declared or {}).get(lane, lane)) for lane in order}


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
    lanes = pack_lanes(directory / "pack.yaml", manifest.get("lanes"), config_data(files, root, str(manifest["name"])))
    levels = {str(k): str(v) for k, v in dict(manifest.get("levels") or {}).items()}
    return PolicySet(
        pack=str(manifest["name"]), version=str(manifest["version"]), root=root, lanes=lanes, files=files,
        source="tree", origin=directory, description=str(manifest.get("description") or ""), levels=levels,
    )
