"""Configuration: flags over `READYPOLICY_*` environment variables over `readypolicy.yaml` over defaults.

Every setting has all three spellings so a CI job can pin anything without editing files, and a
laptop can keep its defaults in the repo. Relative paths in the file are resolved against the
file's directory, so the tool behaves the same from any working directory.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from readypolicy.errors import ConfigError
from readypolicy.identifiers import identifier_problem
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
    store_timeout_s: float = 30.0
    """Longest wait for a store lock, and on PostgreSQL the longest statement (docs/team-store.md)."""
    store_auto_migrate: bool = False
    """Let `ingest` and `policy approve` create or upgrade a PostgreSQL store's schema (a SQLite file always is)."""
    policies: Path = Path("policies")
    """Policy source directory."""
    pack: str = "readiness"
    """Policy pack to evaluate."""
    lanes: tuple[str, ...] = ()
    """Lanes to decide and report, in promotion order; empty means every lane of the pack, in its order (the
    config data's `lane_order`, the one place the lane list is written; `Runtime.lanes` resolves it)."""
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
    timestamp_url: str | None = None
    """RFC 3161 timestamp authority that key-based signing asks for a trusted signing time."""
    require_timestamp: bool = False
    """`verify` fails unless a trusted RFC 3161 timestamp vouches for a key-based signature's time."""
    waiver_approvers: tuple[Path, ...] | None = None
    """PEM public keys of the waiver approvers. When set, `eval` honours only governed waivers whose
    signed approval verifies against one of them; unset, waivers are honoured unverified, with a warning."""
    policy_approvers: tuple[Path, ...] | None = None
    """PEM public keys of the policy approvers. When set, `eval --locked`, `drift` and `verify --replay` accept
    a bundle only with a signed approval (`policy approve --key`) that verifies against one of them."""
    actor: str = field(default_factory=lambda: default_actor())
    """Who is acting, recorded in the audit log."""

    def path(self, value: Path) -> Path:
        """Resolve a configured path against the project root."""
        return value if value.is_absolute() else self.root / value

    def policy_approver_keys(self) -> list[Path] | None:
        """`policy_approvers` resolved against the root; None when not configured (approvals unchecked)."""
        return None if self.policy_approvers is None else [self.path(key) for key in self.policy_approvers]

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
        if name in ("waiver_approvers", "policy_approvers"):
            if value is None:
                return None
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(Path(str(v).strip()) for v in items if str(v).strip())
        if name == "lanes":
            items = value.split(",") if isinstance(value, str) else list(value)
            lanes = tuple(str(v).strip() for v in items if str(v).strip())
            if not lanes:  # given but empty: a typo, not "the pack's lanes" (leave the setting out for those)
                raise ConfigError("setting 'lanes' must name at least one lane")
            return lanes
        if kind == "bool":
            return _boolean(value)
        if "float" in kind:
            return float(value)
        if "int" in kind:
            return int(value)
        return None if value is None else str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: cannot use {value!r}: {exc}") from exc


def _boolean(value: Any) -> bool:
    """YAML booleans, and the spellings an environment variable can carry."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


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
    config = replace(Config(root=root), **values)
    check_ranges(config)
    return config


def check_ranges(config: Config) -> None:
    """Refuse values that would crash later or quietly disable a guard (a batch of 0, a NaN deadline).

    Checked once here, so `READYPOLICY_BATCH_SIZE=0` is a one-line configuration error naming the
    setting, not an exception deep inside an evaluation.
    """
    bounds: tuple[tuple[str, float, float, bool], ...] = (
        # setting, lowest, highest, lowest allowed itself
        ("batch_size", 1, math.inf, True),
        ("workers", 1, 1024, True),
        ("opa_timeout_s", 0, 24 * 3600, False),
        ("store_timeout_s", 0, 24 * 3600, False),
        ("max_artifact_bytes", 0, math.inf, False),
        ("coverage_floor", 0, 100, True),
    )
    for name, low, high, inclusive in bounds:
        value = getattr(config, name)
        in_range = math.isfinite(value) and (value >= low if inclusive else value > low) and value <= high
        if not in_range:
            above = f"at least {low:g}" if inclusive else f"above {low:g}"
            limit = "" if high == math.inf else f" and at most {high:g}"
            raise ConfigError(f"setting {name!r} must be {above}{limit}, not {value!r}")
    for lane in config.lanes:
        problem = identifier_problem(lane)
        if problem is not None:
            raise ConfigError(f"setting 'lanes': lane {lane!r} {problem}")
    repeated = sorted({lane for lane in config.lanes if config.lanes.count(lane) > 1})
    if repeated:
        raise ConfigError(f"setting 'lanes' names {', '.join(repeated)} more than once")
