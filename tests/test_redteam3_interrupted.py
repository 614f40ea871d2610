"""Red-team round 3, the gate under failure: a report whose writer was interrupted must never pass.

The LCOV tracefile is written by a real coverage.py run (`coverage run` + `coverage lcov`, see
`test_redteam2_coverage._real_lcov`); the attack cuts it as a writer killed mid-write (out of memory,
a CI timeout, a full disk) leaves it: a prefix of the real bytes. Expected figures are counted from
the raw text, never read back from the normalizer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_hostile_input import assert_refused
from test_redteam2_coverage import _coverage_check, _da_counts, _honest_project, _ingest, _stored

OTHER_RECORD = "SF:src/payments/other.py\nDA:1,1\nDA:2,0\nLF:2\nLH:1\nend_of_record\n"
"""A complete record of another file: a later run appended (`>>`) after the cut-off one."""


def _cut_after_first_hit(text: str) -> str:
    """The tracefile up to and including its first `DA` line, as a writer stopped right after it leaves it."""
    first = text.index("\nDA:") + 1
    return text[: text.index("\n", first) + 1]


@pytest.mark.parametrize("appended", ["", OTHER_RECORD], ids=["cut at the end", "another run appended"])
def test_a_tracefile_cut_off_mid_record_does_not_pass_coverage(tmp_path: Path, appended: str) -> None:
    """The finding: the cut file's one open record read as its first line only, 1/1 (100%) instead of 50/100.

    Before the guard the cut tracefile was stored and coverage.line passed the 75% floor.
    """
    project, honest, counts = _honest_project(tmp_path)
    cut = _cut_after_first_hit(honest.read_text(encoding="utf-8"))
    assert "end_of_record" not in cut and _da_counts(cut) == (1, 1), "the cut must leave one covered line of an open record"
    attack = tmp_path / "cut.lcov"
    attack.write_text(cut + appended, encoding="utf-8")
    before = _stored(project)
    assert_refused(_ingest(project, attack), attack, "line 1", "no end_of_record", "cut off")
    assert _stored(project) == before
    check = _coverage_check(project)
    assert check["status"] == "fail" and f"({counts[0]}/{counts[1]} lines)" in check["message"], check["message"]
