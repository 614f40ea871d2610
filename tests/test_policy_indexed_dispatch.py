"""Checks dispatch on an id equality OPA indexes: `result(id, lane) := <helper>(lane) if id == "<id>"`.

OPA v1.22 indexes a function by equalities on its arguments in rule bodies, not by the constants in
its heads, so this form lets each `checks.result(id, lane)` call try one head instead of every head of
the pack (issue 17). The form has a trap the literal head `result("<id>", lane)` had not: its head
matches every id, so an `else` under it answers for every other check, and a check whose own rule is
undefined would take that answer (a pass under the wrong name). These tests hold every shipped pack
to the bare form from OPA's own parse (read here directly, not through the code under test), show
the trap on the real OPA, and prove `policy check` refuses it while still reporting the old problems.
`policy/rego_index.py` must still find teams' rules written with the literal head.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.engines.opa_parse import parse_module
from readypolicy.policy.annotations import INDEXED_ELSE
from readypolicy.policy.rego_index import RegoIndex, check_id_of
from support import REPO, require_opa, run_cli

POLICIES = REPO / "policies"
SOURCES = sorted(
    path for path in [*POLICIES.rglob("*.rego"), *(REPO / ".ci" / "pack").rglob("*.rego")]
    if not path.name.endswith("_test.rego")
)
CATALOGS = [POLICIES / "config" / "data.yaml", *sorted((POLICIES / "packs").glob("*/config/data.yaml")),
            REPO / ".ci" / "pack" / "config" / "data.yaml"]


@pytest.fixture
def opa(tmp_path: Path) -> OpaBinary:
    return OpaBinary(require_opa(), tmp_path / "opa-cache")


def _parse(path: Path) -> dict[str, Any]:
    """`opa parse --format json` of one file, run here rather than through readypolicy's own parser."""
    done = subprocess.run([require_opa(), "parse", "--format", "json", str(path)], capture_output=True, check=True)
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def _term(term: dict[str, Any]) -> tuple[Any, Any]:
    return term.get("type"), term.get("value")


def _bare_indexed_id(rule: dict[str, Any]) -> str | None:
    """The id of a head that is exactly `result(<var>, ...) := ... if <var> == "<id>"` (either order), else None."""
    args, body = rule["head"].get("args") or [], rule.get("body") or []
    if "else" in rule or len(body) != 1 or not args or args[0].get("type") != "var":
        return None
    [expression] = body
    terms = expression.get("terms")
    if expression.get("negated") or expression.get("with") or not isinstance(terms, list) or len(terms) != 3:
        return None
    operator, left, right = terms
    if [_term(t) for t in operator.get("value") or []] != [("var", "equal")]:
        return None
    var = _term(args[0])
    if _term(left) == var and right.get("type") == "string":
        return str(right["value"])
    if _term(right) == var and left.get("type") == "string":
        return str(left["value"])
    return None


def test_every_result_head_of_every_pack_is_the_bare_id_equality() -> None:
    """The guard against the trap above and against an unindexed head coming back: every `result` rule of
    every pack (the .ci self-gate's included) has a variable first argument, a body that is only the id
    equality, and no else; and the heads cover every catalog entry of every pack, no more."""
    ids: list[str] = []
    offending: list[str] = []
    for path in SOURCES:
        for rule in _parse(path).get("rules") or []:
            if rule["head"].get("name") != "result":
                continue
            found = _bare_indexed_id(rule)
            if found is None:
                offending.append(f"{path.relative_to(REPO)}: {json.dumps(rule['head'])[:200]}")
            else:
                ids.append(found)
    assert offending == []
    catalog_ids = set().union(*(yaml.safe_load(c.read_text(encoding="utf-8"))["checks"] for c in CATALOGS))
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert set(ids) == catalog_ids


def test_the_bare_form_check_refuses_an_else_and_a_second_condition(tmp_path: Path) -> None:
    """The scan above must fail on the two shapes that break indexed dispatch, and pass the bare one."""
    module = tmp_path / "shapes.rego"
    module.write_text(
        'package shapes\n\n'
        'result(id, _) := 1 if id == "a.bare"\n\n'
        'result(id, _) := 2 if "b.flipped" == id\n\n'
        'result(id, _) := 3 if id == "c.else" else := 4\n\n'
        'result(id, _) := 5 if {\n\tid == "d.extra"\n\tinput.x\n}\n',
        encoding="utf-8",
    )
    assert [_bare_indexed_id(rule) for rule in _parse(module)["rules"]] == ["a.bare", "b.flipped", None, None]


def test_an_else_under_an_indexed_head_answers_for_every_other_check(tmp_path: Path) -> None:
    """The trap on the real OPA: a check whose own rule is undefined (no evidence) takes the other head's
    else as its verdict, and so does an id no rule names; a check with its own answer becomes a conflict."""
    (tmp_path / "trap.rego").write_text(
        'package trap\n\n'
        'result(id, _) := {"status": "fail"} if id == "coverage.line" else := {"status": "pass"}\n\n'
        'result(id, _) := {"status": "fail"} if {\n\tid == "docs.present"\n\tinput.docs\n}\n\n'
        'result(id, _) := {"status": "missing"} if id == "tests.unit"\n',
        encoding="utf-8",
    )

    def ask(check_id: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [require_opa(), "eval", "--format", "json", "--data", str(tmp_path / "trap.rego"),
             f"data.trap.result({json.dumps(check_id)}, \"integration\")"],
            capture_output=True, text=True, check=False,
        )

    for check_id in ("docs.present", "no.such.check"):
        done = ask(check_id)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["result"][0]["expressions"][0]["value"] == {"status": "pass"}, check_id
    conflict = ask("tests.unit")
    assert conflict.returncode != 0
    assert "function data.trap.result produced conflicting values for the same inputs" in conflict.stdout


