"""Independent readings of raw tool outputs: the key figures a person would read off each report.

One function per registered format id, computed from the raw file with json, ElementTree, yaml or
plain text handling and never with a normalizer, so a normalizer that miscounts disagrees with its
oracle. tests/test_registry_fixtures.py fails for a registered format that has no oracle here.

An oracle returns `{figure: expected}`. A figure names a value of the normalized `data` by dotted
keys; `*` maps over the items of a list (or the values of a mapping), and such lists are compared
without regard to order; a last segment `a,b` picks several fields of each item as one list; a
trailing `#` asks for the length of the value instead. A tuple of keys stands for a dotted path
whose keys hold dots themselves (hyperfine names metrics after commands). A
figure starting with `@` names the envelope side instead: `@collected_at`, `@producer.tool`,
`@producer.version`.

Where another part of the work is changing what a normalizer reports (SPDX licences, coverage per
file, SARIF levels, percentile method), the oracle checks only what the raw file states outright.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET  # the project's own committed fixtures
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

Figure = str | tuple[str, ...]
"""A dotted path, or a tuple of keys when a key itself holds a dot."""
Figures = dict[Figure, Any]
Oracle = Callable[[Path], Figures]

ORACLES: dict[str, Oracle] = {}
"""Format id → its oracle."""

SEVERITIES = ("critical", "high", "medium", "low", "info")


def oracle(*formats: str) -> Callable[[Oracle], Oracle]:
    """Register a function as the oracle of one or more format ids."""

    def register(function: Oracle) -> Oracle:
        for fmt in formats:
            assert fmt not in ORACLES, f"two oracles for {fmt}"
            ORACLES[fmt] = function
        return function

    return register


# --- reading figures back out of normalized data ----------------------------------------------------


def _walk(value: Any, keys: list[str]) -> Iterator[Any]:
    if not keys:
        yield value
        return
    key, rest = keys[0], keys[1:]
    if key == "*":
        items = value.values() if isinstance(value, dict) else value
        for item in items:
            yield from _walk(item, rest)
    elif "," in key and not rest:
        yield [value.get(part) for part in key.split(",")]
    else:
        yield from _walk(value[key], rest)


def figure(data: dict[str, Any], envelope: dict[str, Any], name: Figure) -> Any:
    """The value `name` designates (see the module docstring); lists from `*` come back sorted."""
    if isinstance(name, str) and name.endswith("#"):
        return len(figure(data, envelope, name[:-1]))
    keys = name.split(".") if isinstance(name, str) else list(name)
    source = data
    if keys[0].startswith("@"):
        source, keys[0] = envelope, keys[0][1:]
    values = list(_walk(source, keys))
    if "*" in keys:
        return sorted(values, key=lambda v: json.dumps(v, sort_keys=True))
    return values[0]


def unordered(values: list[Any]) -> list[Any]:
    """An oracle's list in the order `figure` returns lists designated with `*`."""
    return sorted(values, key=lambda v: json.dumps(v, sort_keys=True))


