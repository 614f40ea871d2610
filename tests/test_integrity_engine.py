"""Verdict integrity at the engine: OPA's answer, determinism, exit codes, identifiers (issue 11, part D).

Every test is an attack on the gate run for real: the real CLI as a process, the real OPA binary,
a copy of the shipped readiness pack edited the way an attacker (or a bad merge) would edit it.
Each must end in exit 2 with one line on stderr, nothing stored and nothing signed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from policy_project import make_project as make_readiness_project
from readypolicy.canonical import rfc3339, utc_now
from readypolicy.decision.catalog import lane_rules, required_checks
from readypolicy.decision.record import check_decision
from readypolicy.engines.interface import EngineError
from readypolicy.policy.pack import load_pack, pack_dir
from readypolicy.signing.bundle import key_bundle
from readypolicy.signing.dsse import INTOTO_PAYLOAD_TYPE, make_envelope, pae
from readypolicy.signing.keys import key_hint, load_private_key
from readypolicy.store.open import open_store
from support import OPA, REPO, coverage_json, make_project, require_opa, run_cli

PASSWORD = {"READYPOLICY_KEY_PASSWORD": "integrity"}
PRODUCTION_REGO = Path("policies/production/production.rego")
MINI_REGO = Path("policies/packs/mini/candidate/candidate.rego")
SIGN_DIR = Path(".readypolicy/decisions")

TAMPERED_HEADER = "package readiness.production\n\nimport rego.v1\n\n"
TAMPERED_LANE_RULES = {
    # One passing check instead of the lane's thirty: "READY" on almost no evidence.
    "single_pass": 'decision := {"lane": "production", "allow": true, "checks": [{"id": "manifest.present", '
                   '"title": "Lane manifest present", "status": "pass", "severity": "critical", '
                   '"message": "ok", "evidence": []}]}\n',
    # Every failing or missing check relabelled `waived`, with no waiver anywhere.
    "waived_without_waiver": 'base := lib.lane_decision("production")\n\n'
                             'waive(c) := object.union(c, {"status": "waived"}) if c.status in {"fail", "missing"}\n\n'
                             "else := c\n\n"
                             'decision := {"lane": "production", "allow": true, "checks": [waive(c) | some c in base.checks]}\n',
    # All checks pass yet the decision denies: allow no longer follows the checks.
    "deny_all_passing": 'base := lib.lane_decision("production")\n\n'
                        'decision := {"lane": "production", "allow": false, '
                        '"checks": [object.union(c, {"status": "pass"}) | some c in base.checks]}\n',
    # A check the catalog does not know, added to an otherwise complete decision.
    "unknown_check": 'base := lib.lane_decision("production")\n\n'
                     'extra := {"id": "vibes.good", "title": "Vibes", "status": "pass", "severity": "low", '
                     '"message": "ok", "evidence": []}\n\n'
                     'decision := object.union(base, {"checks": array.concat(base.checks, [extra])})\n',
    # A copy-pasted lane rule: the candidate decision answered for production.
    "other_lane": 'decision := lib.lane_decision("candidate")\n',
    # A check the catalog never lets be waived, relabelled `waived` (a real waiver for it is in the input).
    "waived_unwaivable": 'base := lib.lane_decision("production")\n\n'
                         'waive(c) := object.union(c, {"status": "waived"}) if c.id == "gdpr.evidence"\n\n'
                         "else := c\n\n"
                         'checks := [waive(c) | some c in base.checks]\n\n'
                         'decision := {"lane": "production", "checks": checks, '
                         '"allow": count([c | some c in checks; c.status in {"fail", "missing"}]) == 0}\n',
    # A required check dropped from an otherwise honest decision.
    "dropped_check": 'base := lib.lane_decision("production")\n\n'
                     'decision := object.union(base, {"checks": [c | some c in base.checks; c.id != "gdpr.evidence"]})\n',
}


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    # The warning that waivers are honoured unverified (no waiver_approvers in these projects) is not the error.
    lines = [line for line in result.stderr.strip().splitlines() if "waiver_approvers is not configured" not in line]
    assert len(lines) == 1 and lines[0].startswith("readypolicy: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def _decisions(project: Path) -> list[object]:
    store = open_store(str(project / "store.db"))
    try:
        return list(store.list_decisions())
    finally:
        store.close()


def _tampered_readiness(tmp_path: Path, rule: str) -> Path:
    """The readiness pack (payments@abc ingested) with its production lane rule replaced."""
    root = make_readiness_project(tmp_path).root
    body = TAMPERED_LANE_RULES[rule]
    header = TAMPERED_HEADER + ("import data.readiness.lib\n\n" if "lib." in body else "")
    (root / PRODUCTION_REGO).write_text(header + body, encoding="utf-8")
    assert run_cli("keygen", "--prefix", "team", cwd=root, env=PASSWORD).returncode == 0
    return root


def _eval_and_sign(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "eval", "--lane", "production", "-m", "payments", "-r", "abc", "--sign", "--key", "team.key", *extra,
        cwd=root, env=PASSWORD,
    )


def _assert_refused_unrecorded(root: Path, result: subprocess.CompletedProcess[str], expected: str) -> None:
    line = _one_error_line(result)
    assert expected in line, line
    assert _decisions(root) == []
    assert not (root / SIGN_DIR).exists() or not any((root / SIGN_DIR).iterdir())


def test_honest_production_decision_is_accepted_and_complete(tmp_path: Path) -> None:
    """Control: the untampered pack decides (NOT READY here) and its record lists the whole catalog."""
    root = make_readiness_project(tmp_path).root
    result = run_cli("eval", "--lane", "production", "-m", "payments", "-r", "abc", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stderr
    record = json.loads(result.stdout)
    catalog = yaml.safe_load((root / "policies/config/data.yaml").read_text(encoding="utf-8"))["lanes"]
    required = [c for lane in ("candidate", "integration", "production") for c in catalog[lane]["checks"]]
    assert sorted(c["id"] for c in record["checks"]) == sorted(required)
    assert len(_decisions(root)) == 1


@pytest.mark.parametrize("pack", ["readiness", "enterprise", "priority"])
def test_every_shipped_pack_has_a_catalog_for_every_lane(pack: str) -> None:
    """A pack without a catalog gets no completeness check, so every shipped pack must carry one."""
    policy = load_pack(pack_dir(REPO / "policies", pack))
    for lane in policy.lanes:
        required = required_checks(policy, lane)
        assert required and len(set(required)) == len(required), (pack, lane)


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        ("single_pass", "lacks required check(s) tests.unit, coverage.line"),
        ("waived_without_waiver", "is waived, but no waiver in the input names that check"),
        ("deny_all_passing", "says deny while every check passes"),
        ("unknown_check", "holds check(s) vibes.good the catalog does not list"),
        ("other_lane", "answered for lane 'candidate', not 'production'"),
    ],
)
def test_tampered_lane_answer_is_refused(tmp_path: Path, tamper: str, why: str) -> None:
    """A lane rule rewritten to answer READY another way: one passing check, `waived` with no waiver, deny with
    every check passing, an invented check, another lane's decision. Each is refused, nothing recorded or signed."""
    root = _tampered_readiness(tmp_path, tamper)
    _assert_refused_unrecorded(root, _eval_and_sign(root), why)


