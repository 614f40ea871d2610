"""Red-team round 2, coverage: reports whose per-file counts contradict themselves must not lift coverage.line.

The LCOV tracefile is written by a real coverage.py run here (`coverage run` + `coverage lcov`);
only the contradictory record of each attack is added by hand. The coverage.py JSON and Cobertura
attacks edit the real fixtures. Expected numbers are counted from the raw files with plain parsing
(text lines, json, ElementTree), never read back from a normalizer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET  # the project's own trusted fixtures
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from policy_project import ARTIFACTS, Project, make_project
from test_governance import _check
from test_hostile_input import assert_refused

EVAL = ("--module", "payments", "--lane", "candidate", "--revision", "abc", "--no-record")
SOURCE = "src/payments/core.py"


def _real_lcov(tmp_path: Path) -> Path:
    """`coverage lcov` of a run that executes 50 of core.py's 100 statements (a function body of 50 is never called)."""
    work = tmp_path / "run"
    (work / "src" / "payments").mkdir(parents=True)
    body = ["def never_called():", *(f"    y{n} = {n}" for n in range(50)), *(f"x{n} = {n}" for n in range(49))]
    (work / SOURCE).write_text("\n".join(body) + "\n", encoding="utf-8")
    (work / "run.py").write_text("import sys\nsys.path.insert(0, 'src')\nimport payments.core\n", encoding="utf-8")
    for step in (["run", "--source=src", "run.py"], ["lcov", "-o", "coverage.lcov"]):
        subprocess.run([sys.executable, "-m", "coverage", *step], cwd=work, capture_output=True, check=True)
    return work / "coverage.lcov"


def _da_counts(text: str) -> tuple[int, int]:
    """(distinct DA lines hit, distinct DA lines) of every record in a tracefile, counted from its text."""
    hits: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith("DA:"):
            number, count = line[3:].split(",")[:2]
            hits[number] = hits.get(number, 0) + int(count)
    return sum(1 for count in hits.values() if count > 0), len(hits)


def _ingest(project: Project, path: Path) -> Any:
    return project.run("ingest", "--module", "payments", "--revision", "abc", "--scope", "unit", str(path))


def _stored(project: Project) -> list[Any]:
    listed = project.run("evidence", "list", "-m", "payments", "--format", "json")
    assert listed.exit_code == 0, listed.output
    return list(json.loads(listed.stdout))


def _coverage_check(project: Project) -> dict[str, Any]:
    [record] = project.eval_records(*EVAL)
    return _check(record, "coverage.line")


def _with_record(tmp_path: Path, honest: Path, record: str) -> tuple[Path, int]:
    """The real tracefile plus one hand-written record; and the line number of that record's SF line."""
    text = honest.read_text(encoding="utf-8")
    attack = tmp_path / "attack.lcov"
    attack.write_text(text + record, encoding="utf-8")
    return attack, len(text.splitlines()) + 1


def _honest_project(tmp_path: Path) -> tuple[Project, Path, tuple[int, int]]:
    """A project whose unit coverage is the real 50%-covered tracefile (coverage.line fails the 75% floor)."""
    project = make_project(tmp_path)
    honest = _real_lcov(tmp_path)
    counts = _da_counts(honest.read_text(encoding="utf-8"))
    assert counts == (50, 100)
    assert _ingest(project, honest).exit_code == 0
    check = _coverage_check(project)
    assert check["status"] == "fail" and f"({counts[0]}/{counts[1]} lines)" in check["message"], check["message"]
    return project, honest, counts


def test_lcov_hit_counts_above_found_lines_do_not_lift_coverage(tmp_path: Path) -> None:
    """The finding: a second record for the file with only `LF:0` / `LH:50` read as 100/100 lines and passed."""
    project, honest, counts = _honest_project(tmp_path)
    before = _stored(project)
    attack, start = _with_record(tmp_path, honest, f"SF:{SOURCE}\nLF:0\nLH:50\nend_of_record\n")
    assert_refused(_ingest(project, attack), attack, f"line {start}", "LH:50 above LF:0")
    assert _stored(project) == before
    check = _coverage_check(project)
    assert check["status"] == "fail" and f"({counts[0]}/{counts[1]} lines)" in check["message"], check["message"]


def _summary_only_record(text: str) -> str:
    """A self-consistent summary-only record (`LF:200`, `LH:200`) added for the traced file: added on top, as
    before, the file read 250/300 lines (83%) and passed the 75% floor."""
    return text + f"SF:{SOURCE}\nLF:200\nLH:200\nend_of_record\n"


def _edited_summary(text: str) -> str:
    """The real record's own `LH:50` edited to `LH:100` (still <= LF)."""
    assert text.count("\nLH:50\n") == 1
    return text.replace("\nLH:50\n", "\nLH:100\n")


def _spelled_twice(text: str) -> str:
    """The same record again under `./src/...`: one file, its DA lines merged, not two files of 100 lines."""
    record = text[text.index(f"SF:{SOURCE}"):]
    return text + record.replace(f"SF:{SOURCE}", f"SF:./{SOURCE}", 1)


