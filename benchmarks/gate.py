"""One gate side by side with conftest and bare OPA, and the pack's own cost inside OPA.

The subject is the payments module of `make demo` (evidence_samples/payments, ingested through the CLI as
the demo does), decided for the production lane. Three whole processes get the same staged bundle, the
same restricted capabilities and the same policy input:

  readypolicy  `readypolicy eval --module payments --lane production --no-record` (the console script);
  conftest     `conftest test input.json` with a wrapper rule in `package main` turning every failing or
               missing check of `decision.checks` into a deny message (conftest's own convention);
  opa          bare `opa eval` of the lane's decision query.

The input readypolicy builds is dumped to a file for the other two (its `now` differs by a second, which
changes nothing the pack computes here). Runs are interleaved, one of each per round, so a noisy
neighbour slows all three alike, and the median of each is compared.

`readypolicy eval` is measured twice: with PYTHONDONTWRITEBYTECODE=1 (as on these machines and many CI
runners, where Python reads existing .pyc files but never writes them: `make setup` byte-compiles the
package for that reason) and without it.

The pack's cost is `opa bench` of the same query on the same input: OPA's own time per decision once the
bundle is compiled, which no front end can remove.

Two floors are measured beside them, so a missed target can be told from a reachable one:

  front-end floor  a Python script that imports only click and PyYAML (what the CLI and its config cannot
                   go without) and then runs the same bare `opa eval` and reads its answer: the least any
                   click front end over the OPA binary costs, since `opa eval` reads its input before it
                   loads and compiles the bundle (nothing of OPA's compile can overlap Python's start);
  assembly floor   `opa bench` of the pack's own decision assembly (`lib.decide`) over a constant passing
                   result for every production check: what the decision's format costs in OPA before any
                   check has looked at evidence.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from readypolicy.config import load_config
from readypolicy.decision.inputs import build_input
from readypolicy.engines.opa_binary import opa_environment
from readypolicy.engines.opa_cli import RAW, READ_SPEED
from readypolicy.policy import stage
from readypolicy.runtime import Runtime

REPO = Path(__file__).resolve().parents[1]
MODULE = "payments"
LANE = "production"
CONFTEST = REPO / ".tools" / "bin" / "conftest"
WRAPPER = """package main

import rego.v1

deny contains msg if {
\tsome check in data.readiness.production.decision.checks
\tcheck.status in {"fail", "missing"}
\tmsg := sprintf("%s: %s", [check.id, check.message])
}
"""
"""conftest's side of the comparison: its deny convention over the very decision readypolicy reads."""
FRONT_END_FLOOR = """import json, subprocess, sys
import click, yaml  # what readypolicy's CLI and its config cannot go without
out = subprocess.run(json.loads(sys.argv[1]), capture_output=True, check=True).stdout
sys.exit(0 if json.loads(out)["allow"] else 1)
"""
"""The front-end floor: start Python, import click and PyYAML, run bare `opa eval`, exit on its verdict."""
ASSEMBLY_FLOOR = (f'x := data.readiness.lib.decide("{LANE}", {{id: {{"status": "pass", "message": "ok", "evidence": []}} '
                  f'| some id in data.readiness.lib.lane_checks("{LANE}")}})')
"""The pack's decision assembly alone: every check of the lane given the same constant passing result."""


@dataclass(frozen=True)
class GateTimes:
    """Median wall seconds of each whole process, measured in the same interleaved rounds."""

    readypolicy_nobytecode: float
    """`readypolicy eval` with PYTHONDONTWRITEBYTECODE=1."""
    readypolicy: float
    """`readypolicy eval` with bytecode writing allowed."""
    conftest: float | None
    """`conftest test`, None when conftest is not installed."""
    opa: float
    """Bare `opa eval`."""
    floor: float
    """The front-end floor (FRONT_END_FLOOR): Python, click and PyYAML, then bare `opa eval`."""
    rounds: int
    """How many times each command ran."""