def test_waived_with_a_waiver_for_another_lane_is_refused(tmp_path: Path) -> None:
    """A real, unexpired waiver for the same check and module but the candidate lane vouches for nothing here."""
    root = _tampered_readiness(tmp_path, "waived_without_waiver")
    expires = rfc3339(utc_now() + timedelta(days=5))  # within every lane's waiver lifetime
    (root / "waivers.yaml").write_text(
        f"- {{check: coverage.line, module: payments, lane: candidate, reason: r, approver: a, expires: '{expires}',"
        f" created: '{rfc3339(utc_now())}'}}\n",
        encoding="utf-8",
    )
    _assert_refused_unrecorded(root, _eval_and_sign(root), "is waived, but no waiver")


def test_waiving_a_check_the_catalog_never_lets_be_waived_is_refused(tmp_path: Path) -> None:
    """A lane rule (or edited library) that honours a waiver for gdpr.evidence, which the catalog marks unwaivable."""
    root = _tampered_readiness(tmp_path, "waived_unwaivable")
    created, expires = rfc3339(utc_now()), rfc3339(utc_now() + timedelta(days=5))
    (root / "waivers.yaml").write_text(
        f"- {{check: gdpr.evidence, module: payments, lane: production, reason: r, approver: a, expires: '{expires}',"
        f" created: '{created}'}}\n",
        encoding="utf-8",
    )
    _assert_refused_unrecorded(root, _eval_and_sign(root), "the pack's catalog does not let it be waived")