@pytest.mark.parametrize(
    "attack_of", [_summary_only_record, _edited_summary, _spelled_twice],
    ids=["a summary-only record beside line data", "summary lines beside line data", "one file spelled two ways"],
)
def test_lcov_a_file_with_line_data_is_counted_from_its_da_lines_only(
    tmp_path: Path, attack_of: Callable[[str], str],
) -> None:
    """Whatever else a tracefile says of a file with DA lines, its DA lines (50 of 100 hit) decide: stored, and failing."""
    project, honest, counts = _honest_project(tmp_path)
    attack = tmp_path / "attack.lcov"
    attack.write_text(attack_of(honest.read_text(encoding="utf-8")), encoding="utf-8")
    assert _ingest(project, attack).exit_code == 0
    check = _coverage_check(project)
    assert check["status"] == "fail" and f"({counts[0]}/{counts[1]} lines)" in check["message"], check["message"]


def test_lcov_branch_and_function_hits_above_found_are_refused(tmp_path: Path) -> None:
    """`BRH` > `BRF` or `FNH` > `FNF` in one record: the tracefile contradicts itself, so it is not stored."""
    project, honest, _ = _honest_project(tmp_path)
    before = _stored(project)
    for hit, found in (("BRH", "BRF"), ("FNH", "FNF")):
        attack, start = _with_record(tmp_path, honest, f"SF:{SOURCE}\n{found}:2\n{hit}:3\nend_of_record\n")
        assert_refused(_ingest(project, attack), attack, f"line {start}", f"{hit}:3 above {found}:2")
    assert _stored(project) == before


def test_lcov_summary_only_files_keep_their_summaries(tmp_path: Path) -> None:
    """A file with no DA lines anywhere is still counted from its records' LF/LH, summed over records."""
    project, honest, counts = _honest_project(tmp_path)
    attack, _ = _with_record(
        tmp_path, honest,
        "SF:src/payments/extra.py\nLF:10\nLH:4\nend_of_record\nSF:src/payments/extra.py\nLF:6\nLH:6\nend_of_record\n",
    )
    assert _ingest(project, attack).exit_code == 0
    covered, total = counts[0] + 4 + 6, counts[1] + 10 + 6
    assert f"({covered}/{total} lines)" in _coverage_check(project)["message"]


def test_coverage_py_file_summary_that_disagrees_with_its_missing_lines_is_refused(tmp_path: Path) -> None:
    """coverage.py JSON: pricing.py's summary lifted to every statement covered, its `missing_lines` list kept.

    Judged on per_file, that read 40/41 lines and passed an 85% floor the real run (82.93%) fails.
    """
    project = make_project(tmp_path, coverage_min=85)
    report = json.loads((ARTIFACTS / "coverage-py-json" / "coverage.json").read_text(encoding="utf-8"))
    entry = report["files"]["rpsample/pricing.py"]
    assert entry["missing_lines"], "the fixture must leave lines of pricing.py uncovered"
    entry["summary"]["covered_lines"] = entry["summary"]["num_statements"]
    attack = tmp_path / "coverage.json"
    attack.write_text(json.dumps(report), encoding="utf-8")
    before = _stored(project)
    number = list(report["files"]).index("rpsample/pricing.py") + 1
    assert_refused(_ingest(project, attack), attack, f"file {number} in 'files'", f"lists {len(entry['missing_lines'])} missing")
    assert _stored(project) == before
    assert _coverage_check(project)["status"] == "fail"


def test_coverage_py_file_covering_more_than_it_has_is_refused(tmp_path: Path) -> None:
    """A per-file summary without the lists (as hand-made reports write it) claiming 120 of 100 lines."""
    project = make_project(tmp_path)
    report = json.loads((ARTIFACTS / "coverage-py-json" / "coverage.json").read_text(encoding="utf-8"))
    report["files"]["src/payments/extra.py"] = {"summary": {"covered_lines": 120, "num_statements": 100}}
    attack = tmp_path / "coverage.json"
    attack.write_text(json.dumps(report), encoding="utf-8")
    assert_refused(_ingest(project, attack), attack, f"file {len(report['files'])} of the {len(report['files'])}",
                   "120 lines covered of 100")


def test_cobertura_condition_coverage_above_its_branches_is_refused(tmp_path: Path) -> None:
    """Cobertura: one branch line of the real `coverage xml` output rewritten to `(4/2)` branches taken."""
    project = make_project(tmp_path)
    tree = ET.parse(ARTIFACTS / "cobertura-xml" / "coverage.xml")
    line = next(el for el in tree.getroot().iter("line") if el.get("branch") == "true")
    line.set("condition-coverage", "200% (4/2)")
    attack = tmp_path / "coverage.xml"
    tree.write(attack, encoding="utf-8", xml_declaration=True)
    assert_refused(_ingest(project, attack), attack, f'<line number="{line.get("number")}">', "4/2")
