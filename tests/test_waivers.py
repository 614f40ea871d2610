"""The waiver file: usable waivers pass through; malformed, expired, unbounded or over-long ones are dropped with a warning.

The lifetimes come from the pack's own data document, read here with PyYAML independently of the
loader, so a number changed in the policy is the number the loader applies.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.policy.pack import load_pack, pack_dir
from readypolicy.policy.waivers import lane_lifetimes, load_waivers, pack_lifetimes

REPO = Path(__file__).resolve().parents[1]
NOW = "2026-11-25T12:00:00Z"
LIFETIMES = {"candidate": 30, "integration": 14, "production": 7}
GOOD = {"check": "coverage.line", "module": "ledger", "lane": "integration", "reason": "flaky runner",
        "approver": "sec-team", "created": "2026-11-24T09:00:00+01:00", "expires": "2026-12-01T00:00:00+01:00"}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _yaml(entries: list[dict[str, str]]) -> str:
    lines = ["waivers:"]
    for entry in entries:
        lines.append("  - " + "\n    ".join(f"{k}: {v!r}" for k, v in entry.items()))
    return "\n".join(lines) + "\n"


def _policy(data: str | None, name: str = "data.yaml") -> PolicySet:
    files = {"readiness/lib/decision.rego": b"package readiness.lib\n"}
    if data is not None:
        files[f"readiness/config/{name}"] = data.encode()
    return PolicySet(pack="p", version="1", root="readiness", lanes={}, files=files, source="tree", origin=Path("p"))


def test_a_valid_waiver_is_kept_with_its_times_in_utc(tmp_path: Path) -> None:
    waivers = load_waivers(_write(tmp_path, _yaml([GOOD])), NOW, LIFETIMES)
    assert waivers.warnings == ()
    assert waivers.entries == (
        {**GOOD, "created": "2026-11-24T08:00:00.000000Z", "expires": "2026-11-30T23:00:00.000000Z"},
    )


def test_bad_waivers_are_dropped_with_one_warning_each(tmp_path: Path) -> None:
    entries = [
        {**GOOD, "expires": "2026-01-01T00:00:00Z"},
        {k: v for k, v in GOOD.items() if k != "approver"},
        {**GOOD, "expires": "next tuesday"},
        {**GOOD, "expires": "2999-01-01T00:00:00Z"},
        {k: v for k, v in GOOD.items() if k != "created"},
        {**GOOD, "created": "2026-11-26T00:00:00Z"},
        {**GOOD, "expires": "2199-12-31T00:00:00Z"},
        {**GOOD, "created": "2026-11-01T00:00:00Z", "expires": "2026-11-15T00:00:01Z", "lane": "integration"},
        {**GOOD, "lane": "staging"},
        GOOD,
    ]
    waivers = load_waivers(_write(tmp_path, _yaml(entries)), NOW, LIFETIMES)
    assert len(waivers.entries) == 1
    assert [w.split(": ", 1)[1] for w in waivers.warnings] == [
        "waiver #1 for coverage.line on ledger expired 2026-01-01T00:00:00.000000Z",
        "waiver #2 ignored: missing approver",
        "waiver #3 ignored: expires 'next tuesday' is not an RFC 3339 time",
        "waiver #4 ignored: expires '2999-01-01T00:00:00Z' is beyond 2200: a waiver must be time-boxed",
        "waiver #5 ignored: missing created",
        "waiver #6 for coverage.line on ledger ignored: created 2026-11-26T00:00:00.000000Z is after the"
        " evaluation time 2026-11-25T12:00:00.000000Z",
        "waiver #7 for coverage.line on ledger ignored: it runs 63223.7 days from created 2026-11-24T08:00:00.000000Z"
        " to expires 2199-12-31T00:00:00.000000Z; the policy allows at most 14 in lane integration",
        "waiver #8 for coverage.line on ledger expired 2026-11-15T00:00:01.000000Z",
        "waiver #9 for coverage.line on ledger ignored: the policy sets no waiver lifetime for lane staging,"
        " so no waiver applies there",
    ]


def test_the_lifetime_is_per_lane_and_inclusive(tmp_path: Path) -> None:
    """Exactly 14 days is allowed in integration, a second more is not; 15 days is fine in candidate."""
    exact = {**GOOD, "created": "2026-11-20T00:00:00Z", "expires": "2026-12-04T00:00:00Z"}
    over = {**exact, "expires": "2026-12-04T00:00:01Z"}
    candidate = {**over, "lane": "candidate"}
    waivers = load_waivers(_write(tmp_path, _yaml([exact, over, candidate])), NOW, LIFETIMES)
    assert [w["lane"] for w in waivers.entries] == ["integration", "candidate"]
    assert len(waivers.warnings) == 1 and "waiver #2 " in waivers.warnings[0]
    assert "the policy allows at most 14 in lane integration" in waivers.warnings[0]


def test_without_lifetimes_the_policy_alone_judges_the_span(tmp_path: Path) -> None:
    long = {**GOOD, "expires": "2199-12-31T00:00:00Z"}
    assert load_waivers(_write(tmp_path, _yaml([long])), NOW, None).entries[0]["expires"] == "2199-12-31T00:00:00.000000Z"


def test_no_file_means_no_waivers(tmp_path: Path) -> None:
    assert load_waivers(tmp_path / "absent.yaml", NOW, LIFETIMES).entries == ()


@pytest.mark.parametrize("pack", ["readiness", "priority", "enterprise"])
def test_lifetimes_are_read_from_the_shipped_pack_data(pack: str) -> None:
    directory = pack_dir(REPO / "policies", pack)
    raw = yaml.safe_load((directory / "config" / "data.yaml").read_text(encoding="utf-8"))
    expected = raw["waivers"]["lifetime_days_max"]
    assert expected == LIFETIMES
    assert pack_lifetimes(load_pack(directory)) == expected


def test_a_pack_without_the_table_leaves_lifetimes_to_its_policy() -> None:
    assert pack_lifetimes(_policy(None)) is None
    assert pack_lifetimes(_policy("checks: {}\n")) is None
    assert pack_lifetimes(_policy('{"waivers": {"lifetime_days_max": {"candidate": 3}}}', "data.json")) == {"candidate": 3}


@pytest.mark.parametrize("table", ["[30]", "{candidate: 0}", "{candidate: 1.5}", "{candidate: true}", "{candidate: '30'}"])
def test_a_bad_lifetime_table_is_a_policy_error(table: str) -> None:
    with pytest.raises(PolicyError, match=r"pack .p.: waivers.lifetime_days_max must map"):
        pack_lifetimes(_policy(f"waivers: {{lifetime_days_max: {table}}}\n"))


def test_each_decided_lane_takes_its_lifetime_from_its_own_policy() -> None:
    """`eval --locked` may decide lanes with different bundles: each lane's number is its bundle's."""
    old = _policy("waivers: {lifetime_days_max: {candidate: 60, integration: 20, production: 10}}\n")
    new = _policy("waivers: {lifetime_days_max: {candidate: 30, integration: 14}}\n")
    assert lane_lifetimes({"candidate": old, "integration": new}) == {"candidate": 60, "integration": 14, "production": 10}
    assert lane_lifetimes({"production": new}) == {"candidate": 30, "integration": 14}
    assert lane_lifetimes({"candidate": _policy(None)}) is None
