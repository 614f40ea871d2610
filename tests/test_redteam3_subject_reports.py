"""Third red-team review: a decision's subject and what reports and replays say about it.

Each attack ran against the real CLI, the real OPA binary and real files before its guard; the
test names say what must not pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml
from markdown_it import MarkdownIt

from policy_project import Project
from policy_project import make_project as make_readiness_project
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.engines.opa_cli import OpaCliEngine
from readypolicy.evaluate import Subject, decide
from readypolicy.policy.pack import load_pack
from readypolicy.store.interface import EvidenceRecord
from readypolicy.store.open import open_store
from signed_project import SignedProject, signed_project
from support import OPA, coverage_json, make_project, run_cli
from test_report_html import MatrixRows


@pytest.fixture(scope="module")
def two_revisions(tmp_path_factory: pytest.TempPathFactory) -> SignedProject:
    """svc@r1 (90% of 100 lines, READY, signed) and svc@r2 with two coverage reports: 95% first, then 40%.

    r2's current coverage is the 40% report, so r2 is NOT READY; the signer (a compromised CI job
    holding the key) wants a READY decision of r2 that replays "identical".
    """
    tmp = tmp_path_factory.mktemp("subject")
    project = signed_project(tmp)
    for name, covered in (("r2-first.json", 95), ("r2-current.json", 40)):
        ingested = project.cli("ingest", coverage_json(tmp / name, covered=covered, total=100), "-m", "svc", "-r", "r2")
        assert ingested.returncode == 0, ingested.stderr
    assert project.cli("eval", "-m", "svc", "-r", "r2", "--no-record").returncode == 1
    return project


def _percent(record: EvidenceRecord) -> float:
    """The line percentage as the raw coverage.py report says it (not the normalizer's figure)."""
    raw = json.loads(Path(record.source_path).read_text(encoding="utf-8"))
    return float(raw["totals"]["percent_covered"])


def _signed_forgery(project: SignedProject, tmp: Path, revision: str, evidence: Sequence[EvidenceRecord]) -> Path:
    """A decision of svc@`revision` made by readypolicy's own code from `evidence`, signed with the project key."""
    policy = load_pack(project.root / "policies" / "packs" / "mini")
    engine = OpaCliEngine(OpaBinary(path=OPA, cache_dir=tmp / "opa", timeout_s=20))
    [made] = decide(engine=engine, policy=policy, cache_dir=tmp / "cache", lane="candidate",
                    batch=[(Subject("svc", revision), tuple(evidence))], now=project.record()["evaluated_at"], waivers=[])
    assert made.record["allow"] is True  # the forgery would promote r2
    decision = tmp / "svc.candidate.decision.json"
    decision.write_text(json.dumps(made.record), encoding="utf-8")
    signed = project.cli("sign", decision, "--key", project.private_key)
    assert signed.returncode == 0, signed.stderr
    return decision


def test_a_decision_replayed_on_another_revisions_evidence_does_not_pass(two_revisions: SignedProject, tmp_path: Path) -> None:
    """r2's decision made on r1's passing report: before the guard `verify --replay` said "identical" and exit 0."""
    project = two_revisions
    store = open_store(str(project.root / "store.db"), create=False)
    [r1_report] = store.latest_evidence("svc", "r1")
    assert _percent(r1_report) == 90.0
    decision = _signed_forgery(project, tmp_path, "r2", [r1_report])
    result = project.cli("verify", decision, "--key", project.public_key, "--replay", "--revision", "r2",
                         "--require-allow")
    assert result.returncode == 2, result.stdout
    assert "replayed: identical" not in result.stdout
    assert (f"evidence coverage/default {r1_report.digest} is evidence of svc@r1, not of the decision's subject "
            "svc@r2") in result.stderr


def test_a_decision_replayed_on_a_superseded_report_beside_the_current_one_does_not_pass(
    two_revisions: SignedProject, tmp_path: Path,
) -> None:
    """r2's two coverage reports named together, the superseded 95% first: the policy reads the first."""
    project = two_revisions
    store = open_store(str(project.root / "store.db"), create=False)
    [current] = store.latest_evidence("svc", "r2")
    [superseded] = [r for r in store.list_evidence("svc", "r2") if r.digest != current.digest]
    assert (_percent(superseded), _percent(current)) == (95.0, 40.0)
    decision = _signed_forgery(project, tmp_path, "r2", [superseded, current])
    result = project.cli("verify", decision, "--key", project.public_key, "--replay", "--require-allow")
    assert result.returncode == 2, result.stdout
    assert "replayed: identical" not in result.stdout
    assert f"the decision names the slot coverage/default twice ({superseded.digest} and {current.digest})" in result.stderr


def test_a_decision_on_its_own_current_evidence_still_replays(two_revisions: SignedProject) -> None:
    """The guard refuses only foreign or doubled evidence: the honest signed decision of r1 replays as before."""
    result = two_revisions.cli("verify", two_revisions.decision, "--key", two_revisions.public_key, "--replay")
    assert result.returncode == 0, result.stderr
    assert "replayed: identical (allow, 1 checks" in result.stdout


def test_an_older_revision_evaluated_last_does_not_show_a_module_as_ready(tmp_path: Path) -> None:
    """svc@r2 (ingested last) is NOT READY; a rollback check of r1 recorded afterwards said READY.

    Before the guard the page's matrix showed the last decision per lane whatever its revision:
    svc PASS at r1, "1 module(s) have nothing blocking", while the module's current code fails.
    """
    project = make_project(tmp_path, pack="mini")
    reports = {"r1": coverage_json(tmp_path / "r1.json", 95, 100), "r2": coverage_json(tmp_path / "r2.json", 40, 100)}
    for revision, report in reports.items():
        assert run_cli("ingest", report, "-m", "svc", "-r", revision, cwd=project).returncode == 0
    passing = {r: json.loads(p.read_text(encoding="utf-8"))["totals"]["percent_covered"] > 70 for r, p in reports.items()}
    assert passing == {"r1": True, "r2": False}
    assert run_cli("eval", "-m", "svc", "-r", "r2", cwd=project).returncode == 1
    assert run_cli("eval", "-m", "svc", "-r", "r1", cwd=project).returncode == 0  # recorded after r2's

    rows, page = _matrix(project)
    assert rows == [["svc", "r2", "FAIL · 1", "1"]]  # the last cell: blocking checks now
    assert "0 module(s) have nothing blocking in any lane." in page

    # A newer revision ingested but not decided yet is shown as not evaluated, never as ready.
    assert run_cli("ingest", reports["r1"], "-m", "svc", "-r", "r3", cwd=project).returncode == 0
    rows, page = _matrix(project)
    assert rows == [["svc", "r3", "not evaluated", ""]]
    assert "0 module(s) have nothing blocking in any lane." in page


def _matrix(project: Path) -> tuple[list[list[str]], str]:
    """The matrix rows (module, revision, one cell per lane) of `report --html`, and the page."""
    done = run_cli("report", "--html", "page.html", cwd=project)
    assert done.returncode == 0, done.stderr
    page = (project / "page.html").read_text(encoding="utf-8")
    parser = MatrixRows()
    parser.feed(page)
    return [row for row in parser.rows if row], page


SHELL_CALL = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
"""A high-severity bandit finding (B602), so security.sast fails and quotes the file name in its message."""
EVAL_CANDIDATE = ("eval", "--module", "payments", "--lane", "candidate", "--revision", "abc", "--no-record")


def _scanned_project(tmp_path: Path, *parts: str) -> tuple[Project, str]:
    """payments@abc whose bandit report is a real bandit run over `pkg/<parts...>`; and the file name it reports."""
    source = tmp_path.joinpath("scan", "pkg", *parts)
    source.parent.mkdir(parents=True)
    source.write_text(SHELL_CALL, encoding="utf-8")
    report = tmp_path / "scan" / "bandit.json"
    subprocess.run([sys.executable, "-m", "bandit", "-q", "-r", "pkg", "-f", "json", "-o", str(report)],
                   cwd=tmp_path / "scan", check=False, capture_output=True)
    raw = json.loads(report.read_text(encoding="utf-8"))
    [name] = {r["filename"] for r in raw["results"] if r["test_id"] == "B602" and r["issue_severity"] == "HIGH"}
    project = make_readiness_project(tmp_path)
    ingested = project.run("ingest", "--module", "payments", "--revision", "abc", str(report))
    assert ingested.exit_code == 0, ingested.output
    return project, name


def test_a_finding_named_with_terminal_escapes_does_not_rewrite_the_verdict_or_break_junit(tmp_path: Path) -> None:
    """`pkg/app<ESC>[3A<ESC>[2K.py`: before the guard the report files held the escapes (cursor up three lines,
    erase the line: `cat` of the table lost a line in a terminal) and the JUnit report (`--output`, as the GitLab
    template writes it) was not XML at all, so a CI test view showed no failing check."""
    project, name = _scanned_project(tmp_path, "app\x1b[3A\x1b[2K.py")
    shown = name.encode("unicode_escape").decode("ascii")
    assert shown == "pkg/app\\x1b[3A\\x1b[2K.py"
    table = project.run(*EVAL_CANDIDATE, "--output", str(tmp_path / "table.txt"))
    assert table.exit_code == 1
    text = (tmp_path / "table.txt").read_text(encoding="utf-8")
    assert "\x1b" not in text
    assert "payments @ abc -> candidate: NOT READY" in text and shown in text

    junit = project.run(*EVAL_CANDIDATE, "--format", "junit", "--output", str(tmp_path / "junit.xml"))
    assert junit.exit_code == 1
    suites = JUnitXml.fromfile(str(tmp_path / "junit.xml"))  # before the guard: ParseError, not well-formed
    failed = {case.name: case.result[0].message for suite in suites for case in suite
              if case.result and isinstance(case.result[0], Failure)}
    [record] = project.eval_records(*EVAL_CANDIDATE[1:])
    assert set(failed) == {c["id"] for c in record["checks"] if c["status"] in ("fail", "missing")}
    assert shown in failed["security.sast"]


def test_markup_in_a_finding_does_not_add_or_hide_rows_in_the_markdown_summary(tmp_path: Path) -> None:
    """A file path that is HTML (`x</td></tr></table><details>...`): before the guard the job summary carried it
    as markup, closing the blocking-checks table, folding the checks after it away and opening rows of its own."""
    parts = ("x<", "td><", "tr><", "table><details><summary>all checks passed<", "summary><table><tr><td>app.py")
    project, name = _scanned_project(tmp_path, *parts)
    summary = project.run(*EVAL_CANDIDATE, "--format", "markdown")
    assert summary.exit_code == 1
    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(summary.stdout)
    inline = [child for token in tokens for child in token.children or []]
    markup = [t.content for t in tokens + inline if t.type in ("html_inline", "html_block")]
    assert markup == ["<sub>", "</sub>"]  # the footer's own, nothing from the evidence
    text = " ".join(child.content for child in inline if child.type == "text")
    assert name in text  # shown as the characters it is
    [record] = project.eval_records(*EVAL_CANDIDATE[1:])
    blocking = [c for c in record["checks"] if c["status"] in ("fail", "missing")]
    rows = [line for line in summary.stdout.splitlines() if line.startswith("| payments | candidate |")]
    assert len(rows) == len(blocking)


def _fleet(tmp_path: Path, ingests: Sequence[tuple[str, str, int]]) -> Path:
    """A mini-pack project with (module, revision, covered of 100 lines) ingested in this order."""
    project = make_project(tmp_path, pack="mini")
    for module, revision, covered in ingests:
        report = coverage_json(tmp_path / f"{module}-{revision}.json", covered, 100)
        assert run_cli("ingest", report, "-m", module, "-r", revision, cwd=project).returncode == 0
    return project


def test_a_fleet_gate_in_ci_does_not_pass_on_another_branchs_later_evidence(tmp_path: Path) -> None:
    """Commit c1's pipeline: web@c1 fails (40%); another branch's pipeline then ingested web@d1 (95%) into the
    same store. Before the guard `eval --all` under GITHUB_SHA=c1 decided web at d1, the revision ingested last,
    and exited 0."""
    project = _fleet(tmp_path, [("api", "c1", 95), ("web", "c1", 40), ("web", "d1", 95)])
    result = run_cli("eval", "--all", "--format", "json", cwd=project, env={"GITHUB_SHA": "c1"})
    assert result.returncode == 1, result.stderr
    decided = {r["subject"]["module"]: (r["subject"]["revision"], r["allow"]) for r in json.loads(result.stdout)}
    assert decided == {"api": ("c1", True), "web": ("c1", False)}


def test_a_fleet_gate_in_ci_with_a_module_missing_this_commits_evidence_is_not_ready(tmp_path: Path) -> None:
    """web's ingest for c1 failed; its c0 evidence passes. Before the guard `eval --all` under GITHUB_SHA=c1
    decided web at c0 and exited 0; now it is exit 2 naming web, the commit and how to ask for the old reading."""
    project = _fleet(tmp_path, [("api", "c0", 95), ("web", "c0", 95), ("api", "c1", 95)])
    result = run_cli("eval", "--all", cwd=project, env={"GITHUB_SHA": "c1"})
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert "no evidence stored for module 'web' at revision 'c1' (from $GITHUB_SHA)" in result.stderr
    assert "pass --latest to decide each module at its revision ingested last" in result.stderr
    asked = run_cli("eval", "--all", "--latest", "--format", "json", cwd=project, env={"GITHUB_SHA": "c1"})
    assert asked.returncode == 0, asked.stderr
    assert {r["subject"]["module"]: r["subject"]["revision"] for r in json.loads(asked.stdout)} == {"api": "c1", "web": "c0"}
    both = run_cli("eval", "--all", "--latest", "--revision", "c1", cwd=project)
    assert both.returncode == 2 and "drop --revision" in both.stderr