def utc(moment: datetime) -> str:
    """A datetime as the store writes it (UTC RFC 3339 with microseconds); naive means UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8-sig"))


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _severity_counts(severities: list[str]) -> Figures:
    counts = Counter(severities)
    return {f"counts.{level}": counts.get(level, 0) for level in SEVERITIES}


# --- tests --------------------------------------------------------------------------------------


@oracle("junit-xml")
def junit_xml(path: Path) -> Figures:
    """Every <testcase>, classified by its child element (pytest marks xfail as skipped type pytest.xfail)."""
    cases = list(ET.parse(path).getroot().iter("testcase"))
    failed = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None and c.find("failure") is None)
    skips = [c.find("skipped") for c in cases]
    xfailed = sum(1 for s in skips if s is not None and s.get("type") == "pytest.xfail")
    skipped = sum(1 for s in skips if s is not None) - xfailed
    return {"totals.tests": len(cases), "totals.failed": failed, "totals.errors": errors,
            "totals.skipped": skipped, "totals.xfailed": xfailed,
            "totals.passed": len(cases) - failed - errors - skipped - xfailed,
            "failed_cases.*.name": unordered([c.get("name") for c in cases
                                              if c.find("failure") is not None or c.find("error") is not None])}


@oracle("pytest-json-report")
def pytest_json_report(path: Path) -> Figures:
    """Outcomes of the `tests` array (an error in setup is outcome `error`)."""
    outcomes = Counter(test["outcome"] for test in _json(path)["tests"])
    return {"totals.tests": sum(outcomes.values()), "totals.passed": outcomes["passed"],
            "totals.failed": outcomes["failed"], "totals.errors": outcomes["error"],
            "totals.skipped": outcomes["skipped"], "totals.xfailed": outcomes["xfailed"],
            "totals.xpassed": outcomes["xpassed"]}


# --- coverage (totals as the report states them) ------------------------------------------------


@oracle("coverage-py-json")
def coverage_py_json(path: Path) -> Figures:
    doc = _json(path)
    totals = doc["totals"]
    return {"lines_covered": totals["covered_lines"], "lines_total": totals["num_statements"],
            "branches_covered": totals["covered_branches"], "branches_total": totals["num_branches"],
            "@producer.version": doc["meta"]["version"]}


@oracle("cobertura-xml")
def cobertura_xml(path: Path) -> Figures:
    root = ET.parse(path).getroot()
    return {"lines_covered": int(root.get("lines-covered", "")), "lines_total": int(root.get("lines-valid", "")),
            "branches_covered": int(root.get("branches-covered", "")),
            "branches_total": int(root.get("branches-valid", ""))}


@oracle("lcov")
def lcov(path: Path) -> Figures:
    """Sums of the per-record LF/LH/BRF/BRH summary lines."""
    sums: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        tag, _, value = line.partition(":")
        if tag in ("LF", "LH", "BRF", "BRH"):
            sums[tag] += int(value)
    return {"lines_covered": sums["LH"], "lines_total": sums["LF"],
            "branches_covered": sums["BRH"], "branches_total": sums["BRF"]}


# --- sast -----------------------------------------------------------------------------------------


@oracle("bandit-json")
def bandit_json(path: Path) -> Figures:
    results = _json(path)["results"]
    return {"total": len(results), "scan_errors": len(_json(path)["errors"]),
            **_severity_counts([r["issue_severity"].lower() for r in results]),
            "findings.*.rule,file,line": unordered([[r["test_id"], r["filename"], r["line_number"]] for r in results])}


@oracle("semgrep-json")
def semgrep_json(path: Path) -> Figures:
    results = _json(path)["results"]
    return {"total": len(results), "scan_errors": len(_json(path)["errors"]),
            "findings.*.file,line": unordered([[r["path"], r["start"]["line"]] for r in results]),
            "@producer.version": _json(path)["version"]}


@oracle("sarif")
def sarif(path: Path) -> Figures:
    """Unsuppressed results of every run, by rule id and start line (levels are being reworked elsewhere)."""
    found: list[list[Any]] = []
    suppressed = 0
    for run in _json(path)["runs"]:
        for result in run.get("results", []):
            if any(s.get("status", "accepted") == "accepted" for s in result.get("suppressions", [])):
                suppressed += 1
                continue
            region = result["locations"][0]["physicalLocation"].get("region", {})
            found.append([result.get("ruleId"), region.get("startLine")])
    return {"total": len(found), "suppressed": suppressed, "findings.*.rule,line": unordered(found)}


# --- dependencies -----------------------------------------------------------------------------------


@oracle("pip-audit-json")
def pip_audit_json(path: Path) -> Figures:
    deps = _json(path)["dependencies"]
    audited = [d for d in deps if "skip_reason" not in d]
    vulns = [[v["id"], d["name"]] for d in audited for v in d.get("vulns", [])]
    return {"audited": len(audited), "skipped.*.name": unordered([d["name"] for d in deps if "skip_reason" in d]),
            "total": len(vulns), "vulnerabilities.*.id,package": unordered(vulns)}


@oracle("safety-json")
def safety_json(path: Path) -> Figures:
    """1.x: a list of [package, spec, version, advisory, id, ...]; 2.x: a report with `vulnerabilities`."""
    doc = _json(path)
    if isinstance(doc, list):
        vulns = [[row[4], row[0]] for row in doc]
        return {"total": len(vulns), "vulnerabilities.*.id,package": unordered(vulns)}
    vulns = [[v["vulnerability_id"], v["package_name"]] for v in doc["vulnerabilities"]]
    return {"total": len(vulns), "vulnerabilities.*.id,package": unordered(vulns),
            "audited": doc["report_meta"]["packages_found"],
            "@producer.version": doc["report_meta"]["safety_version"]}


@oracle("trivy-json")
def trivy_json(path: Path) -> Figures:
    results = _json(path)["Results"]
    vulns = [[v["VulnerabilityID"], v["PkgName"]] for r in results for v in r.get("Vulnerabilities") or []]
    return {"total": len(vulns), "vulnerabilities.*.id,package": unordered(vulns),
            "audited": sum(len(r.get("Packages") or []) for r in results),
            **_severity_counts([v["Severity"].lower() for r in results for v in r.get("Vulnerabilities") or []])}


@oracle("grype-json")
def grype_json(path: Path) -> Figures:
    matches = _json(path)["matches"]
    return {"total": len(matches),
            "vulnerabilities.*.id,package": unordered([[m["vulnerability"]["id"], m["artifact"]["name"]] for m in matches]),
            **_severity_counts([m["vulnerability"]["severity"].lower() for m in matches])}


@oracle("osv-scanner-json")
def osv_scanner_json(path: Path) -> Figures:
    """One vulnerability per alias group of each package, named by the group's first id."""
    packages = [p for r in _json(path)["results"] for p in r["packages"]]
    groups = [[p["package"]["name"], g["ids"]] for p in packages for g in p["groups"]]
    return {"total": len(groups), "audited": len(packages),
            "vulnerabilities.*.package": unordered([name for name, _ids in groups])}