@pytest.mark.parametrize(
    ("created_days", "expires_days", "why"),
    [(-1, 30, "runs longer than production's 7-day lifetime"), (1, 3, "created after the evaluation time"),
     (-10, -1, "expired")],
)
def test_waived_check_needs_a_waiver_in_force_by_the_catalogs_own_numbers(
    created_days: int, expires_days: int, why: str,
) -> None:
    """Defence in depth: even if the library's lifetime rule were edited away, the decision is refused."""
    policy = load_pack(pack_dir(REPO / "policies", "readiness"))
    rules = lane_rules(policy, "production")
    now = utc_now()
    waiver = {"check": "coverage.line", "module": "payments", "lane": "production", "reason": "r", "approver": "a",
              "created": rfc3339(now + timedelta(days=created_days)), "expires": rfc3339(now + timedelta(days=expires_days))}
    policy_input = {"module": "payments", "lane": "production", "now": rfc3339(now), "waivers": [waiver]}
    checks = [{"id": i, "title": i, "status": "waived" if i == "coverage.line" else "pass", "severity": "high",
               "message": "m", "evidence": []} for i in rules.required or ()]
    result = {"lane": "production", "allow": True, "checks": checks}
    with pytest.raises(EngineError, match="is waived, but no waiver"):
        check_decision(result, "data.readiness.production.decision", policy_input, rules)
    waiver.update(created=rfc3339(now - timedelta(days=1)), expires=rfc3339(now + timedelta(days=5)))
    assert check_decision(result, "data.readiness.production.decision", policy_input, rules) is result, why


def test_dropped_required_check_is_refused_from_a_built_bundle(tmp_path: Path) -> None:
    """The catalog is read from the policy set, so a built bundle is held to it exactly as the tree is."""
    root = _tampered_readiness(tmp_path, "dropped_check")
    built = run_cli("policy", "build", cwd=root)
    assert built.returncode == 0, built.stderr
    [bundle] = (root / "bundles").glob("readiness-*.tar.gz")
    result = _eval_and_sign(root, "--bundle", str(bundle))
    _assert_refused_unrecorded(root, result, "lacks required check(s) gdpr.evidence")


