#!/usr/bin/env bash
# Regenerate the demo evidence of the sample modules by running the real tools on their sources
# (evidence_samples/src/<module>): pytest + coverage.py, bandit, semgrep, osv-scanner, cyclonedx-py,
# import-linter, Chaos Toolkit, promtool, prometheus_client and real latency measurements.
# Hand-written inputs are only what people write in real life too: the lane manifest, the schema
# snapshots and the operations records (drills, shadow traffic, GDPR, DR, canary, load test).
# Outputs are committed; `make demo` only ingests them. Run from anywhere: evidence_samples/generate.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PY="${PYTHON:-python3.11}"
# shellcheck source=../tests/fixtures/tool-venvs.sh
source "$ROOT/tests/fixtures/tool-venvs.sh"
PROMTOOL="$ROOT/.tools/bin/promtool"
OSV="$ROOT/.tools/bin/osv-scanner"
[[ -x "$PROMTOOL" ]] || "$ROOT/scripts/install-go-tool" promtool github.com/prometheus/prometheus/cmd/promtool v0.316.0
[[ -x "$OSV" ]] || "$ROOT/scripts/install-go-tool" osv-scanner github.com/google/osv-scanner/v2/cmd/osv-scanner v2.3.5
# osv-scanner --offline needs a local database; build it from the real osv.dev records in its module.
osv_module=$(cd /tmp && go mod download -json github.com/google/osv-scanner/v2@v2.3.5 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
"$PY" "$HERE/tools/osv_offline_db.py" "$osv_module" /tmp/readypolicy-osv-db
T="$TOOLS/bin"

scenarios_for() {
  case "$1" in
    payments) echo "partial-failure timeout brownout clock-skew safety-crash network-partition memory-corruption high-load" ;;
    *) echo "partial-failure timeout brownout clock-skew" ;;
  esac
}

experiment() {  # experiment MODULE SCENARIO PROBE ACTION
  cat <<JSON
{
  "version": "1.0.0",
  "title": "$1 survives $2",
  "description": "Inject $2 and check the steady state holds before and after.",
  "tags": ["$2", "$1"],
  "steady-state-hypothesis": {
    "title": "$1 answers correctly",
    "probes": [{"type": "probe", "name": "answers", "tolerance": 0,
                "provider": {"type": "process", "path": "python3", "arguments": ["-c", "$3"]}}]
  },
  "method": [{"type": "action", "name": "inject-$2",
              "provider": {"type": "process", "path": "python3", "arguments": ["-c", "$4"]}}],
  "rollbacks": []
}
JSON
}

for module in payments ledger; do
  src="$HERE/src/$module"
  out="$HERE/$module"
  work="/tmp/readypolicy-samples/$module"
  rm -rf "$work" && mkdir -p "$work" && cp -r "$src/." "$work/"
  mkdir -p "$out"/{unit,smoke,integration,perf,chaos,telemetry}
  cd "$work"
  export PYTHONPATH="$work"

  # tests and coverage (unit coverage only: the protocol's floor is on unit-test coverage)
  "$T/coverage" run --branch -m pytest -q -p no:cacheprovider tests/unit --junit-xml="$out/unit/junit.xml" || true
  "$T/coverage" json -q -o "$out/coverage.json"
  "$T/pytest" -q -p no:cacheprovider tests/smoke --junit-xml="$out/smoke/junit.xml" || true
  "$T/pytest" -q -p no:cacheprovider tests/integration --junit-xml="$out/integration/junit.xml" || true

  # static analysis and dependencies
  "$T/bandit" -q -r "$module" -f json -o "$out/bandit.json" || true
  "$SEMGREP/bin/semgrep" --metrics off --quiet --config semgrep-rules.yml --json -o "$out/semgrep.json" "$module" || true
  OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY=/tmp/readypolicy-osv-db "$OSV" scan source --offline --all-packages \
    --format json --output-file "$out/osv-scanner.json" -L requirements.txt 2>/dev/null || true
  "$T/cyclonedx-py" requirements --sv 1.6 --pyproject pyproject.toml -o "$out/sbom.cdx.json" requirements.txt
  "$T/lint-imports" --no-cache > "$out/lint-imports.txt" || true

  # performance: real latencies of the module's operations
  "$T/python" "$HERE/tools/measure_latency.py" "$module" "$out/perf"

  # chaos experiments, one journal per scenario
  probe="import $module.core as c; print('ok')"
  for scenario in $(scenarios_for "$module"); do
    experiment "$module" "$scenario" "$probe" "import time; time.sleep(0.01); print('$scenario injected')" > "/tmp/exp-$module-$scenario.json"
    "$T/chaos" --log-file /dev/null run --journal-path "$out/chaos/$scenario.json" "/tmp/exp-$module-$scenario.json" >/dev/null
  done

  # telemetry: rule tests with promtool, the rule file itself, and a real exposition
  cp "$HERE/telemetry/rules.yml" "$HERE/telemetry/rules_test.yml" "$work/"
  sed -i "s/MODULE/$module/g" "$work/rules.yml" "$work/rules_test.yml"
  cp "$work/rules.yml" "$out/telemetry/rules.yml"
  "$PROMTOOL" test rules --junit="$out/telemetry/rule-tests.junit.xml" rules_test.yml > /dev/null 2>&1 || true
  "$T/python" "$HERE/tools/scrape_metrics.py" "$module" "$out/telemetry/metrics.prom"
  cd "$HERE"
done
echo "sample evidence regenerated under $HERE/<module>/"
