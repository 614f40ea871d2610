"""`readypolicy report --html`: the static readiness page, built from real stored decisions.

Decisions come from the real CLI and OPA (the one-check `mini` pack gives pass, fail and missing
side by side; the shipped readiness pack gives waivers and remediations). Ingest refuses hostile
module names, but a store may hold records written by other tools or copied from elsewhere, so a
real record is cloned under a `<script>` name with markup in its message. Older days are real
records re-dated and re-identified, as a store accumulates them over a week. The page is checked
as text, as parsed HTML, and as rendered by headless Chromium.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from policy_project import make_project as make_readiness_project
from readypolicy.canonical import parse_rfc3339, rfc3339, utc_now
from readypolicy.decision.record import record_id, to_row
from readypolicy.report.html import HtmlFormat, blocking_count, cell_status
from readypolicy.report.teams import Team
from readypolicy.store.open import open_store
from support import coverage_json, make_project, run_cli

EVIL = "<script>alert('pwned')</script>"
EVIL_MESSAGE = "</td></tr></table><img src=x onerror=alert(1)> coverage & more"
MODULES = ("svc-ok", "svc-low", "svc-nocov", EVIL)


class MatrixRows(HTMLParser):
    """Text of each cell of the module-by-lane table, row by row, and the SVG dots per row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.dots: list[int] = []
        self._section: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self._section = dict(attrs).get("aria-label")
        if self._section != "matrix":
            return
        if tag == "tr":
            self.rows.append([])
            self.dots.append(0)
        elif tag == "td":
            self._cell = []
        elif tag == "circle":
            self.dots[-1] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._section == "matrix":
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "title" and self._cell is not None:
            self._cell.clear()  # tooltips of trend dots are not cell text

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _clone_as_hostile(store_path: Path) -> None:
    """Store svc-low's decision again under a hostile module name and check message."""
    store = open_store(str(store_path))
    try:
        record = next(row.record for row in store.list_decisions(module="svc-low"))
        checks = [dict(check, message=EVIL_MESSAGE) for check in record["checks"]]
        clone = dict(record, subject={**record["subject"], "module": EVIL}, checks=checks)
        clone["decision_id"] = record_id(clone)
        store.put_decision(to_row(clone), "test")
    finally:
        store.close()


def _history(store_path: Path, days_back: tuple[int, ...]) -> None:
    """Store copies of every decision as if also made `days_back` days earlier (new ids, same outcome)."""
    store = open_store(str(store_path))
    try:
        for row in store.list_decisions():
            for back in days_back:
                record = dict(row.record, evaluated_at=rfc3339(parse_rfc3339(row.evaluated_at) - timedelta(days=back)))
                record["decision_id"] = record_id(record)
                store.put_decision(to_row(record), "test")
    finally:
        store.close()


@pytest.fixture
def mini_project(tmp_path: Path) -> Path:
    """Three modules on the one-check pack: ready, failing (with a hostile name), missing evidence."""
    project = make_project(tmp_path, pack="mini")
    ingests = (
        ("svc-ok", coverage_json(tmp_path / "ok.json", 95, 100)),
        ("svc-low", coverage_json(tmp_path / "low.json", 40, 100)),
        ("svc-nocov", Path(__file__).parent / "fixtures" / "artifacts" / "junit-xml" / "pytest-xunit2.xml"),
    )
    for module, artifact in ingests:
        done = run_cli("ingest", artifact, "--module", module, "--revision", "r1", cwd=project)
        assert done.returncode == 0, done.stderr
    evaluated = run_cli("eval", "--all", "--format", "json", cwd=project)
    assert evaluated.returncode == 1, evaluated.stderr
    _clone_as_hostile(project / "store.db")
    _history(project / "store.db", (1, 2))
    return project


def _report(project: Path, *args: str) -> str:
    done = run_cli("report", "--html", "out.html", *args, cwd=project)
    assert done.returncode == 0, done.stderr
    return (project / "out.html").read_text(encoding="utf-8")


