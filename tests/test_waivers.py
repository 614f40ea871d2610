"""The waiver file: usable waivers pass through; malformed, expired or unbounded ones are dropped with a warning."""

from __future__ import annotations

from pathlib import Path

from readypolicy.policy.waivers import load_waivers

NOW = "2026-11-25T12:00:00Z"
GOOD = {"check": "coverage.line", "module": "ledger", "lane": "integration", "reason": "flaky runner",
        "approver": "sec-team", "expires": "2026-12-31T00:00:00+01:00"}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _yaml(entries: list[dict[str, str]]) -> str:
    lines = ["waivers:"]
    for entry in entries:
        lines.append("  - " + "\n    ".join(f"{k}: {v!r}" for k, v in entry.items()))
    return "\n".join(lines) + "\n"


def test_a_valid_waiver_is_kept_with_expiry_in_utc(tmp_path: Path) -> None:
    waivers = load_waivers(_write(tmp_path, _yaml([GOOD])), NOW)
    assert waivers.warnings == ()
    assert waivers.entries == ({**GOOD, "expires": "2026-12-30T23:00:00.000000Z"},)


def test_bad_waivers_are_dropped_with_one_warning_each(tmp_path: Path) -> None:
    entries = [
        {**GOOD, "expires": "2026-01-01T00:00:00Z"},
        {k: v for k, v in GOOD.items() if k != "approver"},
        {**GOOD, "expires": "next tuesday"},
        {**GOOD, "expires": "2999-01-01T00:00:00Z"},
        GOOD,
    ]
    waivers = load_waivers(_write(tmp_path, _yaml(entries)), NOW)
    assert len(waivers.entries) == 1
    assert [w.split(": ", 1)[1] for w in waivers.warnings] == [
        "waiver #1 for coverage.line on ledger expired 2026-01-01T00:00:00.000000Z",
        "waiver #2 ignored: missing approver",
        "waiver #3 ignored: expires 'next tuesday' is not an RFC 3339 time",
        "waiver #4 ignored: expires '2999-01-01T00:00:00Z' is beyond 2200: a waiver must be time-boxed",
    ]


def test_no_file_means_no_waivers(tmp_path: Path) -> None:
    assert load_waivers(tmp_path / "absent.yaml", NOW).entries == ()
