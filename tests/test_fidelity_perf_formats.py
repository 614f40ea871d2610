"""Evidence fidelity (issue 12, classes 5-8): perf figures, the formats CI jobs emit, messages that tell the truth.

Every expected value is read from the raw tool output here (json, ElementTree, plain text, sorted
lists and math.ceil), never from a normalizer, so a normalizer that miscounts disagrees. The
fixtures are real runs; SOURCES.md / SOURCES-native.md under tests/fixtures/artifacts say how each
was made.
"""

from __future__ import annotations

import json
import math
import random
import re
import statistics
import xml.etree.ElementTree as ET  # the project's own committed fixtures
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from policy_project import make_project
from readypolicy.errors import ReadyPolicyError
from readypolicy.evidence import stats
from readypolicy.evidence.ingest import IngestOptions, normalize_path
from readypolicy.evidence.interface import Normalized

ARTIFACTS = Path(__file__).resolve().parent / "fixtures" / "artifacts"
HYPERFINE_FAILING = ARTIFACTS / "hyperfine-json" / "hyperfine-ignore-failure.json"


def normalize(path: Path, **options: Any) -> Normalized:
    return normalize_path(path, IngestOptions(module="demo", revision="r1", **options))[1]


def nearest_rank(samples: list[float], q: float) -> float:
    """The textbook definition, written out: the sample of 1-based rank ceil(q/100 * n)."""
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _raw_perf_samples() -> list[tuple[Path, str, list[float]]]:
    """(file, metric, samples in ms) of every real perf fixture that carries raw samples."""
    found: list[tuple[Path, str, list[float]]] = []
    for path in sorted((ARTIFACTS / "hyperfine-json").glob("*.json")):
        found += [(path, r["command"], [t * 1000.0 for t in r["times"]]) for r in _json(path)["results"]]
    bench = ARTIFACTS / "pytest-benchmark-json" / "benchmark.json"
    found += [(bench, b["name"].removeprefix("test_"), [v * 1000.0 for v in b["stats"]["data"]])
              for b in _json(bench)["benchmarks"]]
    text = ARTIFACTS / "latency-samples" / "latency-ms.txt"
    found.append((text, "latency-ms", [float(line) for line in text.read_text(encoding="utf-8").split()]))
    return found


PERF_SAMPLES = [pytest.param(path, name, samples, id=f"{path.name}:{name}") for path, name, samples in _raw_perf_samples()]


# --- 6. one percentile method: nearest rank ----------------------------------------------------------


@pytest.mark.parametrize(("path", "name", "samples"), PERF_SAMPLES)
def test_interpolated_percentiles_cannot_pass_for_nearest_rank(path: Path, name: str, samples: list[float]) -> None:
    """p50/p95/p99 are observed samples at rank ceil(q/100 * n); an interpolated p95 would differ here."""
    metric = normalize(path).data["metrics"][name]
    assert metric["percentile_method"] == "nearest-rank"
    assert metric["sample_size"] == len(samples)
    for key, q in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99)):
        assert metric[key] == nearest_rank(samples, q), key


@pytest.mark.parametrize(("path", "name", "samples"), PERF_SAMPLES)
def test_bootstrap_bounds_are_observed_samples_around_p95(path: Path, name: str, samples: list[float]) -> None:
    """A nearest-rank bootstrap can only land on observed samples; an interpolating one would not."""
    interval = normalize(path).data["metrics"][name]["ci95"]
    assert interval is not None and interval["method"] == "percentile-bootstrap"
    assert interval["lower_ms"] in samples and interval["upper_ms"] in samples
    assert interval["lower_ms"] <= nearest_rank(samples, 95) <= interval["upper_ms"]