class Gate:
    """A project holding the demo's payments evidence, and the three commands that decide it."""

    def __init__(self, work: Path) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.work = work
        self.config_path = work / "readypolicy.yaml"
        self.config_path.write_text(
            f"store: {work / 'gate.db'}\npolicies: {REPO / 'policies'}\ncache_dir: {work / 'cache'}\nactor: bench\n"
            f"opa: {REPO / '.tools' / 'bin' / 'opa'}\n",
            encoding="utf-8",
        )
        project = tomllib.loads((REPO / "evidence_samples" / "src" / MODULE / "pyproject.toml").read_text("utf-8"))
        self.revision = str(project["project"]["version"])
        cli = self.cli_prefix()
        contract = REPO / "evidence_samples" / MODULE / "module.lane.yaml"
        done = subprocess.run([*cli, "--config", str(self.config_path), "ingest", "--contract", str(contract),
                               "--revision", self.revision], capture_output=True, cwd=REPO, check=False)
        if done.returncode != 0:
            raise SystemExit(f"gate set-up: ingest failed: {done.stderr.decode()[-500:]}")
        self.rt = Runtime(load_config(self.config_path))
        policy = self.rt.policy()
        self.query = policy.query(LANE)
        self.bundle = stage.load(policy, self.rt.cache_dir).path
        self.opa = self.rt.opa()  # kept: its private capabilities file lives as long as this object
        self.capabilities = self.opa.capabilities_file
        records = self.rt.store.latest_evidence(MODULE, self.revision)
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        self.input_file = work / "payments-production-input.json"
        self.input_file.write_text(json.dumps(build_input(MODULE, self.revision, LANE, records, now, [])), "utf-8")
        self.wrapper = work / "wrapper"
        self.wrapper.mkdir(exist_ok=True)
        (self.wrapper / "gate.rego").write_text(WRAPPER, encoding="utf-8")

    @staticmethod
    def cli_prefix() -> list[str]:
        """The console script CI runs, else `python -m readypolicy`."""
        script = Path(sys.executable).with_name("readypolicy")
        return [str(script)] if script.is_file() else [sys.executable, "-m", "readypolicy"]

    def readypolicy_args(self) -> list[str]:
        return [*self.cli_prefix(), "--config", str(self.config_path), "eval", "--module", MODULE, "--lane", LANE,
                "--revision", self.revision, "--no-record"]

    def opa_args(self) -> list[str]:
        return [str(self.opa.path), "eval", *RAW, "--strict", "--strict-builtin-errors", READ_SPEED,
                "--capabilities", str(self.capabilities), "--bundle", str(self.bundle), "--input",
                str(self.input_file), self.query]

    def conftest_args(self) -> list[str]:
        # --data loads the bundle's data files under their directory path (data.readiness.config...).
        return [str(CONFTEST), "test", str(self.input_file), "--policy", str(self.wrapper), "--policy",
                str(self.bundle), "--data", str(self.bundle), "--capabilities", str(self.capabilities), "--strict",
                "--no-color"]

    def check_agreement(self) -> None:
        """All three must reach the same verdict on this input, or the comparison means nothing."""
        ours = subprocess.run(self.readypolicy_args(), capture_output=True, cwd=REPO, check=False)
        opa = subprocess.run(self.opa_args(), capture_output=True, check=True)
        allow = json.loads(opa.stdout)["allow"]
        verdicts = {"readypolicy": ours.returncode == 0, "opa": allow}
        if CONFTEST.is_file():
            verdicts["conftest"] = subprocess.run(self.conftest_args(), capture_output=True, check=False).returncode == 0
        if ours.returncode not in (0, 1) or len(set(verdicts.values())) != 1:
            raise SystemExit(f"gate set-up: the three disagree or failed: {verdicts}; {ours.stderr.decode()[-300:]}")

    def measure(self, rounds: int) -> GateTimes:
        env_plain = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env_nobytecode = {**env_plain, "PYTHONDONTWRITEBYTECODE": "1"}
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            "readypolicy": (self.readypolicy_args(), env_plain),
            "readypolicy_nobytecode": (self.readypolicy_args(), env_nobytecode),
            "opa": (self.opa_args(), {**env_plain, **opa_environment()}),  # OPA as readypolicy runs it (GOGC)
            "floor": ([sys.executable, "-c", FRONT_END_FLOOR, json.dumps(self.opa_args())],
                      {**env_nobytecode, **opa_environment()}),
        }
        if CONFTEST.is_file():
            commands["conftest"] = (self.conftest_args(), env_plain)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for warm in range(rounds + 1):
            for name, (args, env) in commands.items():
                start = time.perf_counter()
                done = subprocess.run(args, capture_output=True, env=env, cwd=REPO, check=False)
                elapsed = time.perf_counter() - start
                if done.returncode not in (0, 1):
                    raise SystemExit(f"gate: {name} failed: {done.stderr.decode()[-500:]}")
                if warm:  # round 0 warms the OS caches and writes .pyc files where allowed
                    samples[name].append(elapsed)
        medians = {name: statistics.median(values) for name, values in samples.items()}
        return GateTimes(medians["readypolicy_nobytecode"], medians["readypolicy"], medians.get("conftest"),
                         medians["opa"], medians["floor"], rounds)

    def pack_cost_ms(self, counts: int, query: str | None = None) -> float:
        """OPA's milliseconds per evaluation of `query` (the production decision by default) on this input.

        `opa bench`, best of `counts` runs.
        """
        args = [str(self.opa.path), "bench", "--format", "json", "--count", str(counts), READ_SPEED, "--bundle",
                str(self.bundle), "--input", str(self.input_file), query or self.query]
        done = subprocess.run(args, capture_output=True, text=True, check=False, env=opa_environment())
        if done.returncode != 0:
            raise SystemExit(f"opa bench failed: {done.stderr[-500:]}")
        return min(run["T"] / run["N"] for run in _json_stream(done.stdout)) / 1e6

    def close(self) -> None:
        self.rt.close()


def _json_stream(text: str) -> Sequence[dict[str, float]]:
    """`opa bench --count N --format json` prints N JSON documents one after the other."""
    decoder = json.JSONDecoder()
    out, at = [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(text, at)
        out.append(value)
    return out