@pytest.mark.parametrize(("text", "expected"), [
    ('result("a.b", lane) := lane', "a.b"),
    ('result(id, lane) := lane if id == "a.b"', "a.b"),
    ('result(id, lane) := lane if "a.b" == id', "a.b"),
    ('result(id, lane) := lane if {\n\tid == "a.b"\n\tlane == "x"\n}', "a.b"),
    ('result(id, lane) := lane if id == "a.b" else := "x"', "a.b"),
    ('result(id, lane) := lane if id == other_id\n\nother_id := "a.b"', None),
    ('result(id, lane) := lane if id = "a.b"', None),
    ('result(id, lane) := lane if not id == "a.b"', None),
    ('result(id, lane) := lane if id == "a.b" with input as {}', None),
    ('result(id, lane) := lane if {\n\tlane == "x"\n\tid == "a.b"\n}', None),
    ('result(id, lane) := id if lane == "a.b"', None),
    ('result(id, lane) := lane if startswith(id, "a.")', None),
    ('result(id, lane) := lane if id != "a.b"', None),
])
def test_only_a_literal_head_or_a_leading_id_equality_names_a_check(opa: OpaBinary, text: str, expected: str | None) -> None:
    """A head whose id is compared with a non-literal, unified, negated, compared later, or not at all names no
    check: such a rule is never shown or annotated as one (a catalog entry it stands in for is reported)."""
    module = parse_module(opa, "x.rego", f"package readiness.checks\n\n{text}\n".encode())
    [rule] = [r for r in module["rules"] if r["head"].get("name") == "result"]
    assert check_id_of(rule) == expected


def test_a_teams_literal_heads_and_indexed_heads_are_found_alike(opa: OpaBinary) -> None:
    """Teams' own packs keep `result("<id>", lane)`; two heads claiming one id (one of each form) are both listed,
    in file and line order, and only the indexed one is marked indexed."""
    old = b'package readiness.checks\n\nresult("team.check", lane) := lane\n\nresult("team.other", _) := 1\n'
    new = b'package readiness.checks\n\nresult(id, lane) := lane if id == "team.check"\n'
    index = RegoIndex({
        "readiness/checks/a.rego": parse_module(opa, "a.rego", old, locations=True),
        "readiness/checks/b.rego": parse_module(opa, "b.rego", new, locations=True),
    })
    checks = index.checks()
    assert sorted(checks) == ["team.check", "team.other"]
    assert [(r.path, r.row, r.indexed) for r in checks["team.check"]] == [
        ("readiness/checks/a.rego", 3, False), ("readiness/checks/b.rego", 3, True),
    ]
    assert checks["team.check"][1].text == 'result(id, lane) := lane if id == "team.check"'


def _rewrite(path: Path, old: str, new: str) -> str:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    changed = text.replace(old, new)
    path.write_text(changed, encoding="utf-8")
    return changed


def _row(text: str, line: str) -> int:
    return text.splitlines().index(line) + 1


def test_policy_check_refuses_an_else_under_an_indexed_head(pack_copy: Path) -> None:
    """coverage.line folded back into its head with the id equality, its else kept: `policy check` names it."""
    coverage = pack_copy / "policies" / "checks" / "coverage.rego"
    text = _rewrite(
        coverage,
        'result(id, lane) := coverage_line(lane) if id == "coverage.line"\n\n'
        "coverage_line(lane) := coverage_verdict(coverage_doc, lib.threshold(lane, \"coverage_line_min\")) if {\n",
        "result(id, lane) := coverage_verdict(coverage_doc, lib.threshold(lane, \"coverage_line_min\")) if {\n"
        '\tid == "coverage.line"\n',
    )
    row = _row(text, 'result(id, lane) := coverage_verdict(coverage_doc, lib.threshold(lane, "coverage_line_min")) if {')
    done = run_cli("policy", "check", cwd=pack_copy)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert f"policies/checks/coverage.rego:{row}: check coverage.line: {INDEXED_ELSE}" in out, out
    assert out.count(INDEXED_ELSE) == 1, out


def test_policy_check_still_reports_a_second_head_claiming_an_id(pack_copy: Path) -> None:
    """A second docs.present head (here misrouted to chaos.basic's helper) is a check rule too, held to its own
    METADATA like any other: without one, it is named at its line, as a second literal head always was."""
    docs = pack_copy / "policies" / "checks" / "docs.rego"
    head = 'result(id, lane) := docs_present(lane) if id == "docs.present"\n'
    second = 'result(id, lane) := chaos_basic(lane) if id == "docs.present"'
    text = _rewrite(docs, head, f"{head}\n{second}\n")
    done = run_cli("policy", "check", cwd=pack_copy)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert f"policies/checks/docs.rego:{_row(text, second)}: check docs.present: the rule has no METADATA annotation" in out, out


def test_policy_check_still_reports_a_check_whose_id_equality_is_not_a_literal(pack_copy: Path) -> None:
    """`if id == docs_id` names no check as far as OPA's index and readypolicy can tell: its catalog entry has no
    rule, reported as for a missing head."""
    docs = pack_copy / "policies" / "checks" / "docs.rego"
    _rewrite(docs, 'result(id, lane) := docs_present(lane) if id == "docs.present"\n',
             'result(id, lane) := docs_present(lane) if id == docs_id\n\ndocs_id := "docs.present"\n')
    done = run_cli("policy", "check", cwd=pack_copy)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert 'catalog entry docs.present has no check rule result("docs.present", lane)' in out, out
    assert not re.search(r"check docs\.present: ", out), out