# --- sbom and licences ----------------------------------------------------------------------------


def _cyclonedx_packages(components: list[dict[str, Any]]) -> int:
    """Components at any depth (nested ones included), except `file` components, which are no package."""
    return sum((c.get("type") != "file") + _cyclonedx_packages(c.get("components", [])) for c in components)


@oracle("cyclonedx-json")
def cyclonedx_json(path: Path) -> Figures:
    doc = _json(path)
    root = doc.get("metadata", {}).get("component")
    figures: Figures = {"components": _cyclonedx_packages(doc.get("components", [])), "spec_version": doc["specVersion"],
                        "has_root_component": root is not None}
    if root is not None:
        figures["root_component.name"] = root["name"]
        figures["root_component.version"] = root.get("version")
    return figures


@oracle("spdx-json")
def spdx_json(path: Path) -> Figures:
    """Packages other than the single package the document DESCRIBES (the root)."""
    doc = _json(path)
    described = set(doc.get("documentDescribes", [])) | {
        r["relatedSpdxElement"] for r in doc.get("relationships", [])
        if r["relationshipType"] == "DESCRIBES" and r["spdxElementId"] == doc["SPDXID"]}
    packages = doc.get("packages", [])
    roots = [p for p in packages if p["SPDXID"] in described]
    figures: Figures = {"spec_version": doc["spdxVersion"].removeprefix("SPDX-")}
    if len(roots) == 1:
        figures.update({"components": len(packages) - 1, "root_component.name": roots[0]["name"]})
    return figures


@oracle("pip-licenses-json")
def pip_licenses_json(path: Path) -> Figures:
    """`--format=json` rows (`Name`, `License`) or `--format=json-license-finder` rows (`name`, `licenses`)."""
    rows = _json(path)
    items = [[r["Name"], r["License"]] if "Name" in r else [r["name"], "; ".join(r["licenses"])] for r in rows]
    return {"packages": len(rows), "items.*.name,license": unordered(items)}


