# Tests of perf checks against runs that failed and against microsecond-scale timings.
package readiness.checks_test

import rego.v1

failed_tick := object.union(good.evidence.perf[0], {
	"digest": "sha256:failedtick",
	"data": {"metrics": {"tick": object.union(good.evidence.perf[0].data.metrics.tick, {
		"ci95": {"statistic": "p95", "lower_ms": 1, "upper_ms": 2},
		"sample_size": 3, "exit_codes": [0, 1, 1], "failed_runs": 2,
	})}},
})

test_perf_failed_runs_fail_even_without_exit_codes if {
	bare := json.patch(failed_tick, [{"op": "remove", "path": "/data/metrics/tick/exit_codes"}])
	res("perf.baseline", "candidate", add_doc("perf", bare)).status == "fail"
}

test_perf_baseline_fails_on_failed_runs_even_in_the_faster_report if {
	r := res("perf.baseline", "candidate", add_doc("perf", failed_tick))
	r.status == "fail"
	r.message == "tick: 2 of 3 run(s) exited non-zero; timings of a failing command are not latencies"
}

test_perf_slo_fails_on_failed_runs if {
	r := res("perf.slo", "integration", add_doc("perf", failed_tick))
	r.status == "fail"
	r.message == "tick: 2 of 3 run(s) exited non-zero; timings of a failing command are not latencies"
}

test_perf_zero_failed_runs_pass if {
	ok := json.patch(failed_tick, [{"op": "add", "path": "/data/metrics/tick/failed_runs", "value": 0}])
	status("perf.slo", "integration", add_doc("perf", ok)) == "pass"
}

test_perf_slo_microsecond_message if {
	inp := json.patch(manifest_set("/slo/tick_p95_ms", 0.033), [{
		"op": "add", "path": "/evidence/perf/0/data/metrics/tick/ci95/upper_ms", "value": 0.0332,
	}])
	message("perf.slo", "integration", inp) == "tick: p95 CI95 upper bound 33.2 µs exceeds the 33.0 µs budget (manifest budget)"
}
