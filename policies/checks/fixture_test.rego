# Fixtures shared by the check tests: a configuration of their own (so the tests hold in every
# pack that reuses these checks, whatever its thresholds) and a production-ready input.
package readiness.checks_test

import rego.v1

# The thresholds these tests assume: the readiness pack's at the time of writing, plus
# health_endpoints_required, which only other packs use.
config := {
	"lane_order": ["candidate", "integration", "production"],
	"lanes": {
		"candidate": {
			"checks": [
				"manifest.present",
				"tests.unit",
				"coverage.line",
				"tests.smoke",
				"architecture.imports",
				"security.sast",
				"security.dependencies",
				"security.no_critical_vulns",
				"perf.baseline",
				"safety.default_on",
				"safety.mode",
				"safety.killswitch_drill",
				"chaos.basic",
				"telemetry.rule_tests",
				"telemetry.cardinality",
				"schema.compat",
				"docs.present",
			],
			"thresholds": {
				"health_endpoints_required": ["health", "live", "ready"],
				"tests_min": 1,
				"coverage_line_min": 70,
				"architecture_contracts_min": 1,
				"sast_severity_max": "medium",
				"sast_tools_required": [
					"bandit",
					"semgrep",
				],
				"dependency_severity_max": "medium",
				"dependency_skipped_max": 0,
				"vuln_severity_max": "high",
				"safety_mode_min": "advisory",
				"drill_age_days_max": 90,
				"chaos_scenarios_required": [
					"brownout",
					"clock-skew",
					"partial-failure",
					"timeout",
				],
				"telemetry_rule_tests_min": 1,
				"telemetry_label_values_max": 20,
				"schema_breaking_max": 0,
				"docs_required": [
					"flags",
					"public_api",
					"runbook",
				],
			},
		},
		"integration": {
			"checks": [
				"tests.integration",
				"perf.slo",
				"schema.evolution",
				"chaos.validation",
				"telemetry.contracts",
				"shadow.traffic",
			],
			"thresholds": {
				"coverage_line_min": 90,
				"sast_severity_max": "low",
				"dependency_severity_max": "low",
				"safety_mode_min": "strict",
				"schema_unrecorded_changes_max": 0,
				"shadow_hours_min": 12,
				"shadow_mismatch_rate_max": 0.01,
				"slo_p95_ms_max": 100,
				"tick_p95_ms_max": 100,
				"reflect_p95_ms_max": 10,
				"decide_p95_ms_max": 50,
			},
		},
		"production": {
			"checks": [
				"load.capacity",
				"chaos.matrix",
				"gdpr.evidence",
				"audit.logging",
				"dr.drill",
				"canary.simulation",
				"monitoring.alerting",
			],
			"thresholds": {
				"drill_age_days_max": 30,
				"load_multiplier_min": 2,
				"load_error_rate_max": 0.01,
				"chaos_matrix_required": [
					"high-load",
					"memory-corruption",
					"network-partition",
					"safety-crash",
					"timeout",
				],
				"fail_closed_ms_below": 250,
				"gdpr_erasure_ms_below": 500,
				"audit_retention_days_min": 365,
				"dr_rto_minutes_max": 60,
				"dr_rpo_minutes_max": 15,
				"canary_steps_min": 3,
				"canary_error_budget_burn_max": 0.5,
				"alerting_rules_min": 1,
			},
		},
	},
	"telemetry": {
		"builtin_labels": [
			"instance",
			"job",
			"le",
			"quantile",
		],
	},
	"checks": {},
}