@oracle("pip-licenses-plain")
def pip_licenses_plain(path: Path) -> Figures:
    """The default table: columns start where the header's column names start."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"(?<!\S)\S", header)]
    names = header.split()
    rows = [{name: line[a:b].strip() for name, a, b in zip(names, starts, [*starts[1:], None], strict=True)}
            for line in lines[1:]]
    return {"packages": len(rows), "items.*.name,license": unordered([[r["Name"], r["License"]] for r in rows])}


@oracle("ruff-json")
def ruff_json(path: Path) -> Figures:
    """`ruff check --output-format json`: one object per diagnostic; parse failures carry code invalid-syntax."""
    found = _json(path)
    return {"total": len(found), "files_with_findings": len({f["filename"] for f in found}),
            "syntax_errors": sum(1 for f in found if f["code"] in ("invalid-syntax", None)),
            "findings.*.rule,file,line": unordered([[f["code"], f["filename"], f["location"]["row"]] for f in found])}


@oracle("mypy-text")
def mypy_text(path: Path) -> Figures:
    """mypy's console output: `file:line[:col[:end_line:end_col]]: error: ... [code]` lines and the closing summary."""
    lines = path.read_text(encoding="utf-8").splitlines()
    errors = [line.split(":", 1)[0] for line in lines if re.match(r"^\S[^:]*:\d+(:\d+){0,3}: error: ", line)]
    checked = re.search(r"(?:checked|found in) (\d+) source file", lines[-1])
    return {"total": len(errors), "files_with_findings": len(set(errors)),
            "files_checked": int(checked[1]) if checked else None, "findings.*.file": unordered(errors)}


# --- secrets ----------------------------------------------------------------------------------------


@oracle("detect-secrets-baseline")
def detect_secrets_baseline(path: Path) -> Figures:
    found = [[item["type"], file, item["line_number"]] for file, items in _json(path)["results"].items() for item in items]
    return {"total": len(found), "findings.*.rule,file,line": unordered(found)}


@oracle("gitleaks-json")
def gitleaks_json(path: Path) -> Figures:
    found = [[f["RuleID"], f["File"], f["StartLine"]] for f in _json(path)]
    return {"total": len(found), "findings.*.rule,file,line": unordered(found)}


# --- perf (sample counts; the percentile method is being changed elsewhere) ---------------------------


@oracle("latency-samples")
def latency_samples(path: Path) -> Figures:
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text) if text.lstrip()[:1] in "[{" else text.split()
    samples = doc.get("samples_ms") if isinstance(doc, dict) else doc
    return {"metrics.*.sample_size": [len(samples)]}


@oracle("hyperfine-json")
def hyperfine_json(path: Path) -> Figures:
    return {("metrics", r["command"], "sample_size"): len(r["times"]) for r in _json(path)["results"]}


@oracle("pytest-benchmark-json")
def pytest_benchmark_json(path: Path) -> Figures:
    """Rounds per benchmark: the per-round data when kept, else the stated round count."""
    stats = [b["stats"] for b in _json(path)["benchmarks"]]
    return {"metrics.*.sample_size": unordered([len(s["data"]) if s.get("data") else s["rounds"] for s in stats]),
            "@producer.version": _json(path)["version"]}


@oracle("readiness-perf-json")
def readiness_perf_json(path: Path) -> Figures:
    doc = _json(path)
    figures: Figures = {"@collected_at": utc(datetime.fromisoformat(doc["validation_timestamp"]))}
    for name, metric in doc["performance_metrics"].items():
        for key in ("sample_size", "p50_ms", "p95_ms", "p99_ms"):
            figures[f"metrics.{name}.{key}"] = metric[key]
        if "ci95_lower" in metric:
            figures[f"metrics.{name}.ci95.lower_ms"] = metric["ci95_lower"]
            figures[f"metrics.{name}.ci95.upper_ms"] = metric["ci95_upper"]
    return figures


# --- chaos ------------------------------------------------------------------------------------------