class PageParts(HTMLParser):
    """What a browser builds from the page: its elements, their attributes, and its text (entities decoded)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((name, value or "") for name, value in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _assert_inert(page: str, *hostile: str) -> PageParts:
    """No script element, no event-handler attribute, and each hostile string shown whole as text or attribute value."""
    parts = PageParts(page)
    assert "script" not in parts.tags and "img" not in parts.tags, sorted(set(parts.tags))
    assert [name for name, _ in parts.attrs if name.startswith("on")] == []
    assert "<script" not in page.lower() and "<img" not in page.lower()
    shown = "".join(parts.text) + "\n".join(value for _, value in parts.attrs)
    for text in hostile:
        assert text in shown, text
    return parts


def test_hostile_module_name_is_escaped_and_the_page_has_no_script(mini_project: Path) -> None:
    page = _report(mini_project)
    _assert_inert(page, EVIL, EVIL_MESSAGE)
    assert "script-src" not in page and "default-src 'none'" in page  # the CSP forbids scripts outright


BREAKOUT = '"onload="alert(1)" x="<script>alert(2)</script>'
"""Closes a quoted attribute to add an event handler, and opens a script element in text."""


def test_markup_in_every_field_of_a_record_stays_text(mini_project: Path) -> None:
    """A stored record written by another tool may carry markup in any field, including ones the page puts in attributes."""
    store = open_store(str(mini_project / "store.db"))
    try:
        record = next(row.record for row in store.list_decisions(module="svc-low"))
    finally:
        store.close()
    expires = rfc3339(utc_now() + timedelta(days=3))  # inside the 14-day window: the waiver table shows it
    waiver = {"id": f"W{BREAKOUT}", "approver": f"a{BREAKOUT}", "reason": f"r{BREAKOUT}", "expires": expires}
    checks = [dict(check, id=f"c{BREAKOUT}", message=f"m{BREAKOUT}", remediation=f"f{BREAKOUT}") for check in record["checks"]]
    checks.append({"id": f"w{BREAKOUT}", "status": "waived", "message": "waived", "waiver": waiver})
    checks.append({"id": "odd.status", "status": f"s{BREAKOUT}", "message": "a status no pack emits"})
    hostile = dict(record, lane=f"l{BREAKOUT}", checks=checks,
                   subject={**record["subject"], "module": f"n{BREAKOUT}", "revision": f"v{BREAKOUT}"})
    page = HtmlFormat(lanes=["candidate"], title=f"t{BREAKOUT}",
                      teams={f"n{BREAKOUT}": Team(f"o{BREAKOUT}", None)}).render([record, hostile])
    # waiver id, approver, reason; check id, message, remediation, status; lane, module, revision; title, team owner
    parts = _assert_inert(page, *(f"{prefix}{BREAKOUT}" for prefix in "Warcmfslnvto"))
    # the revision went into a tooltip attribute and stayed inside it, whole
    assert any(value.startswith(f"v{BREAKOUT} evaluated ") for name, value in parts.attrs if name == "title")


def test_the_cli_start_up_does_not_import_jinja2() -> None:
    """`eval` runs on every CI job: only rendering the HTML page may pay for importing Jinja2."""
    probe = ("import sys, readypolicy.cli.main, readypolicy.report.html as h; before = 'jinja2' in sys.modules; "
             "h.HtmlFormat().render([]); print(before, 'jinja2' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "engine")})
    assert done.stdout.split() == ["False", "True"], done.stderr


def test_matrix_shows_the_latest_decision_of_each_module(mini_project: Path) -> None:
    page = _report(mini_project)
    parser = MatrixRows()
    parser.feed(page)
    body = {row[0]: row for row in parser.rows if row}
    assert set(body) == set(MODULES)
    assert body["svc-ok"][2] == "PASS"
    assert body["svc-low"][2] == body[EVIL][2] == "FAIL · 1"
    assert body["svc-nocov"][2] == "MISSING · 1"
    assert all(row[1] == "r1" for row in body.values())
    store = open_store(str(mini_project / "store.db"))
    latest = {row.module: row.record for row in store.list_decisions()}
    assert {m: cell_status(r) for m, r in latest.items()} == {
        "svc-ok": "pass", "svc-low": "fail", EVIL: "fail", "svc-nocov": "missing"}
    assert blocking_count(latest["svc-low"]) == 1


def test_blocking_checks_are_listed_with_their_message(mini_project: Path) -> None:
    page = _report(mini_project)
    blocking = page.split('aria-label="blocking checks"', 1)[1].split("<section", 1)[0]  # this section only
    assert "40% is not above 70%" in blocking
    assert "no coverage evidence" in blocking
    assert "svc-ok" not in blocking  # nothing blocks it
    assert "1 module(s) have nothing blocking" in blocking


def test_trend_has_a_point_per_day_and_since_drops_older_days(mini_project: Path) -> None:
    full = MatrixRows()
    full.feed(_report(mini_project))
    assert [dots for row, dots in zip(full.rows, full.dots, strict=True) if row] == [3, 3, 3, 3]
    store = open_store(str(mini_project / "store.db"))
    newest = max(row.evaluated_at for row in store.list_decisions())
    yesterday = (parse_rfc3339(newest) - timedelta(days=1)).date().isoformat()
    recent = MatrixRows()
    page = _report(mini_project, "--since", yesterday)
    recent.feed(page)
    assert [dots for row, dots in zip(recent.rows, recent.dots, strict=True) if row] == [2, 2, 2, 2]
    assert f"(since {yesterday}T00:00:00.000000Z)" in page
    assert "8 decision(s)" in page


def test_a_bad_since_is_a_usage_error(mini_project: Path) -> None:
    done = run_cli("report", "--html", "out.html", "--since", "last tuesday", cwd=mini_project)
    assert done.returncode == 2
    assert "'last tuesday' is not a date" in done.stderr
    assert not (mini_project / "out.html").exists()


def test_waived_checks_and_remediations_from_the_readiness_pack(tmp_path: Path) -> None:
    created = utc_now() - timedelta(days=1)  # within the pack's 30-day candidate waiver lifetime
    waiver = ("- {check: security.sast, module: payments, lane: candidate, reason: accepted B602 in a test helper,"
              f" approver: bob, created: '{rfc3339(created)}', expires: '{rfc3339(created + timedelta(days=7))}'}}\n")
    project = make_readiness_project(tmp_path, waivers=waiver)
    assert project.run("eval", "--all", "--lane", "candidate").exit_code == 1
    assert project.run("report", "--html", str(tmp_path / "r.html")).exit_code == 0
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    record = open_store(str(project.root / "store.db")).list_decisions()[-1].record
    statuses = {check["id"]: check for check in record["checks"]}
    assert statuses["security.sast"]["status"] == "waived"
    text = "".join(PageParts(page).text)  # as a reader sees it, entities decoded
    for check in record["checks"]:
        if check["status"] in ("fail", "missing"):
            assert check["message"] in text
            assert check["remediation"] in text
    assert '<span class="status s-waived">WAIVED</span></td><td class="id">security.sast</td>' in page


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is required in CI; `make test` runs scripts/install-chromium")
    pytest.skip("chromium not installed (run scripts/install-chromium)")


def _browser(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={page.parent / 'chromium-profile'}", *args,
            page.resolve().as_uri()]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, cwd=page.parent)


def test_page_renders_in_headless_chromium(mini_project: Path) -> None:
    from PIL import Image, ImageStat

    _report(mini_project)
    page = mini_project / "out.html"
    shot = mini_project / "out.png"
    done = _browser(page, f"--screenshot={shot}", "--window-size=1280,900")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (1280, 900)
        stddev = ImageStat.Stat(image.convert("L")).stddev[0]
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    assert stddev > 20, f"screenshot looks blank (grey-level stddev {stddev:.1f})"
    assert len(colours) > 50
    dom = _browser(page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    for module in MODULES:
        assert escape(module, quote=False) in dom.stdout
    assert "<script" not in dom.stdout.lower()
    for label in ("PASS", "FAIL · 1", "MISSING · 1", "40% is not above 70%"):
        assert label in dom.stdout


def test_a_check_waived_in_one_lane_still_shows_as_failing_in_another(tmp_path: Path) -> None:
    """A waiver names its lanes: the page must not list a lane's failure under another lane's waiver."""
    created = utc_now() - timedelta(days=1)
    waiver = ("- {check: security.sast, module: payments, lane: candidate, reason: accepted B602 in a test helper,"
              f" approver: bob, created: '{rfc3339(created)}', expires: '{rfc3339(created + timedelta(days=7))}'}}\n")
    project = make_readiness_project(tmp_path, waivers=waiver)
    assert project.run("eval", "--all", "--lane", "candidate", "--lane", "integration").exit_code == 1
    assert project.run("report", "--html", str(tmp_path / "r.html")).exit_code == 0
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    store = open_store(str(project.root / "store.db"))
    by_lane = {row.lane: {c["id"]: c["status"] for c in row.record["checks"]} for row in store.list_decisions()}
    store.close()
    assert by_lane["candidate"]["security.sast"] == "waived" and by_lane["integration"]["security.sast"] == "fail"
    assert '<span class="status s-waived">WAIVED</span></td><td class="id">security.sast</td><td>candidate</td>' in page
    assert '<span class="status s-fail">FAIL</span></td><td class="id">security.sast</td><td>integration</td>' in page
