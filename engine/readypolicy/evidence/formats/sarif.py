"""SARIF 2.1.0 from any scanner (bandit, ruff, semgrep, gitleaks, Trivy, CodeQL, ...).

A run without `results` is a tool that did not report (SARIF §3.14.23: absent when the tool failed
to run, `[]` when it found nothing), so it is not a clean scan: its tool is left out of the
evidence and reads as missing, and a file in which no run reported is refused.

Severity follows the SARIF rules for a result's effective level: its own `level`, else the rule's
`defaultConfiguration.level`, else `warning`; results whose `kind` is not a failure (`pass`,
`notApplicable`) are not findings. When a rule or result carries the GitHub `security-severity`
property (a CVSS score), that score decides the severity instead, because scanners that emit it
(CodeQL, Trivy, semgrep) use `level` only for display. Suppressed results (accepted suppressions)
and results absent from the current scan (`baselineState: absent`) are not counted as findings.

Scan errors are the error-level notifications of each invocation, `toolExecutionNotifications`
and `toolConfigurationNotifications` alike (bandit reports a file it could not parse as the
latter), and an invocation with `executionSuccessful: false` counts at least one: a crashed
tool's SARIF is not a clean scan.

A finding is a security finding when its tool is a security scanner (findings.SECURITY_SCANNERS)
or its rule or result is tagged `security` or carries `security-severity`. Any other finding (a
linter's: ruff marks every style rule `error`) is kept with `security: false` and severity `info`,
so it never counts against a security ceiling, and is counted in `non_security`.

Files scanned: a run states them only through `artifacts` whose `roles` include `analysisTarget`
(SARIF §3.24.6). `artifacts` otherwise lists the files a run mentions (often only those with
results), so neither its length nor its absence says how many files were read: `files_scanned` is
kept only when every reporting run names its analysis targets, and analysis targets never prove a
scan of no file (semgrep's SARIF names none; its JSON report does). bandit's SARIF run keeps its
JSON report's `metrics` in `properties`: those give its `files_scanned` (0 included) and
`lines_scanned`, so a bandit SARIF of a folder without source is not a clean scan either.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from readypolicy.evidence.formats import bandit_json, stamps
from readypolicy.evidence.formats.findings import cvss_severity, is_security_scanner, sast_data, score, severity, tool_slug
from readypolicy.evidence.formats.shape import items, line, mapping, message, optional_text, strings, text
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_LEVELS = {"error": "high", "warning": "medium", "note": "low", "none": "info"}
_NOT_FINDINGS = {"pass", "notApplicable"}


class _RuleIndex:
    """Rules of one run, addressable the three ways SARIF results point at them."""

    def __init__(self, run: dict[str, Any]) -> None:
        tool = mapping(run.get("tool"))
        self.driver_rules = [mapping(rule) for rule in items(mapping(tool.get("driver")).get("rules"))]
        self.extension_rules = [
            [mapping(rule) for rule in items(mapping(ext).get("rules"))] for ext in items(tool.get("extensions"))
        ]
        self.by_id: dict[str, dict[str, Any]] = {}
        for rules in (*reversed(self.extension_rules), self.driver_rules):
            self.by_id.update((text(rule.get("id")), rule) for rule in rules if text(rule.get("id")))

    def lookup(self, result: dict[str, Any]) -> dict[str, Any]:
        """The rule a result refers to (by `rule` reference, `ruleIndex` or `ruleId`), or {}."""
        reference = mapping(result.get("rule"))
        index = reference.get("index", result.get("ruleIndex"))
        component = mapping(reference.get("toolComponent")).get("index")
        rules = self.driver_rules
        if isinstance(component, int) and not isinstance(component, bool):
            rules = self.extension_rules[component] if 0 <= component < len(self.extension_rules) else []
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(rules):
            return rules[index]
        rule_id = text(reference.get("id")) or text(result.get("ruleId"))
        return self.by_id.get(rule_id) or self.by_id.get(rule_id.split("/")[0], {})


class Sarif(Normalizer):
    """SARIF 2.1.0 → `sast` evidence."""

    kind = "sast"
    format = "sarif"
    description = "SARIF 2.1.0 from any scanner (bandit, ruff, semgrep, gitleaks, trivy, CodeQL, ...)"
    priority = 10

    def detect(self, artifact: Artifact) -> bool:
        body = artifact.text_or_empty
        # Key order varies by tool: bandit writes `$schema` and `version` last, so look at the whole text.
        return artifact.looks_like_json() and '"runs"' in body and '"driver"' in body and (
            "sarif" in body.lower() or '"2.1.0"' in body
        )

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
            raise self.fail(artifact, "no 'runs' list")
        if doc.get("version") != "2.1.0":
            raise self.fail(artifact, "the SARIF version is not 2.1.0")
        findings: list[dict[str, Any]] = []
        scan_errors = suppressed = 0
        tools: list[str] = []
        silent: list[str] = []
        targets: list[int | None] = []
        lines: list[int | None] = []
        producer: Producer | None = None
        collected_at: str | None = None
        for run in map(mapping, doc["runs"]):
            driver = mapping(mapping(run.get("tool")).get("driver"))
            name = text(driver.get("name"))
            if not name:
                raise self.fail(artifact, "a run has no tool.driver.name")
            slug = tool_slug(name)
            if not isinstance(run.get("results"), list):
                silent.append(slug)
                continue
            tools.append(slug)
            run_files, run_lines = _scanned(run, slug)
            targets.append(run_files)
            lines.append(run_lines)
            producer = producer or Producer(name, optional_text(driver.get("version") or driver.get("semanticVersion")))
            rules = _RuleIndex(run)
            artifacts = items(run.get("artifacts"))
            scanner = is_security_scanner(name)
            for result in map(mapping, run["results"]):
                if text(result.get("kind"), "fail") in _NOT_FINDINGS or result.get("baselineState") == "absent":
                    continue
                if _is_suppressed(result):
                    suppressed += 1
                    continue
                findings.append(_finding(result, rules.lookup(result), slug, artifacts, scanner))
            for invocation in map(mapping, items(run.get("invocations"))):
                scan_errors += _invocation_errors(invocation)
                collected_at = collected_at or stamps.iso(invocation.get("endTimeUtc") or invocation.get("startTimeUtc"))
        if not tools:
            raise self.fail(artifact, "no run has a 'results' list: the tool did not report, which is not a clean scan")
        known = [count for count in targets if count is not None]
        files_scanned = sum(known) if len(known) == len(targets) else None
        data = sast_data("+".join(sorted(set(tools))), findings, scan_errors, files_scanned)
        if None not in lines:
            data["lines_scanned"] = sum(count for count in lines if count is not None)
        data["suppressed"] = suppressed
        data["non_security"] = sum(1 for finding in findings if not finding["security"])
        warnings: tuple[str, ...] = ()
        if silent:
            data["not_reported"] = sorted(set(silent))
            warnings = (f"{len(silent)} run(s) have no 'results': those tools did not report and read as missing"
                        " (see 'not_reported')",)
        return Normalized(
            kind=self.kind, format=self.format, producer=producer or Producer("sarif"), data=data,
            collected_at=collected_at, warnings=warnings,
        )


def _invocation_errors(invocation: dict[str, Any]) -> int:
    """Scan errors of one invocation: its error-level notifications of either kind, at least 1 if it failed.

    bandit reports each file it could not parse as a `toolConfigurationNotifications` error (its JSON
    lists them under `errors`), and `executionSuccessful: false` (§3.20.14) is a tool that "failed
    to execute properly" even when it wrote no notification: both mean files that were not scanned.
    """
    errors = sum(
        1 for key in ("toolExecutionNotifications", "toolConfigurationNotifications")
        for note in map(mapping, items(invocation.get(key))) if note.get("level") == "error"
    )
    return max(errors, 1) if invocation.get("executionSuccessful") is False else errors


def _scanned(run: dict[str, Any], slug: str) -> tuple[int | None, int | None]:
    """(files, lines of code) a run says it read, None where it does not say.

    Files: how many of the run's artifacts have the role `analysisTarget` (none: unknown). A bandit
    run says more: its `properties.metrics` are its JSON report's, one entry per file read (0 for a
    folder without source) and `_totals.loc`, so its SARIF is held to what its JSON would be.
    """
    if slug == "bandit":
        files, lines = bandit_json.scanned(mapping(run.get("properties")))
        if files is not None:
            return files, lines
    return sum(1 for artifact in map(mapping, items(run.get("artifacts")))
               if "analysisTarget" in strings(artifact.get("roles"))) or None, None


def _is_suppressed(result: dict[str, Any]) -> bool:
    """SARIF §3.27.23: suppressed when some suppression exists and none is under review or rejected."""
    suppressions = [mapping(s) for s in items(result.get("suppressions"))]
    return bool(suppressions) and all(s.get("status", "accepted") == "accepted" for s in suppressions)


def _finding(
    result: dict[str, Any], rule: dict[str, Any], tool: str, artifacts: list[Any], scanner: bool,
) -> dict[str, Any]:
    rule_props, result_props = mapping(rule.get("properties")), mapping(result.get("properties"))
    security = scanner or any(_marks_security(props) for props in (rule_props, result_props))
    cvss = score(result_props.get("security-severity", rule_props.get("security-severity")))
    if not security:
        rating = "info"
    elif cvss is not None:
        rating = cvss_severity(cvss)
    else:
        level = result.get("level") or mapping(rule.get("defaultConfiguration")).get("level") or "warning"
        if text(result.get("kind"), "fail") != "fail":
            level = "none"
        rating = _LEVELS.get(text(level), severity(level))
    locations = items(result.get("locations"))
    location = mapping(mapping(locations[0]).get("physicalLocation")) if locations else {}
    confidence = rule_props.get("precision") or result_props.get("issue_confidence")
    return {
        "rule": text(result.get("ruleId")) or text(mapping(result.get("rule")).get("id")) or text(rule.get("id")),
        "severity": rating,
        "confidence": text(confidence).lower() or None,
        "file": _path(mapping(location.get("artifactLocation")), artifacts),
        "line": line(mapping(location.get("region")).get("startLine")),
        "tool": tool,
        "message": message(mapping(result.get("message")).get("text")
                           or mapping(rule.get("shortDescription")).get("text")),
        "security": security,
    }


def _marks_security(properties: dict[str, Any]) -> bool:
    """A `security` tag or a `security-severity` property (GitHub code scanning's conventions)."""
    tags = {tag.strip().lower() for tag in items(properties.get("tags")) if isinstance(tag, str)}
    return "security" in tags or "security-severity" in properties


def _path(location: dict[str, Any], artifacts: list[Any]) -> str:
    """The finding's file: the location's URI (or the run artifact it indexes), `file://` URIs as paths."""
    uri = text(location.get("uri"))
    index = location.get("index")
    if not uri and isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(artifacts):
        uri = text(mapping(mapping(artifacts[index]).get("location")).get("uri"))
    if uri.startswith("file:"):
        try:
            uri = urlsplit(uri).path
        except ValueError:  # e.g. a malformed IPv6 host: keep the URI as written
            return uri
    return unquote(uri)


NORMALIZER = Sarif()