@oracle("chaostoolkit-journal")
def chaostoolkit_journal(path: Path) -> Figures:
    """The run's own verdicts; passed = completed, not deviated, steady state met before and after, and the
    method ran as written: not a dry run, every activity succeeded, no process action exited non-zero."""
    doc = _json(path)
    states = doc.get("steady_states") or {}
    before = (states.get("before") or {}).get("steady_state_met")
    after = (states.get("after") or {}).get("steady_state_met")
    activities_ok = all(
        run.get("status") == "succeeded"
        and not (run["activity"]["type"] == "action" and run["activity"]["provider"]["type"] == "process"
                 and (run.get("output") or {}).get("status", 0) != 0)
        for run in doc.get("run") or []
    )
    ran_as_written = not doc["experiment"].get("dry") and activities_ok
    return {"status": doc["status"], "deviated": doc["deviated"], "steady_state_before": before,
            "steady_state_after": after,
            "passed": doc["status"] == "completed" and not doc["deviated"] and before is True and after is True
            and ran_as_written}


# --- telemetry --------------------------------------------------------------------------------------


@oracle("promtool")
def promtool_test_output(path: Path) -> Figures:
    """Sections `Processing test file: F`, each passed when its verdict line is SUCCESS."""
    verdicts: dict[str, bool] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("Processing test file:"):
            current = line.split(":", 1)[1].strip()
            verdicts[current] = False
        elif current is not None and line.strip() == "SUCCESS":
            verdicts[current] = True
    return {"files.*.file,passed": unordered([[f, ok] for f, ok in verdicts.items()]),
            "passed": all(verdicts.values()), "tests": None}


@oracle("promtool-junit")
def promtool_junit(path: Path) -> Figures:
    """One suite per rule-test file and one case per test group; a case fails with a <failure> or <error>."""
    suites = list(ET.parse(path).getroot().iter("testsuite"))
    files = []
    for suite in suites:
        cases = suite.findall("testcase")
        ok = bool(cases) and not any(c.find("failure") is not None or c.find("error") is not None for c in cases)
        files.append([suite.get("name"), ok])
    problems = sum(len(c.findall("failure")) + len(c.findall("error")) for s in suites for c in s.findall("testcase"))
    stamps = [datetime.fromisoformat(s.get("timestamp", "")) for s in suites if s.get("timestamp")]
    return {"tests": sum(len(s.findall("testcase")) for s in suites), "files.*.file,passed": unordered(files),
            "passed": all(ok for _name, ok in files), "failures#": problems,
            "@collected_at": utc(min(stamps)) if stamps else None}


@oracle("promtool-check")
def promtool_check(path: Path) -> Figures:
    """`check rules`: `Checking F`, then `SUCCESS: N rules found` or `FAILED:`.

    `check metrics`: `<metric> <problem>` lines, then the --extended table.
    """
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if lines[0].startswith("Checking "):
        files: list[list[Any]] = []
        for line in lines:
            if line.startswith("Checking "):
                files.append([line.removeprefix("Checking ").strip(), False, None])
            elif line.strip().startswith("SUCCESS:"):
                files[-1][1:] = [True, int(line.split()[1])]
        return {"source": "rules-check", "files.*.file,passed,rules": unordered(files),
                "passed": all(ok for _f, ok, _n in files), "rules": sum(n for _f, _ok, n in files if n is not None)}
    table = next((i for i, line in enumerate(lines) if line.split()[:3] == ["Metric", "Cardinality", "Percentage"]), len(lines))
    problems = [line.split(" ", 1) for line in lines[:table]]
    rows = {line.split()[0]: int(line.split()[1]) for line in lines[table + 1:]}
    return {"source": "metrics-lint", "problems.*.metric,problem": unordered(problems), "passed": not problems,
            "problem_count": len(problems), "series": rows.pop("Total", None), "metric_cardinality": rows}


