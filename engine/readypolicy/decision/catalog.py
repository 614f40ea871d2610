"""Which checks a lane's decision must hold, read from the pack's own catalog (its data, not its rules).

The shipped packs keep their check catalog in data: `<root>/config/data.yaml` with
`lanes: {<lane>: {checks: [...]}}`, and a lane requires its own checks plus every lower lane's
(in the pack's order, its config `lane_order`). Reading the list from the data rather than from what
the rules returned is what lets readypolicy notice a lane rule that forgot, dropped or invented a
check: the two halves of the pack must agree. The catalog comes from the policy set's files, so a
source tree and a built bundle give the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from readypolicy.decision.enforcement import Enforcement, pack_enforcement
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.policy.pack import config_data


def pack_config(policy: PolicySet) -> dict[str, Any] | None:
    """The data document at `data.<root>.config`, or None when the pack has none."""
    return config_data(policy.files, policy.root, policy.pack)


def required_checks(policy: PolicySet, lane: str) -> tuple[str, ...] | None:
    """Check ids a decision of `lane` must hold, each once; None for a pack without a lane catalog.

    A pack that has a catalog but does not list the lane, or lists checks that are not strings, is a
    PolicyError: a catalog that cannot say what is required cannot vouch for a decision.
    """
    config = pack_config(policy)
    if config is None or "lanes" not in config:
        return None
    lanes = config["lanes"]
    order = list(policy.lanes)
    if not isinstance(lanes, dict) or lane not in lanes or lane not in order:
        raise PolicyError(f"pack {policy.pack!r}: its catalog (config lanes) has no lane {lane!r}")
    required: list[str] = []
    for name in order[: order.index(lane) + 1]:
        entry = lanes.get(name) or {}
        checks = entry.get("checks", []) if isinstance(entry, dict) else None
        if not isinstance(checks, list) or not all(isinstance(c, str) and c for c in checks):
            raise PolicyError(f"pack {policy.pack!r}: catalog lane {name!r} must list its checks as strings")
        required.extend(checks)
    if not required:
        raise PolicyError(f"pack {policy.pack!r}: its catalog requires no check for lane {lane!r}")
    return tuple(required)


def pack_lifetimes(policy: PolicySet) -> dict[str, int] | None:
    """Lane → the most days a waiver may run there: `waivers.lifetime_days_max` in the pack's config data.

    Read from the data document the policy enforces, so the numbers exist in one place. None for
    a pack without the table (one not built on the shared library): its own Rego is the judge.
    """
    config = pack_config(policy) or {}
    section = config.get("waivers")
    table = section.get("lifetime_days_max") if isinstance(section, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict) or not all(
        isinstance(days, int) and not isinstance(days, bool) and days > 0 for days in table.values()
    ):
        raise PolicyError(f"pack {policy.pack!r}: waivers.lifetime_days_max must map each lane to a whole number of days > 0")
    return {str(lane): days for lane, days in table.items()}


def pack_owners(policy: PolicySet) -> dict[str, frozenset[str]]:
    """Team → the modules it owns: `waivers.owners` in the pack's config data (exact module names).

    What a pattern waiver's `owner` is checked against (`lib.owned`): a table the platform keeps
    with the pack, never the module's own manifest. No table means no team owns anything, so a
    pattern waiver covers nothing; a malformed one is a PolicyError rather than a guess.
    """
    config = pack_config(policy) or {}
    section = config.get("waivers")
    table = section.get("owners", {}) if isinstance(section, dict) else {}
    if not isinstance(table, dict) or not all(
        isinstance(modules, list) and all(isinstance(m, str) and m for m in modules) for modules in table.values()
    ):
        raise PolicyError(f"pack {policy.pack!r}: waivers.owners must map each team to a list of module names")
    return {str(team): frozenset(modules) for team, modules in table.items()}


@dataclass(frozen=True)
class LaneRules:
    """What a pack's catalog says every decision of one lane must respect, whatever its rules returned."""

    required: tuple[str, ...] | None
    """Check ids the decision must hold, each once; None for a pack without a lane catalog."""
    waivable: frozenset[str] | None
    """Checks a waiver may turn green in this lane; None for a pack without a check catalog."""
    lifetime_days: int | None
    """The longest a waiver may run in this lane (from its `created`); None when the pack sets none."""
    enforcement: Mapping[str, Enforcement] | None = None
    """Check id → blocking/advisory (and `enforce_from`) per the catalog; None for a pack without one,
    whose decisions may then hold no advisory (`warn`) check."""
    owners: Mapping[str, frozenset[str]] | None = None
    """Team → modules it owns (`pack_owners`), what a waiver naming an `owner` is matched against;
    None (or a team absent) owns nothing."""


def lane_rules(policy: PolicySet, lane: str) -> LaneRules:
    """The catalog's rules for `lane`, read the way the shared Rego library reads them.

    A check is waivable only when its catalog entry exists, its `waivable` is true (or absent) and
    its `unwaivable_in` is a list not naming the lane: the same reading as `lib.waivable`, so a lane
    rule that waives what the catalog forbids is caught here even if the library was edited.
    """
    config = pack_config(policy) or {}
    checks = config.get("checks")
    waivable: frozenset[str] | None = None
    if isinstance(checks, dict):
        waivable = frozenset(
            check_id for check_id, entry in checks.items()
            if isinstance(entry, dict) and entry.get("waivable", True) is True
            and isinstance(entry.get("unwaivable_in", []), list) and lane not in entry.get("unwaivable_in", [])
        )
    lifetimes = pack_lifetimes(policy)
    return LaneRules(
        required=required_checks(policy, lane), waivable=waivable,
        lifetime_days=None if lifetimes is None else lifetimes.get(lane),
        enforcement=pack_enforcement(config, f"pack {policy.pack!r}") if isinstance(checks, dict) else None,
        owners=pack_owners(policy),
    )
