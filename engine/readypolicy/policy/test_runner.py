"""Run a pack's Rego unit tests with OPA and measure how much of the policy they cover.

Two OPA runs, because `opa test --coverage` reports coverage *instead of* per-test results: the
first gives every test's outcome, the second (only when every test passed — coverage of a
failing suite says nothing) gives line coverage. Coverage is counted over policy files only;
`_test.rego` files covering themselves would inflate the number. Both runs compile against the
restricted capabilities, so a test cannot lean on a builtin the policy may not use.

`policy test` also decides the pack's golden cases with its sources (`run_golden`): a change that
flips a recorded outcome fails here, before anyone builds or approves it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readypolicy.drift.golden import GoldenRun, golden_differences, pack_cases, source_policies
from readypolicy.drift.interface import DriftError
from readypolicy.engines.interface import RegoEngine
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.policy.pack import golden_dir
from readypolicy.policy.source_tree import SourceTree, display_path, staged_sources
from readypolicy.policy.test_isolation import test_isolation_problems

STATUSES = ("pass", "fail", "error", "skip")


@dataclass(frozen=True)
class RegoTest:
    """The outcome of one Rego test rule."""

    name: str
    """Full rule path, e.g. `data.readiness.checks_test.test_coverage_passes`."""
    location: str
    """Source file:row of the test rule."""
    status: str
    """`pass`, `fail`, `error` (the test raised an evaluation error) or `skip` (a `todo_` test)."""
    message: str = ""
    """The evaluation error of an `error` test, with source locations."""


@dataclass(frozen=True)
class FileCoverage:
    """Line coverage of one policy file."""

    path: str
    """Source path of the file."""
    covered_lines: int
    """Lines evaluated by at least one test."""
    not_covered_lines: int
    """Lines no test reached."""
    not_covered_rows: tuple[int, ...]
    """Row numbers of the lines no test reached."""

    @property
    def percent(self) -> float:
        """Covered share of the file's evaluable lines (100 for a file with none)."""
        total = self.covered_lines + self.not_covered_lines
        return 100.0 * self.covered_lines / total if total else 100.0


@dataclass(frozen=True)
class RegoTestReport:
    """Everything `policy test` prints and decides on."""

    cases: tuple[RegoTest, ...]
    """Every test, in OPA's order."""
    files: tuple[FileCoverage, ...]
    """Coverage per policy file; empty when tests failed (coverage was not measured)."""

    @property
    def counts(self) -> dict[str, int]:
        """Number of tests per status."""
        return {status: sum(1 for c in self.cases if c.status == status) for status in STATUSES}

    @property
    def failed(self) -> tuple[RegoTest, ...]:
        """Tests that failed or raised an error."""
        return tuple(c for c in self.cases if c.status in ("fail", "error"))

    @property
    def coverage(self) -> float | None:
        """Line coverage over all policy files, or None when it was not measured."""
        if not self.files:
            return None
        covered = sum(f.covered_lines for f in self.files)
        total = covered + sum(f.not_covered_lines for f in self.files)
        return 100.0 * covered / total if total else 100.0


def run_tests(opa: OpaBinary, policy: PolicySet) -> RegoTestReport:
    """Run every test of a source pack; compile errors are a PolicyError, failing tests are not."""
    if policy.source != "tree":
        raise PolicyError(f"{policy.origin}: tests run on a pack's sources, not on a built bundle")
    # Tests that lend the policy a rule would pass on a policy the bundle does not hold: refuse before running them.
    for where, problem in test_isolation_problems(opa, policy)[:1]:
        raise PolicyError(f"{where}: {problem}")
    with staged_sources(policy.origin, policy.root) as tree:
        base = ["--capabilities", str(opa.capabilities_file), str(tree.directory)]
        results = _opa_json(opa, ["test", "--format", "json", *base], tree, policy)
        cases = tuple(_case(item, tree) for item in results)
        files: tuple[FileCoverage, ...] = ()
        if not any(c.status in ("fail", "error") for c in cases):
            report = _opa_json(opa, ["test", "--coverage", "--format", "json", *base], tree, policy)
            files = _file_coverage(report.get("files") if isinstance(report, dict) else None, tree)
    return RegoTestReport(cases=cases, files=files)


def run_golden(policy: PolicySet, engine: RegoEngine, cache_dir: Path) -> GoldenRun | None:
    """The pack's golden cases decided by its sources; None when pack.yaml declares no golden directory.

    A malformed case, or one for a lane the pack does not have, is a PolicyError: a case that
    cannot run must not read as a case that passed.
    """
    if policy.source != "tree":
        raise PolicyError(f"{policy.origin}: golden cases run on a pack's sources, not on a built bundle")
    if golden_dir(policy.origin) is None:
        return None
    try:
        cases = pack_cases(policy.origin)
    except DriftError as exc:
        raise PolicyError(str(exc)) from exc
    unknown = sorted({f"{case.name} ({case.lane})" for case in cases if case.lane not in policy.lanes})
    if unknown:
        raise PolicyError(f"pack {policy.pack!r}: golden case(s) for a lane it does not have: {', '.join(unknown)}")
    return golden_differences(cases, source_policies(policy), engine, cache_dir)


def _opa_json(opa: OpaBinary, args: list[str], tree: SourceTree, policy: PolicySet) -> Any:
    """Run OPA and parse its JSON stdout; anything else (compile errors) is a PolicyError."""
    done = opa.run(args)
    try:
        return json.loads(done.stdout)
    except ValueError:
        text = tree.source_text((done.stderr or done.stdout).decode("utf-8", errors="replace")).strip()
        raise PolicyError(f"pack {policy.pack!r}: opa test could not run: {' '.join(text.split())[:800]}") from None


def _location(value: Any, tree: SourceTree) -> str:
    location = value if isinstance(value, Mapping) else {}
    staged = str(location.get("file", ""))
    source = tree.source_of(staged)
    return f"{display_path(source) if source else staged}:{location.get('row', '?')}"


def _case(item: Mapping[str, Any], tree: SourceTree) -> RegoTest:
    name = f"{item.get('package', 'data')}.{item.get('name', '?')}"
    location = _location(item.get("location"), tree)
    if item.get("error"):
        error = item["error"]
        message = error.get("message", str(error)) if isinstance(error, Mapping) else str(error)
        where = _location(error.get("location"), tree) if isinstance(error, Mapping) else location
        return RegoTest(name, location, "error", f"{where}: {tree.source_text(message)}")
    if item.get("skip"):
        return RegoTest(name, location, "skip")
    return RegoTest(name, location, "fail" if item.get("fail") else "pass")


def _file_coverage(files: Any, tree: SourceTree) -> tuple[FileCoverage, ...]:
    """Coverage of the policy files, tests left out; a policy file OPA never mentions counts as 0 lines."""
    out: list[FileCoverage] = []
    for staged, entry in sorted((files or {}).items()):
        if staged.endswith("_test.rego") or not isinstance(entry, Mapping):
            continue
        source = tree.source_of(staged)
        rows = sorted({
            row for span in entry.get("not_covered") or []
            for row in range(span["start"]["row"], span["end"]["row"] + 1)
        })
        out.append(FileCoverage(
            path=display_path(source) if source else staged,
            covered_lines=int(entry.get("covered_lines", 0)),
            not_covered_lines=int(entry.get("not_covered_lines", 0)),
            not_covered_rows=tuple(rows),
        ))
    return tuple(out)
