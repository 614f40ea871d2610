"""Configuration: flags over `READYPOLICY_*` environment variables over `readypolicy.yaml` over defaults.

Every setting has all three spellings so a CI job can pin anything without editing files, and a
laptop can keep its defaults in the repo. Relative paths in the file are resolved against the
file's directory, so the tool behaves the same from any working directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from readypolicy.errors import ConfigError
from readypolicy.safeio import UnsafeInputError, loads_yaml, read_limited

CONFIG_NAME = "readypolicy.yaml"
PATH_KEYS = ("policies", "waivers", "cache_dir", "bundles")


@dataclass(frozen=True)
class Config:
    """Resolved settings."""

    root: Path
    """Project root: the directory of readypolicy.yaml (or the working directory)."""
    store: str = ".readypolicy/store.db"
    """Store URL: a SQLite path / `sqlite:///path`, or `postgresql://...`."""
    policies: Path = Path("policies")
    """Policy source directory."""
    pack: str = "readiness"
    """Policy pack to evaluate."""
    lanes: tuple[str, ...] = ("candidate", "integration", "production")
    """Lanes in promotion order."""
    opa: str | None = None
    """OPA binary; None searches READYPOLICY_OPA, .tools/bin/opa, PATH."""
    opa_timeout_s: float = 60.0
    """Deadline for one OPA process."""
    waivers: Path = Path("waivers.yaml")
    """Waiver file."""
    bundles: Path = Path("bundles")
    """Where built bundles and lock.json live."""
    cache_dir: Path = Path(".readypolicy/cache")
    """Staged policies and cached OPA facts."""
    max_artifact_bytes: int = 50 * 1024 * 1024
    """Size limit for one artifact."""
    batch_size: int = 500
    """Inputs per OPA process in fleet evaluation."""
    workers: int = 2
    """OPA processes running at once in fleet evaluation (one per core is the sweet spot)."""
    coverage_floor: float = 90.0
    """Minimum line coverage (%) of a pack's policy files by its Rego tests (`policy test`)."""
    actor: str = field(default_factory=lambda: default_actor())
    """Who is acting, recorded in the audit log."""

    def path(self, value: Path) -> Path:
        """Resolve a configured path against the project root."""
        return value if value.is_absolute() else self.root / value

    def store_url(self) -> str:
        """The store URL with a relative SQLite path resolved against the root."""
        if "://" in self.store:
            return self.store
        return str(self.path(Path(self.store)))


def default_actor() -> str:
    """The CI identity when running in CI, else the local user."""
    for variable in ("READYPOLICY_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILDKITE_BUILD_CREATOR", "USER"):
        if os.environ.get(variable):
            prefix = "ci:" if variable not in ("READYPOLICY_ACTOR", "USER") else ""
            return prefix + os.environ[variable]
    return "unknown"


def _coerce(name: str, value: Any) -> Any:
    kinds = {f.name: f.type for f in fields(Config)}
    kind = str(kinds[name])
    try:
        if name in PATH_KEYS:
            return Path(str(value))
        if name == "lanes":
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(v).strip() for v in items if str(v).strip())
        if "float" in kind:
            return float(value)
        if "int" in kind:
            return int(value)
        return None if value is None else str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: cannot use {value!r}: {exc}") from exc


def find_config(start: Path) -> Path | None:
    """readypolicy.yaml in the start directory or its parents."""
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_config(config_file: Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Resolve the configuration; `overrides` are CLI flags (None values are ignored)."""
    path = config_file or find_config(Path.cwd())
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"{config_file}: configuration file not found")
    values: dict[str, Any] = {}
    root = Path.cwd()
    if path is not None:
        root = path.parent.resolve()
        try:
            doc = loads_yaml(read_limited(path, 1024 * 1024), str(path)) or {}
        except UnsafeInputError as exc:
            raise ConfigError(str(exc)) from exc
        if not isinstance(doc, dict):
            raise ConfigError(f"{path}: expected a mapping")
        known = {f.name for f in fields(Config)} - {"root"}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}")
        values.update({k: _coerce(k, v) for k, v in doc.items()})
    for item in fields(Config):
        env = os.environ.get(f"READYPOLICY_{item.name.upper()}")
        if env is not None and item.name != "root":
            values[item.name] = _coerce(item.name, env)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _coerce(key, value)
    return replace(Config(root=root), **values)