def test_bootstrap_agrees_with_textbook_nearest_rank_resampling() -> None:
    """Resample n values 4000 times, nearest-rank p95 of each, nearest-rank 2.5/97.5 of those: same interval."""
    samples = [float(line) for line in (ARTIFACTS / "latency-samples" / "latency-ms.txt").read_text().split()]
    rng = random.Random(3)
    estimates = [nearest_rank(rng.choices(samples, k=len(samples)), 95) for _ in range(4000)]
    textbook = (nearest_rank(estimates, 2.5), nearest_rank(estimates, 97.5))
    interval = stats.bootstrap_percentile_ci(sorted(samples), resamples=4000)
    ordered = sorted(samples)
    # The bounds are order statistics: allow the two methods' random draws to differ by a couple of ranks.
    for ours, theirs in zip((interval.lower, interval.upper), textbook, strict=True):
        assert abs(ordered.index(ours) - ordered.index(theirs)) <= 3


def test_float_products_do_not_shift_the_rank() -> None:
    """0.07 * 100 is 7.000000000000001 in floats; ceil of that would pick the 8th sample, not the 7th."""
    values = [float(v) for v in range(1, 101)]
    assert stats.percentile(values, 7) == 7.0
    assert stats.bootstrap_percentile_ci(values, resamples=2000).upper in values


@pytest.mark.parametrize(("path", "name", "samples"), PERF_SAMPLES)
def test_mean_max_and_stddev_are_kept(path: Path, name: str, samples: list[float]) -> None:
    """Users gate on mean and spread too; they were dropped whenever raw samples were present."""
    metric = normalize(path).data["metrics"][name]
    assert metric["mean_ms"] == pytest.approx(statistics.fmean(samples), rel=1e-12)
    assert metric["max_ms"] == max(samples)
    assert metric["stddev_ms"] == pytest.approx(statistics.stdev(samples), rel=1e-9)


def test_tool_summaries_agree_with_the_kept_mean_max_stddev() -> None:
    """The figures hyperfine and pytest-benchmark printed themselves are the ones stored (in ms)."""
    for result in _json(HYPERFINE_FAILING)["results"]:
        metric = normalize(HYPERFINE_FAILING).data["metrics"][result["command"]]
        for key in ("mean", "stddev", "max"):
            assert metric[f"{key}_ms"] == pytest.approx(result[key] * 1000, rel=1e-9), key
    bench_path = ARTIFACTS / "pytest-benchmark-json" / "benchmark.json"
    bench = _json(bench_path)["benchmarks"][0]
    metric = normalize(bench_path).data["metrics"][bench["name"].removeprefix("test_")]
    for key in ("mean", "stddev", "max"):
        assert metric[f"{key}_ms"] == pytest.approx(bench["stats"][key] * 1000, rel=1e-9), key


def test_summary_only_benchmark_keeps_the_tools_stddev(tmp_path: Path) -> None:
    doc = _json(ARTIFACTS / "pytest-benchmark-json" / "benchmark.json")
    bench = doc["benchmarks"][0]
    bench["stats"].pop("data")
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    metric = normalize(path).data["metrics"][bench["name"].removeprefix("test_")]
    assert metric["basis"] == "summary"
    assert metric["stddev_ms"] == pytest.approx(bench["stats"]["stddev"] * 1000, rel=1e-12)


# --- 5. hyperfine: a failing command is not a latency -------------------------------------------------


def test_hyperfine_exit_codes_are_kept_per_command() -> None:
    raw = {r["command"]: r["exit_codes"] for r in _json(HYPERFINE_FAILING)["results"]}
    assert any(code != 0 for code in raw["tick"]), "the fixture must hold a failing command"
    result = normalize(HYPERFINE_FAILING)
    for command, codes in raw.items():
        metric = result.data["metrics"][command]
        assert metric["exit_codes"] == codes
        assert metric["failed_runs"] == sum(1 for code in codes if code != 0)
    assert any("tick" in warning and "failed" in warning for warning in result.warnings)