@oracle("prometheus-rules")
def prometheus_rules(path: Path) -> Figures:
    groups = _yaml(path)["groups"]
    rules = [rule for group in groups for rule in group.get("rules", [])]
    alerts = [rule for rule in rules if "alert" in rule]
    return {"groups": len(groups), "alerting_rules": len(alerts),
            "recording_rules": sum(1 for rule in rules if "record" in rule),
            "alerts_without_runbook": sorted(r["alert"] for r in alerts
                                             if not str((r.get("annotations") or {}).get("runbook_url", "")).strip()),
            "labels": sorted({label for rule in rules for label in rule.get("labels") or {}})}


_SAMPLE = re.compile(r"^(?P<name>[A-Za-z_:][\w:]*)(?:\{(?P<labels>.*)\})?\s")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@oracle("prometheus-exposition")
def prometheus_exposition(path: Path) -> Figures:
    """Sample lines, metric families (TYPE lines plus undeclared names) and distinct values per label."""
    declared: set[str] = set()
    samples: list[str] = []
    values: dict[str, set[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# TYPE "):
            declared.add(line.split()[2])
        elif line.strip() and not line.startswith("#"):
            match = _SAMPLE.match(line)
            assert match, line
            samples.append(match["name"])
            for label, value in _LABEL.findall(match["labels"] or ""):
                if label not in ("le", "quantile"):
                    values.setdefault(label, set()).add(value)
    undeclared = {name for name in samples
                  if not any(name == d or name.startswith(f"{d}_") for d in declared)}
    return {"series": len(samples), "metrics": len(declared | undeclared),
            **{f"label_cardinality.{label}": len(seen) for label, seen in values.items()}}


# --- schema, architecture, complexity ----------------------------------------------------------------


def _canonical_digest(value: Any) -> str:
    """sha256 of the schema's JSON with sorted keys and no spaces (RFC 8785 for integer-only schemas)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


@oracle("jsonschema-snapshot")
def jsonschema_snapshot(path: Path) -> Figures:
    """Digests of both schema files and the changes a reader sees between the two property maps.

    Only the kinds of change the committed pairs make are looked for (property added/removed, newly
    required, type narrowed, enum value added/removed, maxLength raised).
    """
    pair = _json(path)
    old, new = (_json(path.parent / pair[side]) for side in ("snapshot", "current"))
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    breaking = [[f"#/properties/{p}", "removed-property"] for p in set(old_props) - set(new_props)]
    breaking += [[f"#/properties/{p}", "new-required"] for p in set(new.get("required", [])) - set(old.get("required", []))]
    for name in set(old_props) & set(new_props):
        if _types(new_props[name]) < _types(old_props[name]):
            breaking.append([f"#/properties/{name}", "type-narrowed"])
        if set(old_props[name].get("enum", [])) - set(new_props[name].get("enum", old_props[name].get("enum", []))):
            breaking.append([f"#/properties/{name}", "enum-value-removed"])
    added = [[f"#/properties/{p}", "added-property"] for p in set(new_props) - set(old_props)]
    other = []
    for name in set(old_props) & set(new_props):
        if set(new_props[name].get("enum", [])) - set(old_props[name].get("enum", new_props[name].get("enum", []))):
            other.append([f"#/properties/{name}", "enum-value-added"])
        if new_props[name].get("maxLength", 0) > old_props[name].get("maxLength", 0):
            other.append([f"#/properties/{name}", "constraint-relaxed"])
    return {"snapshot_digest": _canonical_digest(old), "current_digest": _canonical_digest(new),
            "breaking_count": len(breaking), "breaking.*.path,change": unordered(breaking),
            "scope": pair["name"], "compatible.*.path,change": unordered(added + other)}


@oracle("import-linter")
def import_linter(path: Path) -> Figures:
    """Contract lines `NAME KEPT` / `NAME BROKEN` and the summary line `Contracts: K kept, B broken.`"""
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line.removesuffix(" KEPT") for line in lines if line.endswith(" KEPT")]
    broken = [line.removesuffix(" BROKEN") for line in lines if line.endswith(" BROKEN")]
    summary = next(re.fullmatch(r"Contracts: (\d+) kept, (\d+) broken\.", line) for line in lines
                   if line.startswith("Contracts: "))
    assert summary and (int(summary[1]), int(summary[2])) == (len(kept), len(broken))
    return {"contracts_kept": len(kept), "contracts_broken": len(broken), "kept": kept, "broken": broken}


_RANKS = "ABCDEF"


@oracle("radon-json")
def radon_json(path: Path) -> Figures:
    """`radon cc -j`: blocks per file (methods of classes counted too); `radon mi -j`: one entry per file.

    Maintainability indexes are stored rounded to four decimals, which is all radon's own text shows.
    """
    doc = _json(path)
    if all(isinstance(v, dict) and "mi" in v for v in doc.values()):
        ranks = Counter(v["rank"] for v in doc.values())
        return {"metric": "maintainability", "blocks": len(doc),
                "worst.*.file,complexity": unordered([[f, round(v["mi"], 4)] for f, v in doc.items()]),
                **{f"ranks.{r}": ranks.get(r, 0) for r in _RANKS}}
    blocks = [(file, b) for file, items in doc.items() for b in items]
    blocks += [(file, m) for file, b in list(blocks) for m in b.get("methods", [])]
    ranks = Counter(b["rank"] for _f, b in blocks)
    return {"metric": "cyclomatic", "blocks": len(blocks), "max": max(b["complexity"] for _f, b in blocks),
            **{f"ranks.{r}": ranks.get(r, 0) for r in _RANKS}}


@oracle("radon-raw-json")
def radon_raw_json(path: Path) -> Figures:
    """`radon raw -j`: line counts per file, summed over the files."""
    files = _json(path)
    fields = ("loc", "lloc", "sloc", "comments", "multi", "blank", "single_comments")
    return {"blocks": len(files), **{f"raw.{field}": sum(v[field] for v in files.values()) for field in fields}}


_XENON = re.compile(r"^ERROR:xenon:(block|module) [\"'](.+?)[\"'] has a rank of ([A-F])$")


@oracle("xenon")
def xenon(path: Path) -> Figures:
    """One `ERROR:xenon:` line per violated threshold; any violation fails."""
    found = [[m[1], m[2], m[3]] for line in path.read_text(encoding="utf-8").splitlines()
             if (m := _XENON.match(line.strip()))]
    return {"violations.*.subject,name,rank": unordered(found), "passed": not found}


# --- readypolicy's own formats -----------------------------------------------------------------------


@oracle("lane-manifest-yaml")
def lane_manifest_yaml(path: Path) -> Figures:
    doc = _yaml(path)
    lanes = doc.get("lanes") or {}
    return {"module": doc["module"], "owner": doc.get("owner", ""), "current_lane": lanes.get("current"),
            "target_lane": lanes.get("target"), "slo": doc.get("slo", {}), "capacity": doc.get("capacity", {}),
            "telemetry.allowed_labels": (doc.get("telemetry") or {}).get("allowed_labels", {}),
            "thresholds": doc.get("thresholds", {}), "safety": doc.get("safety", {})}


@oracle("readypolicy-operations")
def readypolicy_operations(path: Path) -> Figures:
    doc = _yaml(path)  # a JSON record is YAML too
    performed = doc["performed_at"]
    moment = performed if isinstance(performed, datetime) else datetime.fromisoformat(performed)
    return {"result": doc["result"], "details": doc["details"], "performed_at": utc(moment),
            "@collected_at": utc(moment)}


@oracle("directory-listing")
def directory_listing(path: Path) -> Figures:
    """Regular files under the tree (symlinks never followed: listed as skipped) with size and sha256."""
    files, skipped = [], []
    for folder, dirs, names in os.walk(path):
        for name in [*names, *(d for d in dirs if (Path(folder) / d).is_symlink())]:
            full = Path(folder) / name
            relative = full.relative_to(path).as_posix()
            if full.is_symlink():
                skipped.append(relative)
            else:
                raw = full.read_bytes()
                files.append([relative, len(raw), "sha256:" + hashlib.sha256(raw).hexdigest()])
    return {"total_files": len(files), "total_bytes": sum(size for _p, size, _d in files),
            "files.*.path,bytes,sha256": unordered(files), "skipped.*.path": unordered(skipped)}