# Every check of every lane passes on this input.
good := {
	"module": "payments",
	"revision": "4f2c9e1",
	"lane": "production",
	"now": "2026-11-20T15:30:00Z",
	"manifest": {
		"module": "payments",
		"owner": "team-payments",
		"current_lane": "integration",
		"target_lane": "production",
		"slo": {
			"tick_p95_ms": 100,
			"decide_p95_ms": 50,
		},
		"telemetry": {
			"allowed_labels": {
				"lane": [
					"candidate",
					"integration",
					"production",
				],
				"operation": [
					"tick",
					"decide",
				],
				"status": [
					"ok",
					"error",
				],
			},
		},
		"capacity": {
			"expected_rps": 200,
		},
		"thresholds": {},
		"docs": {
			"public_api": "docs/api.md",
			"flags": "docs/flags.md",
			"runbook": "docs/runbook.md",
		},
		"safety": {
			"control": "payments-guard",
			"enabled_by_default": true,
			"mode": "strict",
		},
		"waivers": [],
	},
	"evidence": {
		"architecture": [
			{
				"digest": "sha256:36b176bcc491457f9d0aa612379ec6593001cbc43d341e559d49c5211ef37683",
				"scope": "default",
				"format": "import-linter",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"tool": "import-linter",
					"contracts_kept": 3,
					"contracts_broken": 0,
					"broken": [],
					"kept": [
						"lanes are layered",
						"core is independent",
						"no upward imports",
					],
				},
			},
		],
		"chaos": [
			{
				"digest": "sha256:8d1b256522266b6d47f418d18548358a149ea1c1f8c2415a251183c5d1c9e4ec",
				"scope": "clock-skew",
				"format": "chaostoolkit-journal",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"title": "clock skew",
					"scenarios": [
						"clock-skew",
					],
					"status": "completed",
					"deviated": false,
					"steady_state_before": true,
					"steady_state_after": true,
					"passed": true,
					"duration_s": 12.5,
				},
			},
			{
				"digest": "sha256:ae5c77198b3c969ee4ebe4a000afaeedeca3bbadbaa1c26739df508485aa818c",
				"scope": "high-load",
				"format": "chaostoolkit-journal",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"title": "high load",
					"scenarios": [
						"high-load",
					],
					"status": "completed",
					"deviated": false,
					"steady_state_before": true,
					"steady_state_after": true,
					"passed": true,
					"duration_s": 12.5,
				},
			},
			{
				"digest": "sha256:2bdd70783b16fc52048bf9d423d7cf4ba275bb567d3d9f509fc5283bfe54c387",
				"scope": "memory-corruption",
				"format": "chaostoolkit-journal",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"title": "memory corruption",
					"scenarios": [
						"memory-corruption",
					],
					"status": "completed",
					"deviated": false,
					"steady_state_before": true,
					"steady_state_after": true,
					"passed": true,
					"duration_s": 12.5,
				},
			},
			{
				"digest": "sha256:24e1c18be9aec25d40b24df2e7f15d32cb5e69d6ec7a35a3861609c377aaa296",
				"scope": "network-partition",
				"format": "chaostoolkit-journal",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"title": "network partition",
					"scenarios": [
						"network-partition",
					],
					"status": "completed",
					"deviated": false,
					"steady_state_before": true,
					"steady_state_after": true,
					"passed": true,
					"duration_s": 12.5,
				},
			},
			{
				"digest": "sha256:3386be23f37d0c29dc977476750e4fa512ef3b905e050fc5b2387eaa9454a9fb",
				"scope": "partial-failure",
				"format": "chaostoolkit-journal",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"title": "partial failure",
					"scenarios": [
						"partial-failure",
					],
					"status": "completed",
					"deviated": false,
					"steady_state_before": true,
					"steady_state_after": true,
					"passed": true,
					"duration_s": 12.5,
				},
			},
			{
				"digest": "sha256:263eb88ec309139d8a96c5be6ec079ab2cd39e95022a4f177b2b703bc356b662",
				"scope": "safety-crash",
				"format": "chaostoolkit-journal",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"title": "safety control crash",
					"scenarios": [
						"safety-crash",
					],
					"status": "completed",
					"deviated": false,
					"steady_state_before": true,
					"steady_state_after": true,
					"passed": true,
					"duration_s": 12.5,
				},
			},
			{
				"digest": "sha256:5ba6ebca0374b84f1875f7582bf4a3eb334449e6e2e5abe8232fa11534cf6e81",
				"scope": "timeout",
				"format": "chaostoolkit-journal",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"title": "timeouts",
					"scenarios": [
						"timeout",
						"brownout",
					],
					"status": "completed",
					"deviated": false,
					"steady_state_before": true,
					"steady_state_after": true,
					"passed": true,
					"duration_s": 12.5,
				},
			},
		],
		"coverage": [
			{
				"digest": "sha256:cea69ba75290846c868ec08fc75e429c3f2c2d093ec22e55892ae3018688221d",
				"scope": "unit",
				"format": "coverage-py-json",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"line_percent": 93.5,
					"lines_covered": 935,
					"lines_total": 1000,
					"branch_percent": null,
					"branches_covered": null,
					"branches_total": null,
					"files": [],
				},
			},
		],
		"dependencies": [
			{
				"digest": "sha256:6cc4ca42bca0802a3a8d15e37766522402d25289a65efa4eb1196e6f0e2d3e25",
				"scope": "pip-audit",
				"format": "pip-audit-json",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"tool": "pip-audit",
					"audited": 42,
					"audited_complete": true,
					"skipped": [],
					"vulnerabilities": [],
					"counts": {
						"critical": 0,
						"high": 0,
						"medium": 0,
						"low": 0,
						"info": 0,
					},
					"total": 0,
				},
			},
		],
		"docs": [
			{
				"digest": "sha256:e8fc4bebd7520e4be20d6fe7192c0912ad8181c811dfa7d11b9cde4306256891",
				"scope": "default",
				"format": "docs-dir",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"files": [
						{
							"path": "api.md",
							"bytes": 2048,
							"sha256": "923f2a1adb38cee10b42249687afeb99381f08c15498248b26a61bf94ee23bf6",
						},
						{
							"path": "flags.md",
							"bytes": 512,
							"sha256": "e9fed86c4aca8e822575a9159f2823e054662351cf1764f950ab2436d7fbe5a5",
						},
						{
							"path": "runbook.md",
							"bytes": 4096,
							"sha256": "aceeac5f9d90c706382b75c5249948ff4c70a7e9c999d90c5aa56bca3eaf03e6",
						},
					],
				},
			},
		],
		"manifest": [
			{
				"digest": "sha256:2a5638578e0ca966e991a1fc1c79a931008f9a993fdde328e0fd881fcf19ff6e",
				"scope": "default",
				"format": "lane-manifest-yaml",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"module": "payments",
					"owner": "team-payments",
					"current_lane": "integration",
					"target_lane": "production",
					"slo": {
						"tick_p95_ms": 100,
						"decide_p95_ms": 50,
					},
					"telemetry": {
						"allowed_labels": {
							"lane": [
								"candidate",
								"integration",
								"production",
							],
							"operation": [
								"tick",
								"decide",
							],
							"status": [
								"ok",
								"error",
							],
						},
					},
					"capacity": {
						"expected_rps": 200,
					},
					"thresholds": {},
					"docs": {
						"public_api": "docs/api.md",
						"flags": "docs/flags.md",
						"runbook": "docs/runbook.md",
					},
					"safety": {
						"control": "payments-guard",
						"enabled_by_default": true,
						"mode": "strict",
					},
					"waivers": [],
				},
			},
		],
		"operations": [
			{
				"digest": "sha256:5d3a19780fe94b3bed808a358ab2bc9b8db4a01f4c4a93a3e962fbed848f2a2e",
				"scope": "audit-logging",
				"format": "readypolicy-operations",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"type": "audit-logging",
					"result": "passed",
					"performed_at": "2026-11-15T10:00:00Z",
					"details": {
						"enabled": true,
						"retention_days": 400,
					},
				},
			},
			{
				"digest": "sha256:f8407d1b49b9e8f49747ee5afd5760dade480968bdc386b204848918de957f33",
				"scope": "canary",
				"format": "readypolicy-operations",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"type": "canary",
					"result": "passed",
					"performed_at": "2026-11-15T10:00:00Z",
					"details": {
						"steps": 5,
						"error_budget_burn": 0.12,
						"rolled_back": false,
					},
				},
			},
			{
				"digest": "sha256:0670b7de873a8a6fb21fb91efb480ccd229c0f0ea77c90084fff71ea83c0b780",
				"scope": "dr-drill",
				"format": "readypolicy-operations",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"type": "dr-drill",
					"result": "passed",
					"performed_at": "2026-11-15T10:00:00Z",
					"details": {
						"rto_minutes": 35,
						"rpo_minutes": 5,
						"restore_verified": true,
					},
				},
			},
			{
				"digest": "sha256:0478efd8c9d8566f7196fb4c6007212c5bd4fce987b9df1414819ba0949fb9e4",
				"scope": "gdpr",
				"format": "readypolicy-operations",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"type": "gdpr",
					"result": "passed",
					"performed_at": "2026-11-15T10:00:00Z",
					"details": {
						"processing_registry": true,
						"consent": true,
						"erasure_latency_ms": 180,
						"data_minimization": true,
						"access_audit_trail": true,
						"cross_border_protection": true,
					},
				},
			},
			{
				"digest": "sha256:a4b126562c550d979499d0b12e8a3e478957acfa6947e35919132f4a6094f676",
				"scope": "killswitch-drill",
				"format": "readypolicy-operations",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"type": "killswitch-drill",
					"result": "passed",
					"performed_at": "2026-11-15T10:00:00Z",
					"details": {
						"safety_control": "payments-guard",
						"fail_closed_ms": 120,
					},
				},
			},
			{
				"digest": "sha256:2714f8d0a626fcb41454cb5f2a0f923828d47e74d582229e3638abcf00529827",
				"scope": "load-test",
				"format": "readypolicy-operations",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"type": "load-test",
					"result": "passed",
					"performed_at": "2026-11-15T10:00:00Z",
					"details": {
						"multiplier_of_expected": 2.5,
						"achieved_rps": 500,
						"p95_ms": 91,
						"error_rate": 0.001,
					},
				},
			},
			{
				"digest": "sha256:284f7e853dde740e4a7d10be0e6682f79d4b3829c2a028ab6f010ddc96e02151",
				"scope": "shadow-traffic",
				"format": "readypolicy-operations",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"type": "shadow-traffic",
					"result": "passed",
					"performed_at": "2026-11-15T10:00:00Z",
					"details": {
						"duration_hours": 26,
						"mismatch_rate": 0.002,
					},
				},
			},
		],
		"perf": [
			{
				"digest": "sha256:a9c8fd067f0596548a0d73f7767425a1587434fc23017219d04f2c9995df21bc",
				"scope": "default",
				"format": "readiness-perf-json",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"metrics": {
						"tick": {
							"sample_size": 10000,
							"p50_ms": 12.3,
							"p95_ms": 87.4,
							"p99_ms": 134.2,
							"ci95": {
								"statistic": "p95",
								"lower_ms": 85.1,
								"upper_ms": 89.7,
								"resamples": 2000,
								"seed": 7,
							},
							"load_multiplier": null,
							"throughput_rps": null,
						},
						"decide": {
							"sample_size": 4000,
							"p50_ms": 20.1,
							"p95_ms": 41.8,
							"p99_ms": 48.0,
							"ci95": {
								"statistic": "p95",
								"lower_ms": 40.2,
								"upper_ms": 43.5,
								"resamples": 2000,
								"seed": 7,
							},
							"load_multiplier": null,
							"throughput_rps": null,
						},
					},
				},
			},
		],
		"sast": [
			{
				"digest": "sha256:d37bde7dcb9910528f2f189d62d27148ed7e79a1edd1c3a87a7f8e4ba79a4763",
				"scope": "bandit",
				"format": "bandit-json",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"tool": "bandit",
					"findings": [],
					"counts": {
						"critical": 0,
						"high": 0,
						"medium": 0,
						"low": 0,
						"info": 0,
					},
					"total": 0,
					"scan_errors": 0,
				},
			},
			{
				"digest": "sha256:fa77cb4eb9285dcc8c75f97566a59b7d9d2ef0d5b7671a4d96fe07a128297fdc",
				"scope": "semgrep",
				"format": "semgrep-json",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"tool": "semgrep",
					"findings": [],
					"counts": {
						"critical": 0,
						"high": 0,
						"medium": 0,
						"low": 0,
						"info": 0,
					},
					"total": 0,
					"scan_errors": 0,
				},
			},
		],
		"schema": [
			{
				"digest": "sha256:6bc8b3caee48ede1e51d03c57b1bb2345cce14bf4c1fe8efa37181ba82b4e6e5",
				"scope": "decision",
				"format": "jsonschema-snapshot",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"snapshot_digest": "sha256:1c27324f013705cbf0c49f3d3bb103c7069ed5988889d426c10cfc25684f0a31",
					"current_digest": "sha256:1c27324f013705cbf0c49f3d3bb103c7069ed5988889d426c10cfc25684f0a31",
					"breaking": [],
					"compatible": [],
					"breaking_count": 0,
				},
			},
		],
		"telemetry": [
			{
				"digest": "sha256:49deb218ba00640e8c887acc37bf86c18dc82bdc2e7085be2448f2c394624f9a",
				"scope": "exposition",
				"format": "prometheus-exposition",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"source": "exposition",
					"series": 24,
					"metrics": 4,
					"label_values": {
						"lane": [
							"candidate",
							"integration",
						],
						"operation": [
							"decide",
							"tick",
						],
						"status": [
							"error",
							"ok",
						],
						"le": [
							"0.1",
							"1",
							"+Inf",
						],
					},
					"violations": [],
				},
			},
			{
				"digest": "sha256:ac2d77fec08f81c869e612babb558699257ded025656f7642cae46e90e580337",
				"scope": "rule-tests",
				"format": "promtool-test",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"source": "rule-tests",
					"passed": true,
					"tests": 6,
					"failures": [],
				},
			},
			{
				"digest": "sha256:7b4b384fe1f7318b4f513781c13340201b30caebccbf85fcc50ef00279b7b230",
				"scope": "rules",
				"format": "prometheus-rules",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"source": "rules",
					"groups": 2,
					"alerting_rules": 4,
					"recording_rules": 3,
					"alerts_without_runbook": [],
					"labels": [
						"severity",
					],
				},
			},
		],
		"tests": [
			{
				"digest": "sha256:b40bc1374968e42b4c82b30e0d3a706540545ed0062596098188b6f5834725ba",
				"scope": "integration",
				"format": "junit-xml",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"totals": {
						"tests": 40,
						"passed": 40,
						"failed": 0,
						"errors": 0,
						"skipped": 0,
						"xfailed": 0,
						"xpassed": 0,
					},
					"duration_s": 3.2,
					"suites": [],
					"failed_cases": [],
				},
			},
			{
				"digest": "sha256:a4aa7e3251d640a66a22cd8877227932c3981c2a8d6b86c461953e4aec55ba83",
				"scope": "smoke",
				"format": "junit-xml",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"totals": {
						"tests": 8,
						"passed": 8,
						"failed": 0,
						"errors": 0,
						"skipped": 0,
						"xfailed": 0,
						"xpassed": 0,
					},
					"duration_s": 3.2,
					"suites": [],
					"failed_cases": [],
				},
			},
			{
				"digest": "sha256:3fcb9fec680b1280760184e77341dc9149b7bf3eaced93158be3ff993da38d80",
				"scope": "unit",
				"format": "junit-xml",
				"producer": {
					"tool": "fixture",
					"version": "1",
				},
				"collected_at": "2026-11-20T12:00:00Z",
				"data": {
					"totals": {
						"tests": 412,
						"passed": 412,
						"failed": 0,
						"errors": 0,
						"skipped": 0,
						"xfailed": 0,
						"xpassed": 0,
					},
					"duration_s": 3.2,
					"suites": [],
					"failed_cases": [],
				},
			},
		],
	},
	"waivers": [],
}