def test_hyperfine_run_killed_by_a_signal_counts_as_failed(tmp_path: Path) -> None:
    """hyperfine writes null for a run without an exit code (killed by a signal): not a success."""
    doc = _json(ARTIFACTS / "hyperfine-json" / "hyperfine-sleep-vs-true.json")
    doc["results"][0]["exit_codes"][3] = None
    path = tmp_path / "signal.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert normalize(path).data["metrics"][doc["results"][0]["command"]]["failed_runs"] == 1


@pytest.mark.parametrize("codes", [[0] * 5, "0", [0, "1"] + [0] * 18, [True] * 20])
def test_hyperfine_exit_codes_that_cannot_be_read_are_refused(tmp_path: Path, codes: Any) -> None:
    """Five codes for twenty runs, or codes that are not integers, would hide which runs failed."""
    doc = _json(ARTIFACTS / "hyperfine-json" / "hyperfine-sleep-vs-true.json")
    doc["results"][0]["exit_codes"] = codes
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ReadyPolicyError, match="exit"):
        normalize(path)


def test_hyperfine_without_exit_codes_is_unknown_not_clean(tmp_path: Path) -> None:
    doc = _json(ARTIFACTS / "hyperfine-json" / "hyperfine-sleep-vs-true.json")
    for result in doc["results"]:
        del result["exit_codes"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = normalize(path)
    assert all(metric["failed_runs"] is None for metric in result.data["metrics"].values())
    assert result.warnings


def test_a_failing_benchmarked_command_is_not_ready(tmp_path: Path) -> None:
    """End to end with OPA: `tick` runs fast because it fails at once; its timings must not meet the SLO."""
    project = make_project(tmp_path)
    ingested = project.run("ingest", "--module", "payments", "--revision", "abc", str(HYPERFINE_FAILING))
    assert ingested.exit_code == 0, ingested.output
    failed = sum(1 for code in _json(HYPERFINE_FAILING)["results"][0]["exit_codes"] if code != 0)
    record = project.eval_records("--module", "payments", "--revision", "abc", "--lane", "integration")[0]
    checks = {check["id"]: check for check in record["checks"]}
    expected = f"tick: {failed} of 20 run(s) exited non-zero; timings of a failing command are not latencies"
    for check_id in ("perf.baseline", "perf.slo"):
        assert checks[check_id]["status"] == "fail", checks[check_id]
        assert expected in checks[check_id]["message"]


# --- 7. formats the same CI jobs emit ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["ruff-findings.json", "ruff-clean.json", "ruff-syntax-error.json"])
def test_ruff_json_counts_match_the_raw_report(name: str) -> None:
    path = ARTIFACTS / "ruff-json" / name
    raw = _json(path)
    result = normalize(path)
    assert (result.kind, result.format, result.producer.tool) == ("lint", "ruff-json", "ruff")
    data = result.data
    codes = Counter(item["code"] or "invalid-syntax" for item in raw)
    assert data["total"] == len(raw)
    assert data["by_rule"] == dict(codes)
    assert data["files_with_findings"] == len({item["filename"] for item in raw})
    assert data["syntax_errors"] == codes.get("invalid-syntax", 0)
    assert data["fixable"] == sum(1 for item in raw if item["fix"] is not None)
    assert sorted((f["rule"], f["file"], f["line"], f["column"]) for f in data["findings"]) == sorted(
        (item["code"], item["filename"], item["location"]["row"], item["location"]["column"]) for item in raw)


def test_ruff_security_rules_are_not_security_findings() -> None:
    """Ruff's S rules (flake8-bandit) are lint: they must not reach the sast kind the security checks count."""
    raw = _json(ARTIFACTS / "ruff-json" / "ruff-findings.json")
    assert any(item["code"].startswith("S") for item in raw), "the fixture must hold an S rule"
    assert normalize(ARTIFACTS / "ruff-json" / "ruff-findings.json").kind == "lint"
    with pytest.raises(ReadyPolicyError, match="not a sast artifact"):
        normalize(ARTIFACTS / "ruff-json" / "ruff-findings.json", kind="sast")


def test_an_empty_list_is_not_latency_samples(tmp_path: Path) -> None:
    """ruff's clean `[]` used to be detected as latency samples and refused as 'no samples'."""
    assert normalize(ARTIFACTS / "ruff-json" / "ruff-clean.json").format == "ruff-json"
    anonymous = tmp_path / "report.json"
    anonymous.write_text("[]", encoding="utf-8")
    with pytest.raises(ReadyPolicyError, match="unrecognized artifact format"):
        normalize(anonymous)
    assert normalize(anonymous, fmt="ruff-json").data["total"] == 0


def test_radon_raw_totals_match_the_raw_report() -> None:
    path = ARTIFACTS / "radon-raw-json" / "raw.json"
    raw = _json(path)
    result = normalize(path)
    assert (result.kind, result.format, result.data["scope"]) == ("complexity", "radon-raw-json", "raw")
    measured = [entry for entry in raw.values() if "error" not in entry]
    assert result.data["blocks"] == len(measured)
    for key in ("loc", "lloc", "sloc", "comments", "multi", "blank", "single_comments"):
        assert result.data["raw"][key] == sum(entry[key] for entry in measured), key


def test_radon_raw_with_an_unparsed_file_counts_it_as_unmeasured(tmp_path: Path) -> None:
    raw = _json(ARTIFACTS / "radon-raw-json" / "raw.json")
    raw["rpsample/broken.py"] = {"error": "invalid syntax (<unknown>, line 1)"}
    path = tmp_path / "raw.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    data = normalize(path).data
    assert data["errors"] == 1 and data["blocks"] == len(raw) - 1


def _plain_table(path: Path) -> list[tuple[str, str, str]]:
    """(name, version, license) read by hand: columns start where the header words start."""
    lines = path.read_text(encoding="utf-8").splitlines()
    starts = [match.start() for match in re.finditer(r"\S+", lines[0])]
    rows = []
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows.append((cells[0], cells[1], cells[2]))
    return rows


@pytest.mark.parametrize("name", ["pip-licenses.txt", "pip-licenses-with-authors-urls.txt"])
def test_pip_licenses_plain_reads_values_with_spaces(name: str) -> None:
    """Licences like `BSD License` hold spaces; the plain table must agree with the JSON of the same environment."""
    path = ARTIFACTS / "pip-licenses-plain" / name
    result = normalize(path)
    assert (result.kind, result.format) == ("licenses", "pip-licenses-plain")
    items = [(i["name"], i["version"], i["license"]) for i in result.data["items"]]
    assert items == _plain_table(path)
    from_json = [(r["Name"], r["Version"], r["License"]) for r in _json(ARTIFACTS / "pip-licenses-json" / "pip-licenses.json")]
    assert sorted(items) == sorted(from_json)
    assert any(" " in license_name for _n, _v, license_name in items)


def test_pip_licenses_license_finder_json_is_read() -> None:
    path = ARTIFACTS / "pip-licenses-json" / "pip-licenses-license-finder.json"
    data = normalize(path).data
    assert [(i["name"], i["version"], i["license"]) for i in data["items"]] == [
        (r["name"], r["version"], "; ".join(r["licenses"])) for r in _json(path)]
    assert data["packages"] == len(_json(path))


def test_pip_licenses_plain_row_off_the_columns_is_refused(tmp_path: Path) -> None:
    """A table whose rows do not line up with the header would put licence text in the wrong column."""
    lines = (ARTIFACTS / "pip-licenses-plain" / "pip-licenses.txt").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "licenses.txt"
    path.write_text("\n".join([lines[0], "x" + lines[1].lstrip()]) + "\n", encoding="utf-8")
    with pytest.raises(ReadyPolicyError, match="columns"):
        normalize(path)


@pytest.mark.parametrize("name", ["mypy-errors.xml", "mypy-clean.xml", "mypy-errors-two-files.xml",
                                  "mypy-errors-per-file.xml"])
def test_mypy_error_and_file_counts_are_kept(name: str) -> None:
    """JUnit totals say '1 failed' however many type errors there are; the counts come from the failure text."""
    path = ARTIFACTS / "junit-xml" / name
    lines = [line for failure in ET.parse(path).getroot().iter("failure") for line in (failure.text or "").splitlines()]
    errors = [line.split(":", 1)[0] for line in lines if ": error: " in line]
    assert normalize(path).data["type_check"] == {"errors": len(errors), "files_with_errors": len(set(errors))}


def test_mypy_notes_are_not_errors() -> None:
    path = ARTIFACTS / "junit-xml" / "mypy-errors-two-files.xml"
    assert ": note: " in path.read_text(encoding="utf-8")
    assert normalize(path).data["type_check"]["errors"] == 3


PROMTOOL_CHECK = ARTIFACTS / "promtool-check"


@pytest.mark.parametrize("path", [ARTIFACTS / "promtool" / "check-rules.txt", PROMTOOL_CHECK / "check-rules-fail.txt",
                                  PROMTOOL_CHECK / "check-rules-two-files.txt"], ids=lambda p: p.name)
def test_promtool_check_rules_verdicts_match_the_raw_output(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    files = [line.removeprefix("Checking ") for line in lines if line.startswith("Checking ")]
    found = {files[sum(1 for x in lines[:i] if x.startswith("Checking ")) - 1]: int(line.split()[1])
             for i, line in enumerate(lines) if line.strip().startswith("SUCCESS:")}
    result = normalize(path)
    assert (result.kind, result.format, result.data["scope"]) == ("telemetry", "promtool-check", "rules-check")
    assert result.data["files"] == [{"file": f, "passed": f in found, "rules": found.get(f)} for f in files]
    assert result.data["passed"] is (len(found) == len(files))
    assert result.data["rules"] == sum(found.values())
    assert len(result.data["failures"]) == len(files) - len(found)


def test_promtool_check_rules_without_a_verdict_is_a_failure() -> None:
    """stdout alone holds `Checking F` but not the FAILED that went to stderr: never a pass."""
    path = PROMTOOL_CHECK / "check-rules-fail-stdout-only.txt"
    assert "FAILED" not in path.read_text(encoding="utf-8")
    with pytest.raises(ReadyPolicyError, match="unrecognized"):
        normalize(path)
    data = normalize(path, fmt="promtool-check").data
    assert data["passed"] is False and "no SUCCESS or FAILED verdict" in data["failures"][0]


@pytest.mark.parametrize("name", ["check-metrics-lint.txt", "check-metrics-extended.txt", "check-metrics-extended-lint.txt"])
def test_promtool_check_metrics_matches_the_raw_output(name: str) -> None:
    lines = [line for line in (PROMTOOL_CHECK / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    table = next((i for i, line in enumerate(lines) if line.startswith("Metric ")), len(lines))
    problems = [dict(zip(("metric", "problem"), line.split(" ", 1), strict=True)) for line in lines[:table]]
    rows = {line.split()[0]: int(line.split()[1]) for line in lines[table + 1:]}
    data = normalize(PROMTOOL_CHECK / name).data
    assert data["scope"] == "metrics-lint"
    assert data["problems"] == problems and data["problem_count"] == len(problems)
    assert data["passed"] is (not problems)
    assert data["series"] == rows.pop("Total", None)
    assert data["metric_cardinality"] == rows


def test_promtool_check_metrics_empty_output_is_not_a_pass() -> None:
    """A clean scrape prints nothing, and so does `check metrics > f` with problems on stderr."""
    path = PROMTOOL_CHECK / "check-metrics-clean.txt"
    assert path.read_bytes() == b""
    for options in ({}, {"fmt": "promtool-check"}, {"kind": "telemetry"}):
        with pytest.raises(ReadyPolicyError):
            normalize(path, **options)


def test_promtool_check_metrics_table_cut_short_is_refused(tmp_path: Path) -> None:
    lines = (PROMTOOL_CHECK / "check-metrics-extended.txt").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "cut.txt"
    path.write_text("\n".join(line for line in lines if not line.startswith("Total")) + "\n", encoding="utf-8")
    with pytest.raises(ReadyPolicyError, match="Total"):
        normalize(path)


MYPY_TEXT = ARTIFACTS / "mypy-text"


@pytest.mark.parametrize("name", ["mypy-errors.txt", "mypy-clean.txt", "mypy-errors-two-files.txt", "mypy-errors-pretty.txt"])
def test_mypy_console_counts_match_its_own_summary(name: str) -> None:
    """Errors, files with errors and files checked, as the summary line states them."""
    last = (MYPY_TEXT / name).read_text(encoding="utf-8").splitlines()[-1]
    numbers = [int(n) for n in re.findall(r"\d+", last)]
    errors, files, checked = numbers if last.startswith("Found") else (0, 0, numbers[0])
    result = normalize(MYPY_TEXT / name)
    assert (result.kind, result.format) == ("lint", "mypy-text")
    assert (result.data["total"], result.data["files_with_findings"], result.data["files_checked"]) == (errors, files, checked)


def test_mypy_pretty_output_reads_like_the_plain_one() -> None:
    plain = normalize(MYPY_TEXT / "mypy-errors-two-files.txt").data
    pretty = normalize(MYPY_TEXT / "mypy-errors-pretty.txt").data
    assert pretty["findings"] == plain["findings"] and pretty["by_rule"] == plain["by_rule"]


@pytest.mark.parametrize("cut", ["summary", "an error"])
def test_mypy_output_cut_short_is_refused(tmp_path: Path, cut: str) -> None:
    """A log cut before its summary, or missing an error the summary counts, would under-report errors."""
    lines = (MYPY_TEXT / "mypy-errors-two-files.txt").read_text(encoding="utf-8").splitlines()
    kept = lines[:-1] if cut == "summary" else lines[1:]
    path = tmp_path / "mypy.txt"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    with pytest.raises(ReadyPolicyError, match="summary"):
        normalize(path, fmt="mypy-text")


# --- 8. messages and verdicts that said false things --------------------------------------------------


def test_chaos_steady_state_probed_and_not_met_is_not_called_unprobed(tmp_path: Path) -> None:
    """End to end with OPA on the real journal: the hypothesis was probed before the method and failed."""
    journal = ARTIFACTS / "chaostoolkit-journal" / "not-met-before-method.json"
    raw = _json(journal)
    assert raw["steady_states"]["before"]["steady_state_met"] is False
    project = make_project(tmp_path)
    ingested = project.run("ingest", "--module", "payments", "--revision", "abc", str(journal))
    assert ingested.exit_code == 0, ingested.output
    record = project.eval_records("--module", "payments", "--revision", "abc", "--lane", "integration")[0]
    check = next(check for check in record["checks"] if check["id"] == "chaos.validation")
    assert check["status"] == "fail"
    assert "no steady-state hypothesis was probed" not in check["message"]
    assert "steady state before: not met / after: not probed" in check["message"]


def test_xenon_empty_output_is_not_a_pass_even_when_named() -> None:
    """xenon logs to stderr: `xenon ... > f` leaves an empty file however many thresholds failed."""
    empty = ARTIFACTS / "xenon" / "xenon-pass.txt"
    assert empty.read_bytes().strip() == b""
    for options in ({}, {"fmt": "xenon"}, {"kind": "complexity"}):
        with pytest.raises(ReadyPolicyError):
            normalize(empty, **options)


def test_xenon_whitespace_only_output_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "xenon.txt"
    path.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(ReadyPolicyError, match="empty"):
        normalize(path, fmt="xenon")
