# Performance checks
# A baseline needs p50/p95/p99 and a CI95 for every metric. SLO compliance is judged on the
#   CI95 upper bound of p95, so a lucky sample cannot pass a budget its true p95 may exceed.
#   An SLO key <op>_p95_ms in the manifest is matched with the perf metric named <op>; the
#   policy's lane ceiling caps the budget the manifest claims.
# A check's `result` is one line, its body only the id equality OPA indexes, calling a rule or
#   function named after the check; never an else under it (see lib.lane_decision).
package readiness.checks

import data.readiness.lib
import rego.v1

perf_entries := [{"name": name, "metric": m, "digest": d.digest} |
	some d in lib.docs("perf")
	some name, m in d.data.metrics
]

# When two reports measure the same operation, the slower one speaks for it.
perf_metrics[name] := perf_entries[i] if {
	some name in {e.name | some e in perf_entries}
	ranked := sort([[judged_ms(e.metric), j] | some j, e in perf_entries; e.name == name])
	i := ranked[count(ranked) - 1][1]
}

judged_ms(m) := m.ci95.upper_ms if {
	m.ci95 != null
} else := m.p95_ms

perf_digests := sort({e.digest | some e in perf_entries})

# hyperfine -i keeps timing a command that exits non-zero: those times are not latencies of the
#   operation, so any failed run fails the operation (in every report, not only the slowest).
failed_runs contains [e.name, msg] if {
	some e in perf_entries
	e.metric.failed_runs > 0
	msg := sprintf("%s: %v of %v run(s) exited non-zero; timings of a failing command are not latencies", [e.name, e.metric.failed_runs, object.get(e.metric, "sample_size", null)])
}

# METADATA
# title: Performance baseline with p50/p95/p99 and CI95
# description: >-
#   Every perf metric has p50/p95/p99 and a CI95 of p95, and no benchmark run exited non-zero.
# custom:
#   id: perf.baseline
#   severity: medium
#   remediation: >-
#     Ingest latency samples or a perf report with p50/p95/p99 and a bootstrap CI95 of p95.
result(id, _) := perf_baseline if id == "perf.baseline"

perf_baseline := lib.verdict(baseline_problems, baseline_summary, perf_digests) if {
	count(perf_entries) > 0
} else := lib.missing("perf")

# Every failed run first; only without any, the metrics that have no CI95 to judge p95 on.
default baseline_problems := set()

baseline_problems := {msg | some [_, msg] in failed_runs} if {
	count(failed_runs) > 0
} else := {sprintf("metric(s) without a CI95 of p95: %s", [concat(", ", sort(no_ci))])} if {
	no_ci := {name | some name, x in perf_metrics; x.metric.ci95 == null}
	count(no_ci) > 0
}

baseline_summary := concat("; ", [sprintf("%s p50 %s / p95 %s / p99 %s, p95 CI95 [%s, %s]", [
	name, lib.duration_ms(m.p50_ms), lib.duration_ms(m.p95_ms), lib.duration_ms(m.p99_ms),
	lib.duration_ms(m.ci95.lower_ms), lib.duration_ms(m.ci95.upper_ms),
]) |
	some name in sort(object.keys(perf_metrics))
	m := perf_metrics[name].metric
])

# SLO budgets. The manifest's `slo: {<op>_p95_ms: N}` is the module's claim; the lane's ceiling
#   in policy data (threshold <op>_p95_ms_max, else the general slo_p95_ms_max) bounds it. The
#   budget judged is the lower of the two, so nothing in evidence can raise a bound, and an
#   operation the policy sets a ceiling of its own for is judged even when the manifest omits it.
slo_claims[op] := budget if {
	some key, budget in manifest_slo
	endswith(key, "_p95_ms")
	op := trim_suffix(key, "_p95_ms")
}

default manifest_slo := {}

manifest_slo := input.manifest.slo if is_object(input.manifest.slo)

