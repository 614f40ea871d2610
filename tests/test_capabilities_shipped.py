"""The restricted capabilities shipped for the pinned OPA: the same list OPA would give, and still a wall.

A gate no longer spends an OPA process on `opa capabilities --current` when the binary is the pinned
version: it passes the list shipped inside the package. These tests regenerate that list from the real
OPA and compare, and attack it the way a policy author would: a policy calling the network, the clock or
chance must still be refused (exit 2, nothing stored), with the shipped list and with a version cache
edited so that the per-process derivation runs instead.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from readypolicy.engines import capabilities
from readypolicy.engines.opa_binary import OpaBinary
from support import OPA, REPO, coverage_json, make_project, require_opa, run_cli
from test_integrity_engine import MINI_REGO, _decisions, _one_error_line

FORBIDDEN_CALLS = {
    "http.send": 'leak := http.send({"method": "GET", "url": "http://127.0.0.1:9/"})\n',
    "time.now_ns": "clock := time.now_ns()\n",
    "rand.intn": 'dice := rand.intn("seed", 6)\n',
}


def _current() -> dict[str, Any]:
    done = subprocess.run([str(require_opa()), "capabilities", "--current"], capture_output=True, check=True)
    return json.loads(done.stdout)


def test_shipped_list_is_what_the_pinned_opa_gives_restricted() -> None:
    """Regenerate from the real OPA (the generator's own path) and compare byte for byte."""
    version = subprocess.run([str(require_opa()), "version"], capture_output=True, text=True, check=True).stdout
    assert f"Version: {capabilities.PINNED_OPA_VERSION}\n" in version
    install = (REPO / "scripts" / "install-opa").read_text(encoding="utf-8")
    assert f"OPA_VERSION:-v{capabilities.PINNED_OPA_VERSION}}}" in install
    full = _current()
    expected = dict(full, allow_net=[], builtins=[
        b for b in full["builtins"]
        if not b.get("nondeterministic") and b["name"] not in {"http.send", "opa.runtime", "time.now_ns", "uuid.rfc4122"}
        and not b["name"].startswith(("net.", "rand."))
    ])
    shipped = capabilities.SHIPPED.read_text(encoding="utf-8")
    assert json.loads(shipped) == expected
    assert shipped == json.dumps(expected, sort_keys=True, separators=(",", ":")) + "\n"


def test_shipped_list_names_no_nondeterministic_or_network_builtin() -> None:
    """An allowlist: nothing OPA flags nondeterministic, nothing networked, clocked or random is on it."""
    flagged = {b["name"] for b in _current()["builtins"] if b.get("nondeterministic")}
    assert {"http.send", "rand.intn"} <= flagged, "this OPA no longer flags builtins: the test proves nothing"
    shipped = json.loads(capabilities.SHIPPED.read_text(encoding="utf-8"))
    names = {b["name"] for b in shipped["builtins"]}
    assert names, "empty list"
    assert not names & flagged
    assert not {n for n in names if n in {"opa.runtime", "uuid.rfc4122"} or n.startswith(("net.", "rand.", "http."))}
    assert shipped["allow_net"] == []


def test_pinned_opa_uses_the_shipped_list_and_no_other_version_does(tmp_path: Path) -> None:
    """Version skew: only the pinned version gets the shipped list; any other derives its own per process."""
    pinned = OpaBinary(path=require_opa(), cache_dir=tmp_path / "a")
    assert pinned.version == capabilities.PINNED_OPA_VERSION
    assert pinned.capabilities_file == capabilities.SHIPPED
    assert capabilities.shipped_for("1.22.3") is None
    assert capabilities.shipped_for("1.21.1") is None
    assert capabilities.shipped_for("") is None


@pytest.mark.parametrize("builtin", sorted(FORBIDDEN_CALLS))
def test_network_clock_or_chance_in_a_policy_is_refused_with_the_shipped_list(tmp_path: Path, builtin: str) -> None:
    project = make_project(tmp_path)
    assert run_cli("ingest", coverage_json(tmp_path / "c.json", 95, 100), "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    rego = project / MINI_REGO
    rego.write_text(rego.read_text(encoding="utf-8") + "\n" + FORBIDDEN_CALLS[builtin], encoding="utf-8")
    line = _one_error_line(run_cli("eval", "-m", "svc", "-r", "r1", cwd=project))
    assert builtin in line, line
    assert _decisions(project) == []


def test_version_cache_claiming_another_opa_still_refuses_http_send(tmp_path: Path) -> None:
    """Edit the cached version so the shipped list is not used: the per-process derivation must still refuse."""
    project = make_project(tmp_path)
    assert run_cli("ingest", coverage_json(tmp_path / "c.json", 95, 100), "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    assert run_cli("eval", "-m", "svc", "-r", "r1", "--no-record", cwd=project).returncode == 0
    cache = project / ".readypolicy" / "cache" / "opa"
    [version_file] = cache.glob("opa-*-version")
    version_file.write_text("Version: 9.9.9\n", encoding="utf-8")
    skewed = OpaBinary(path=OPA, cache_dir=cache)
    assert skewed.version == "9.9.9"
    assert skewed.capabilities_file != capabilities.SHIPPED
    derived = json.loads(skewed.capabilities_file.read_text(encoding="utf-8"))
    assert derived == json.loads(capabilities.SHIPPED.read_text(encoding="utf-8"))
    rego = project / MINI_REGO
    rego.write_text(rego.read_text(encoding="utf-8") + "\n" + FORBIDDEN_CALLS["http.send"], encoding="utf-8")
    line = _one_error_line(run_cli("eval", "-m", "svc", "-r", "r1", cwd=project))
    assert "http.send" in line
    assert _decisions(project) == []
