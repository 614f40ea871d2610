# Performance checks
# A baseline needs p50/p95/p99 and a CI95 for every metric. SLO compliance is judged on the
#   CI95 upper bound of p95, so a lucky sample cannot pass a budget its true p95 may exceed.
#   An SLO key <op>_p95_ms in the manifest is matched with the perf metric named <op>.
package readiness.checks

import data.readiness.lib
import rego.v1

perf_entries := [{"name": name, "metric": m, "digest": d.digest} |
	some d in lib.docs("perf")
	some name, m in d.data.metrics
]

# When two reports measure the same operation, the slower one speaks for it.
perf_metrics := {name: perf_entries[i] |
	some name in {e.name | some e in perf_entries}
	ranked := sort([[judged_ms(e.metric), j] | some j, e in perf_entries; e.name == name])
	i := ranked[count(ranked) - 1][1]
}

judged_ms(m) := m.ci95.upper_ms if {
	m.ci95 != null
} else := m.p95_ms

perf_digests := sort({e.digest | some e in perf_entries})

result("perf.baseline", _) := baseline_verdict if {
	count(perf_entries) > 0
} else := lib.missing("perf")

baseline_verdict := lib.fail(
	sprintf("metric(s) without a CI95 of p95: %s", [concat(", ", sort(no_ci))]),
	perf_digests,
) if {
	no_ci := {name | some name, x in perf_metrics; x.metric.ci95 == null}
	count(no_ci) > 0
} else := lib.pass(
	concat("; ", [sprintf("%s p50 %s / p95 %s / p99 %s ms, p95 CI95 [%s, %s]", [
		name, lib.one_decimal(m.p50_ms), lib.one_decimal(m.p95_ms), lib.one_decimal(m.p99_ms),
		lib.one_decimal(m.ci95.lower_ms), lib.one_decimal(m.ci95.upper_ms),
	]) |
		some name in sort(object.keys(perf_metrics))
		m := perf_metrics[name].metric
	]),
	perf_digests,
)

slo_budgets := {op: budget |
	some key, budget in object.get(object.get(input, "manifest", {}), "slo", {})
	endswith(key, "_p95_ms")
	op := trim_suffix(key, "_p95_ms")
}

slo_problems contains sprintf("%s: no perf metric named %q", [op, op]) if {
	some op, _ in slo_budgets
	not perf_metrics[op]
}

slo_problems contains sprintf("%s: no CI95 to judge p95 on", [op]) if {
	some op, _ in slo_budgets
	perf_metrics[op].metric.ci95 == null
}

slo_problems contains sprintf("%s: p95 CI95 upper bound %s ms exceeds the %v ms budget", [op, lib.one_decimal(upper), budget]) if {
	some op, budget in slo_budgets
	upper := perf_metrics[op].metric.ci95.upper_ms
	upper > budget
}

result("perf.slo", _) := lib.missing("manifest") if {
	not lib.has_manifest
} else := lib.missing("perf") if {
	count(perf_entries) == 0
} else := lib.fail("the manifest declares no <op>_p95_ms SLO budget", []) if {
	count(slo_budgets) == 0
} else := lib.verdict(
	slo_problems,
	concat("; ", sort([sprintf("%s p95 CI95 upper %s ms <= %v ms", [op, lib.one_decimal(perf_metrics[op].metric.ci95.upper_ms), b]) |
		some op, b in slo_budgets
	])),
	perf_digests,
)