# A claim the policy can use: a positive number of milliseconds.
valid_claim(op) := b if {
	b := slo_claims[op]
	is_number(b)
	b > 0
}

ceiling_name(op) := sprintf("%s_p95_ms_max", [op])

# Operations judged in a lane: every one the manifest budgets, and every measured one the lane
# sets a ceiling of its own for.
slo_ops(lane) := object.keys(slo_claims) | {op |
	some op, _ in perf_metrics
	lib.threshold(lane, ceiling_name(op))
}

# [name, ms] of the lane's ceiling for an operation: its own, else the general one.
slo_ceiling(lane, op) := [name, lib.threshold(lane, name)] if {
	name := ceiling_name(op)
	lib.threshold(lane, name)
} else := ["slo_p95_ms_max", lib.threshold(lane, "slo_p95_ms_max")]

# [ms, which budget applied] for an operation in a lane: the lower of claim and ceiling.
slo_budget(lane, op) := [claim, "manifest budget"] if {
	claim := valid_claim(op)
	ceiling := slo_ceiling(lane, op)
	claim <= ceiling[1]
} else := [c[1], sprintf("lane maximum %s; the manifest claims %v ms", [c[0], valid_claim(op)])] if {
	c := slo_ceiling(lane, op)
	valid_claim(op)
} else := [c[1], sprintf("lane maximum %s; the manifest sets no budget", [c[0]])] if {
	c := slo_ceiling(lane, op)
}

# A manifest without any budget is the one problem; otherwise every budget's.
perf_slo_problems(lane) := {"the manifest declares no <op>_p95_ms SLO budget"} if {
	count(slo_claims) == 0
} else := slo_problems(lane)

slo_problems(lane) := union({
	{sprintf("%s: no perf metric named %q", [op, op]) |
		some op in slo_ops(lane)
		not perf_metrics[op]
	},
	{sprintf("%s: no CI95 to judge p95 on", [op]) |
		some op in slo_ops(lane)
		perf_metrics[op].metric.ci95 == null
	},
	{sprintf("%s: p95 CI95 upper bound %s exceeds the %s budget (%s)", [op, shown[0], shown[1], budget[1]]) |
		some op in slo_ops(lane)
		budget := slo_budget(lane, op)
		upper_ms := perf_metrics[op].metric.ci95.upper_ms
		upper_ms > budget[0]
		shown := lib.durations_ms(upper_ms, budget[0])
	},
	{msg |
		some op in slo_ops(lane)
		some [name, msg] in failed_runs
		name == op
	},
	{sprintf("%s: the manifest budget %v is not a positive number of ms", [op, b]) |
		some op, b in slo_claims
		not valid_claim(op)
	},
	{sprintf("%s: this lane's policy sets no SLO ceiling (%s or slo_p95_ms_max)", [op, ceiling_name(op)]) |
		some op in slo_ops(lane)
		not slo_ceiling(lane, op)
	},
})

# METADATA
# title: p95 within the SLO budget (judged on the CI95 upper bound)
# description: >-
#   Each budgeted operation's p95 CI95 upper bound is within the lower of the manifest's budget and
#   the lane's ceiling.
# custom:
#   id: perf.slo
#   severity: high
#   remediation: >-
#     Bring the p95 CI95 upper bound under each SLO budget (the manifest's, capped by the lane's
#     ceiling in policy data).
result(id, lane) := perf_slo(lane) if id == "perf.slo"

perf_slo(lane) := lib.missing("manifest") if {
	not lib.has_manifest
} else := lib.missing("perf") if {
	count(perf_entries) == 0
} else := lib.verdict(
	perf_slo_problems(lane),
	concat("; ", sort([sprintf("%s p95 CI95 upper %s <= %s (%s)", [op, shown[0], shown[1], budget[1]]) |
		some op in slo_ops(lane)
		budget := slo_budget(lane, op)
		shown := lib.durations_ms(perf_metrics[op].metric.ci95.upper_ms, budget[0])
	])),
	perf_digests,
)