@pytest.mark.parametrize(
    ("rule", "builtin"),
    [
        ('token := io.jwt.encode_sign({"alg": "HS256"}, {"sub": "x"}, {"kty": "oct", "k": "c2VjcmV0"})\n',
         "io.jwt.encode_sign"),
        ('valid := io.jwt.decode_verify("a.b.c", {"secret": "s"})\n', "io.jwt.decode_verify"),
    ],
)
def test_jwt_builtins_do_not_compile(tmp_path: Path, rule: str, builtin: str) -> None:
    """OPA flags these nondeterministic (decode_verify reads the wall clock): the same input could flip verdicts."""
    project = make_project(tmp_path)
    assert run_cli("ingest", coverage_json(tmp_path / "c.json", 95, 100), "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    rego = project / MINI_REGO
    rego.write_text(rego.read_text(encoding="utf-8") + "\n" + rule, encoding="utf-8")
    line = _one_error_line(run_cli("eval", "-m", "svc", "-r", "r1", cwd=project))
    assert builtin in line and "undefined function" in line, line
    assert _decisions(project) == []
    checked = run_cli("policy", "check", cwd=project)
    assert checked.returncode != 0 and builtin in checked.stdout + checked.stderr


def test_denied_builtins_follow_opas_nondeterministic_flag() -> None:
    """Every builtin this OPA marks nondeterministic is gone from the file policies compile against."""
    from readypolicy.engines.opa_binary import OpaBinary

    full = json.loads(subprocess.run([str(require_opa()), "capabilities", "--current"], capture_output=True,
                                     check=True).stdout)
    flagged = {b["name"] for b in full["builtins"] if b.get("nondeterministic")}
    assert {"io.jwt.encode_sign", "io.jwt.decode_verify", "http.send", "time.now_ns"} <= flagged
    opa = OpaBinary(path=OPA, cache_dir=Path("/nonexistent"))
    restricted = json.loads(opa.capabilities_file.read_text(encoding="utf-8"))
    kept = {b["name"] for b in restricted["builtins"]}
    assert not kept & flagged
    assert not {name for name in kept if name.startswith(("net.", "rand.", "http.", "opa.runtime"))}
    assert restricted["allow_net"] == []


def test_tampered_capabilities_cache_does_not_allow_http_send(tmp_path: Path) -> None:
    """Overwrite every capabilities file in the cache with OPA's full list: http.send must still not compile."""
    project = make_project(tmp_path)
    assert run_cli("ingest", coverage_json(tmp_path / "c.json", 95, 100), "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    assert run_cli("eval", "-m", "svc", "-r", "r1", "--no-record", cwd=project).returncode == 0
    cache = project / ".readypolicy" / "cache" / "opa"
    full = subprocess.run([str(OPA), "capabilities", "--current"], capture_output=True, check=True).stdout
    [version_file] = cache.glob("opa-*-version")
    key = version_file.name.removeprefix("opa-").removesuffix("-version")
    targets = {cache / f"opa-{key}-capabilities.json", cache / f"opa-{key}-capabilities.restricted.json",
               *cache.glob("*capabilit*")}
    for target in targets:
        target.write_bytes(full)
    rego = project / MINI_REGO
    rego.write_text(
        rego.read_text(encoding="utf-8") + '\nleak := http.send({"method": "GET", "url": "http://127.0.0.1:9/"})\n',
        encoding="utf-8",
    )
    line = _one_error_line(run_cli("eval", "-m", "svc", "-r", "r1", cwd=project))
    assert "http.send" in line
    assert _decisions(project) == []


def test_builtin_error_fails_the_evaluation(tmp_path: Path) -> None:
    """With --strict-builtin-errors a malformed timestamp is an error, not a rule that quietly goes undefined."""
    project = make_project(tmp_path)
    assert run_cli("ingest", coverage_json(tmp_path / "c.json", 95, 100), "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    rego = project / MINI_REGO
    text = rego.read_text(encoding="utf-8").replace(
        "coverage[0].data.line_percent > 70\n} else",
        'coverage[0].data.line_percent > 70\n\tnot time.parse_rfc3339_ns("not a time") == 0\n} else', 1,
    )
    rego.write_text(text, encoding="utf-8")
    line = _one_error_line(run_cli("eval", "-m", "svc", "-r", "r1", cwd=project))
    assert "time.parse_rfc3339_ns" in line, line
    assert _decisions(project) == []


@pytest.mark.parametrize(
    ("variable", "value", "setting"),
    [
        ("READYPOLICY_BATCH_SIZE", "0", "batch_size"),
        ("READYPOLICY_WORKERS", "0", "workers"),
        ("READYPOLICY_OPA_TIMEOUT_S", "nan", "opa_timeout_s"),
        ("READYPOLICY_OPA_TIMEOUT_S", "-1", "opa_timeout_s"),
        ("READYPOLICY_MAX_ARTIFACT_BYTES", "0", "max_artifact_bytes"),
        ("READYPOLICY_COVERAGE_FLOOR", "101", "coverage_floor"),
        ("READYPOLICY_LANES", "candidate,candidate", "lanes"),
        ("READYPOLICY_LANES", ",", "lanes"),
    ],
)
def test_batch_size_zero_is_exit_2_one_line(tmp_path: Path, variable: str, value: str, setting: str) -> None:
    """Out-of-range settings are refused when loaded, naming the setting, before anything runs."""
    project = make_project(tmp_path)
    assert run_cli("ingest", coverage_json(tmp_path / "c.json", 95, 100), "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    line = _one_error_line(run_cli("eval", "-m", "svc", "-r", "r1", cwd=project, env={variable: value}))
    assert f"setting '{setting}'" in line, line
    assert _decisions(project) == []


CRASHING_ENTRY = (
    "import sys\n"
    "import readypolicy.evaluate as evaluate\n"
    "def crash(*args, **kwargs):\n"
    "    raise KeyError('secret artifact bytes')\n"
    "evaluate._decide = crash  # what every batch, single or not, goes through\n"
    "from readypolicy.cli.main import main\n"
    "sys.argv[0] = 'readypolicy'\n"
    "main()\n"
)


def _run_crashing(project: Path, *args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
    """The real entry point in a real process, with one internal function made to raise (a bug stand-in)."""
    env = {"PYTHONPATH": str(REPO / "engine"), "PATH": "/usr/bin:/bin", "READYPOLICY_DEBUG": "1" if debug else "0"}
    return subprocess.run([sys.executable, "-c", CRASHING_ENTRY, *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_unexpected_exception_is_exit_2_not_1(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    assert run_cli("ingest", coverage_json(tmp_path / "c.json", 95, 100), "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    line = _one_error_line(_run_crashing(project, "eval", "-m", "svc", "-r", "r1"))
    assert "unexpected KeyError" in line and "READYPOLICY_DEBUG=1" in line
    assert "secret artifact bytes" not in line  # the message may quote untrusted input; only type and place
    assert _decisions(project) == []
    debug = _run_crashing(project, "eval", "-m", "svc", "-r", "r1", debug=True)
    assert debug.returncode == 2 and "Traceback" in debug.stderr and "crash" in debug.stderr


SLOW_DECISION = (
    "package mini.candidate\n\nimport rego.v1\n\n"
    "slow if {\n\tevery i in numbers.range(1, 4000) {\n\t\tevery j in numbers.range(1, 4000) {\n"
    "\t\t\ti + j > 0\n\t\t}\n\t}\n}\n\n"
    'decision := {"allow": true, "checks": [{"id": "x", "title": "x", "status": "pass", "severity": "low",'
    ' "message": "", "evidence": []}]} if slow\n'
)


def test_interrupted_eval_is_exit_2_not_1(tmp_path: Path) -> None:
    """Ctrl-C or a cancelled CI step mid-evaluation: click's "Aborted!" would exit 1, which reads as NOT READY."""
    project = make_project(tmp_path)
    assert run_cli("ingest", coverage_json(tmp_path / "c.json", 95, 100), "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    (project / MINI_REGO).write_text(SLOW_DECISION, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("READYPOLICY_", "COVERAGE_"))}
    env["PYTHONPATH"] = str(REPO / "engine")
    # The child gets SIGINT's default disposition whatever the suite was started with: a shell runs
    # background jobs with SIGINT ignored, Python then never installs its handler, and the signal
    # this test sends would be ignored by design, not by readypolicy.
    process = subprocess.Popen(
        [sys.executable, "-m", "readypolicy", "--opa-timeout", "10", "eval", "-m", "svc", "-r", "r1"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    result = subprocess.CompletedProcess(process.args, process.returncode, "", stderr)
    assert "interrupted" in _one_error_line(result)
    assert _decisions(project) == []


def test_click_exit_codes_are_untouched(tmp_path: Path) -> None:
    """The root handler leaves click's own endings alone: help is 0, a usage error 2, NOT READY 1."""
    project = make_project(tmp_path)
    assert run_cli("ingest", coverage_json(tmp_path / "c.json", 50, 100), "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    assert run_cli("--help", cwd=project).returncode == 0
    usage = run_cli("eval", "--no-such-option", cwd=project)
    assert usage.returncode == 2 and "No such option" in usage.stderr
    assert run_cli("eval", "-m", "svc", "-r", "r1", cwd=project).returncode == 1


def _signed_decision(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A decision file, its key pair (team.key / team.pub) in a fresh project."""
    project = make_project(tmp_path)
    assert run_cli("keygen", "--prefix", "team", cwd=project, env=PASSWORD).returncode == 0
    decision = project / "d.decision.json"
    decision.write_text(json.dumps({"schema": "x", "lane": "candidate", "allow": True}), encoding="utf-8")
    return project, decision, project / "team.key"


@pytest.mark.parametrize("signed", [True, False], ids=["validly-signed", "bad-signature"])
def test_deeply_nested_verify_payload_is_exit_2(tmp_path: Path, signed: bool) -> None:
    """A DSSE payload of 100000 nested arrays: refused by the nesting limit, not a RecursionError traceback."""
    project, decision, key_path = _signed_decision(tmp_path)
    payload = b"[" * 100_000 + b"]" * 100_000
    key = load_private_key(key_path, PASSWORD["READYPOLICY_KEY_PASSWORD"].encode())
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    signature = key.sign(pae(INTOTO_PAYLOAD_TYPE, payload if signed else b"other"), ec.ECDSA(hashes.SHA256()))
    bundle = key_bundle(make_envelope(payload, signature), key_hint(key.public_key()))
    bundle_path = project / "d.decision.sigstore.json"
    bundle_path.write_text(json.dumps(bundle), encoding="utf-8")
    line = _one_error_line(run_cli("verify", decision, "--key", "team.pub", cwd=project))
    assert "nesting deeper than" in line or "altered" in line, line


def test_deeply_nested_decision_file_is_exit_2(tmp_path: Path) -> None:
    project, decision, _ = _signed_decision(tmp_path)
    decision.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert run_cli("sign", decision, "--key", "team.key", cwd=project, env=PASSWORD).returncode == 2
    line = _one_error_line(run_cli("verify", decision, "--key", "team.pub", cwd=project))
    assert "nesting deeper than" in line


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--module", "payments\n"),
        ("--module", "payments\nREADY"),
        ("--scope", "unit\n"),
        ("--module", "payments "),
        ("--module", "pay\u202ements"),
        ("--revision", "abc\r"),
        ("--revision", "abc\tdef"),
        ("--scope", "unit\x1b[32m"),
    ],
)
def test_module_with_newline_is_refused(tmp_path: Path, option: str, value: str) -> None:
    """A forged output line or a look-alike module never reaches the store."""
    project = make_project(tmp_path)
    base = {"--module": ["-r", "r1"], "--revision": ["-m", "svc"], "--scope": ["-m", "svc", "-r", "r1"]}[option]
    result = run_cli("ingest", coverage_json(tmp_path / "c.json", 95, 100), *base, option, value, cwd=project)
    line = _one_error_line(result)
    assert option.removeprefix("--") in line and repr(value) in line, line
    assert "\n" not in line and "\r" not in line
    if (project / "store.db").exists():
        store = open_store(str(project / "store.db"))
        assert store.modules() == []
        store.close()


def test_manifest_naming_a_module_with_a_newline_is_refused(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    manifest = (REPO / "evidence_samples" / "payments" / "module.lane.yaml").read_text(encoding="utf-8")
    assert manifest.startswith("module: payments\n") or "\nmodule: payments\n" in manifest
    forged = tmp_path / "module.lane.yaml"
    # A trailing newline: Python's `$` would let it through the manifest pattern; the compiled
    # validator applies JSON Schema's own `$` (the very end), and the identifier check behind it
    # refuses control characters too. Either way: one line naming the file, nothing stored.
    forged.write_text(manifest.replace("module: payments\n", 'module: "payments\\n"\n', 1), encoding="utf-8")
    line = _one_error_line(run_cli("ingest", forged, "-r", "r1", cwd=project))
    assert str(forged) in line, line
    assert "at module: does not satisfy the schema's pattern" in line, line
    if (project / "store.db").exists():
        store = open_store(str(project / "store.db"))
        assert store.modules() == []
        store.close()


@pytest.mark.parametrize(("option", "value"), [("-m", "svc\n"), ("-r", "r1\n")])
def test_eval_of_a_module_with_a_newline_is_refused(tmp_path: Path, option: str, value: str) -> None:
    project = make_project(tmp_path)
    assert run_cli("ingest", coverage_json(tmp_path / "c.json", 95, 100), "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    args = {"-m": ["-m", value, "-r", "r1"], "-r": ["-m", "svc", "-r", value]}[option]
    line = _one_error_line(run_cli("eval", *args, cwd=project))
    assert repr(value) in line
    assert _decisions(project) == []


def test_waiver_naming_a_module_with_a_newline_is_ignored(tmp_path: Path) -> None:
    """A waiver's module and lane go through the same validator: a malformed one is dropped, with a warning."""
    project = make_project(tmp_path)
    assert run_cli("ingest", coverage_json(tmp_path / "c.json", 50, 100), "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    expires = rfc3339(utc_now().replace(year=utc_now().year + 1))
    (project / "waivers.yaml").write_text(
        f'- {{check: coverage.line, module: "svc\\n", lane: candidate, reason: r, approver: a, expires: "{expires}",'
        f' created: "{rfc3339(utc_now())}"}}\n',
        encoding="utf-8",
    )
    result = run_cli("eval", "-m", "svc", "-r", "r1", cwd=project)
    assert result.returncode == 1, result.stderr
    assert "'svc\\n'" in result.stderr and "ignored" in result.stderr
