"""readypolicy benchmarks: single-module latency, fleet throughput, ingest rate and peak memory.

Each figure is measured next to its baseline in the same run, on the same data, and printed as a
ratio with its target:

  gate     `readypolicy eval` of the demo's payments module for production (a subprocess, as CI runs it)
           vs `conftest test` and bare `opa eval` on the very input readypolicy builds, same bundle and
           capabilities (benchmarks/gate.py), with and without PYTHONDONTWRITEBYTECODE;
  pack     OPA's own time per production decision on that input (`opa bench`);
  floors   what no change to readypolicy's own code can go below (benchmarks/gate.py): a click and PyYAML
           front end that then runs bare `opa eval`, and the pack's decision assembly over constant results;
  fleet    library `evaluate()` of N modules (batched) vs a loop of one `opa eval` per module, and
           vs one bare `opa eval` over all N inputs with the same batch query; its floor is the CPU the
           fleet used (Python and OPA) divided by the cores, the wall time if no core ever waited;
  ingest   artifacts/s through the library `ingest()` (normalize, validate, store, audit) into
           SQLite and a throwaway PostgreSQL;
  memory   peak RSS (VmHWM) of a child process deciding the largest fleet on 3 lanes, through the
           CLI (`eval --all`) and through the library;
  opa      one OPA batch process as a fleet runs it (batch_size candidate decisions): CPU and peak RSS
           with readypolicy's collector settings (engines/opa_binary.py) vs the previous GOGC=200.

Usage: python benchmarks/run.py [--sizes 100,1000,10000] [--quick]
Not a test: nothing here asserts; missed targets are printed as MISSED.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "engine"))

from gate import ASSEMBLY_FLOOR, Gate  # noqa: E402
from synthetic_fleet import LANES, module_name, populate, write_module  # noqa: E402

from readypolicy.config import load_config  # noqa: E402
from readypolicy.decision.inputs import build_input  # noqa: E402
from readypolicy.engines.opa_binary import COLLECTOR_DEFAULTS, opa_environment  # noqa: E402
from readypolicy.engines.opa_cli import RAW, READ_SPEED, batch_query  # noqa: E402
from readypolicy.evaluate import Subject, evaluate  # noqa: E402
from readypolicy.evidence.ingest import IngestOptions, ingest  # noqa: E402
from readypolicy.policy import stage  # noqa: E402
from readypolicy.runtime import Runtime  # noqa: E402
from readypolicy.store.interface import Store  # noqa: E402
from readypolicy.store.open import open_store  # noqa: E402

NOW = "2026-11-25T12:00:00.000000Z"


@dataclass(frozen=True)
class Result:
    """One comparison."""

    name: str
    """What was measured."""
    ours: float
    """readypolicy's figure."""
    baseline: float
    """The baseline's figure, same unit."""
    unit: str
    """Unit of both figures."""
    target: str
    """The goal, e.g. `<= 1.5x`."""
    met: bool | None
    """Whether the target is met (None: informational)."""
    note: str = ""
    """How the baseline was obtained, when not directly."""
    speedup: bool = False
    """Print baseline/ours (how many times faster) instead of ours/baseline (overhead)."""

    def line(self) -> str:
        ratio = (self.baseline / self.ours if self.speedup else self.ours / self.baseline) if self.ours else float("nan")
        verdict = "" if self.met is None else ("ok" if self.met else "MISSED")
        note = f"  ({self.note})" if self.note else ""
        return (f"{self.name:<44} {self.ours:>10.3f} {self.unit:<6} vs {self.baseline:>10.3f} {self.unit:<6} "
                f"ratio {ratio:>7.2f}x  target {self.target:<8} {verdict}{note}")


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median_time(action: Callable[[], object], repeat: int) -> float:
    return statistics.median(timed(action) for _ in range(repeat))


class Bench:
    """Shared set-up: a project config, a store with the largest fleet, the staged policy."""

    def __init__(self, work: Path, modules: int) -> None:
        self.work = work
        self.store_path = work / "fleet.db"
        self.config_path = work / "readypolicy.yaml"
        self.config_path.write_text(
            f"store: {self.store_path}\npolicies: {REPO / 'policies'}\ncache_dir: {work / 'cache'}\nactor: bench\n"
            f"opa: {REPO / '.tools' / 'bin' / 'opa'}\n",
            encoding="utf-8",
        )
        self.rt = Runtime(load_config(self.config_path))
        self.opa = self.rt.opa()
        self.policy = self.rt.policy()
        self.loaded = stage.load(self.policy, self.rt.cache_dir)
        store = open_store(str(self.store_path))
        seconds = timed(lambda: populate(store, modules))
        store.close()
        print(f"set-up: {modules} synthetic modules stored in {seconds:.1f}s")
        self.store: Store = self.rt.store
        self.subjects = [Subject(module_name(i), "r1") for i in range(modules)]

    def opa_args(self, query: str, input_file: Path) -> list[str]:
        return [str(self.opa.path), "eval", *RAW, "--strict", READ_SPEED, "--capabilities",
                str(self.opa.capabilities_file), "--bundle", str(self.loaded.path), "--input", str(input_file), query]

    def opa_eval(self, query: str, input_file: Path) -> None:
        # OPA as readypolicy runs it (its collector settings, see engines/opa_binary.py), so the baseline is
        # OPA's own limit.
        done = subprocess.run(self.opa_args(query, input_file), capture_output=True, check=False, env=opa_environment())
        if done.returncode != 0:
            raise SystemExit(f"bare opa eval failed: {done.stderr.decode()[:500]}")

    def inputs(self, subjects: list[Subject], lane: str) -> list[dict[str, object]]:
        return [build_input(s.module, s.revision, lane, self.store.latest_evidence(s.module, s.revision), NOW, [])
                for s in subjects]

    def fleet(self, subjects: list[Subject], lane: str) -> int:
        count = 0
        for _ in evaluate(store=self.store, engine=self.rt.engine(), policy=self.policy, cache_dir=self.rt.cache_dir,
                          lane=lane, subjects=subjects, now=NOW, batch_size=self.rt.config.batch_size):
            count += 1
        return count


def bench_gate(work: Path, rounds: int, bench_counts: int) -> list[Result]:
    """One gate (`readypolicy eval`, one module, one lane) next to conftest and bare OPA, and OPA's own cost."""
    gate = Gate(work / "gate")
    try:
        gate.check_agreement()
        times = gate.measure(rounds)
        pack_ms = gate.pack_cost_ms(bench_counts)
        assembly_ms = gate.pack_cost_ms(bench_counts, ASSEMBLY_FLOOR)
    finally:
        gate.close()
    note = f"payments, production lane; interleaved, median of {times.rounds}"
    results = []
    if times.conftest is None:
        print("gate: conftest not installed (scripts/install-conftest): no conftest comparison")
    else:
        for label, ours in (("PYTHONDONTWRITEBYTECODE=1", times.readypolicy_nobytecode),
                            ("bytecode writable", times.readypolicy)):
            results.append(Result(f"gate: readypolicy eval vs conftest ({label})", ours, times.conftest, "s",
                                  "<= 1.5x", ours <= 1.5 * times.conftest, note))
        results.append(Result("gate: conftest test vs bare opa eval", times.conftest, times.opa, "s", "-", None, note))
        results.append(Result("gate floor: python+click+yaml, then opa eval", times.floor, times.conftest, "s", "-", None,
                              "vs conftest: the least a click front end over the OPA binary costs"))
    results.append(Result("gate: readypolicy eval vs bare opa eval", times.readypolicy_nobytecode, times.opa, "s",
                          "-", None, "PYTHONDONTWRITEBYTECODE=1"))
    results.append(Result("pack: OPA time per production decision", pack_ms, 0.5, "ms", "<= 0.5ms", pack_ms <= 0.5,
                          f"opa bench, best of {bench_counts}; ratio is against the 0.5 ms target"))
    results.append(Result("pack floor: assembly over constant checks", assembly_ms, 0.5, "ms", "-", None,
                          "lib.decide over a constant passing result per check, vs the 0.5 ms target"))
    return results


def cpu_seconds() -> float:
    """CPU time of this process (every thread) and of its finished children (the OPA processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_fleet(bench: Bench, size: int, loop_per_module_s: float, loop_sample: int) -> list[Result]:
    """The fleet and one bare batch, alternating (3 rounds up to 1,000 modules, else 1), medians."""
    subjects = bench.subjects[:size]
    batch_file = bench.work / f"batch-{size}.json"
    batch_file.write_text(json.dumps({"batch": bench.inputs(subjects, "candidate")}), encoding="utf-8")
    walls, floors, bares = [], [], []
    for _ in range(3 if size <= 1000 else 1):
        cpu = cpu_seconds()
        walls.append(timed(lambda: bench.fleet(subjects, "candidate")))
        # The fleet's floor: its CPU (Python and OPA) spread over every core with no wait at all.
        floors.append((cpu_seconds() - cpu) / (os.cpu_count() or 1))
        bares.append(timed(lambda: bench.opa_eval(batch_query(bench.policy.query("candidate")), batch_file)))
    batch_file.unlink()
    ours_s, floor_s, bare_s = statistics.median(walls), statistics.median(floors), statistics.median(bares)
    loop_s = loop_per_module_s * size
    measured = "measured" if size <= loop_sample else f"extrapolated from {loop_sample} modules"
    rounds = f"median of {len(walls)}"
    return [
        Result(f"fleet N={size}: evaluate() vs opa-per-module loop", ours_s, loop_s, "s", ">= 50x",
               loop_s >= 50 * ours_s if size >= 1000 else None, f"{rounds}; loop {measured}; ratio = speed-up",
               speedup=True),
        Result(f"fleet N={size} floor: its CPU / cores vs loop", floor_s, loop_s, "s", "-", None,
               f"the fleet's Python and OPA CPU over {os.cpu_count()} cores with no idle core: the best ratio this CPU "
               "allows", speedup=True),
        Result(f"fleet N={size}: evaluate() vs one bare opa eval", ours_s, bare_s, "s", "<= 2x", ours_s <= 2 * bare_s),
        Result(f"fleet N={size}: ms per module, evaluate() vs bare", 1000 * ours_s / size, 1000 * bare_s / size, "ms",
               "-", None, "the bare batch is OPA alone: start-up, compile, then every decision"),
    ]


def loop_per_module(bench: Bench, sample: int) -> float:
    """Seconds per module when each module gets its own `opa eval` process."""
    files = []
    for index, inputs in enumerate(bench.inputs(bench.subjects[:sample], "candidate")):
        path = bench.work / f"loop-{index}.json"
        path.write_text(json.dumps(inputs), encoding="utf-8")
        files.append(path)
    query = bench.policy.query("candidate")
    seconds = timed(lambda: [bench.opa_eval(query, path) for path in files])
    for path in files:
        path.unlink()
    return seconds / sample


def bench_ingest(work: Path, url: str, label: str, modules: int, per_module: bool = False, prefill: int = 0) -> float:
    """Artifacts per second through `ingest()`, as a CI job uploads them.

    One batch per module and scope (`ingest --scope S FILES...` per scope), or with `per_module` one batch
    per module with a scope per file (`ingest --contract`, `ingest DIR`). The store commits (and on SQLite
    syncs) once per batch, so the batch shape matters; CPU time is printed too, since on a shared machine
    the wall time of those syncs depends on the neighbours. With `prefill`, the store first holds an older
    revision of that many modules, as a team's store does after a few weeks: a read that grows with the
    store's history (a table scan per batch) shows here and not on an empty store.
    """
    store = open_store(url)
    if prefill:
        populate(store, prefill, revision="r0")
    batches = []
    for index in range(modules):
        batches.append((index, write_module(work / "artifacts" / str(index), index)))
    count = sum(len(paths) for _, paths in batches)

    def run() -> None:
        for index, items in batches:
            module = IngestOptions(module=module_name(index), revision="r1")
            if per_module:
                readers = [IngestOptions(module=module.module, revision="r1", scope=scope) for _, scope in items]
                ingest(store, [path for path, _ in items], module, "bench", per_path=readers)
                continue
            by_scope: dict[str | None, list[Path]] = {}
            for path, scope in items:
                by_scope.setdefault(scope, []).append(path)
            for scope, paths in by_scope.items():
                ingest(store, paths, IngestOptions(module=module.module, revision="r1", scope=scope), "bench")

    cpu = time.process_time()
    seconds = timed(run)
    cpu = time.process_time() - cpu
    store.close()
    rate = count / seconds
    shape = "one batch per module" if per_module else "one batch per module and scope"
    if prefill:
        shape += f", store prefilled with {prefill} modules"
    print(f"ingest {label:<10} {count} artifacts of {modules} modules, {shape}, in {seconds:.1f}s: {rate:.0f} artifacts/s"
          f" ({count / cpu:.0f}/s of CPU time)")
    return rate


CHILD = """
import sys, time
sys.path.insert(0, {engine!r})
start = time.perf_counter()
if sys.argv[1] == "cli":
    from readypolicy.cli.main import cli
    try:
        cli(sys.argv[2:], prog_name="readypolicy")
    except SystemExit:
        pass
else:
    from readypolicy.config import load_config
    from readypolicy.evaluate import Subject, evaluate
    from readypolicy.runtime import Runtime
    rt = Runtime(load_config(__import__("pathlib").Path(sys.argv[2])))
    subjects = [Subject(m, rt.store.latest_revision(m)) for m in rt.store.modules()]
    for lane in {lanes!r}:
        for _ in evaluate(store=rt.store, engine=rt.engine(), policy=rt.policy(), cache_dir=rt.cache_dir, lane=lane,
                          subjects=subjects, now="2026-11-25T12:00:00.000000Z", batch_size=rt.config.batch_size):
            pass
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork and exec, so it would report the parent's size.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(f"{{time.perf_counter() - start:.1f}} {{hwm / 1024:.0f}}")
"""


def bench_memory(bench: Bench, modules: int) -> None:
    script = CHILD.format(engine=str(REPO / "engine"), lanes=LANES)
    lanes = [arg for lane in LANES for arg in ("--lane", lane)]
    runs = {
        "library evaluate()": ["library", str(bench.config_path)],
        "cli eval --all": ["cli", "--config", str(bench.config_path), "eval", "--all", "--latest", *lanes, "--no-record",
                           "--format", "json", "--output", str(bench.work / "fleet.json")],
    }
    for label, argv in runs.items():
        done = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"memory {label}: failed: {done.stderr[-500:]}")
            continue
        seconds, peak = done.stdout.split()[-2:]
        print(f"memory {label:<20} {modules} modules x 3 lanes in {seconds}s: peak RSS {peak} MiB (the Python process)")


OPA_PEAK = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)\n"
    "used = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(used.ru_utime + used.ru_stime, used.ru_maxrss / 1024)\n"
)
"""Runs one OPA process from a bare interpreter and prints its CPU seconds and peak RSS in MiB.

Linux carries ru_maxrss across fork and exec, so the process that starts OPA must be smaller than OPA
for OPA's own peak to show: `python -S` is about 9 MiB, the benchmark process about 150.
"""


def bench_opa_collector(bench: Bench, rounds: int) -> Result:
    """One OPA batch as a fleet runs it, with readypolicy's collector settings and with the previous GOGC=200."""
    size = bench.rt.config.batch_size
    batch_file = bench.work / "batch-collector.json"
    batch_file.write_text(json.dumps({"batch": bench.inputs(bench.subjects[:size], "candidate")}), encoding="utf-8")
    args = bench.opa_args(batch_query(bench.policy.query("candidate")), batch_file)
    ours = opa_environment()
    previous = {key: value for key, value in os.environ.items() if key not in COLLECTOR_DEFAULTS} | {"GOGC": "200"}
    runs: dict[str, list[tuple[float, float]]] = {"ours": [], "previous": []}
    for _ in range(rounds):
        for label, env in (("ours", ours), ("previous", previous)):
            done = subprocess.run([sys.executable, "-S", "-c", OPA_PEAK, *args], capture_output=True, text=True,
                                  check=True, env=env)
            cpu, peak = done.stdout.split()
            runs[label].append((float(cpu), float(peak)))
    batch_file.unlink()
    peaks = {label: max(peak for _, peak in values) for label, values in runs.items()}
    print(f"memory one OPA batch of {size} candidate decisions: peak RSS {peaks['ours']:.0f} MiB "
          f"({ours.get('GOGC', 'default')}/{ours.get('GOMEMLIMIT', 'no limit')}) vs {peaks['previous']:.0f} MiB (GOGC=200)")
    cpu = {label: statistics.median(cpu for cpu, _ in values) for label, values in runs.items()}
    return Result(f"opa: CPU of one batch of {size}, ours vs GOGC=200", cpu["ours"], cpu["previous"], "s", "-", None,
                  f"collector settings of engines/opa_binary.py; median of {rounds}, interleaved")


def machine() -> str:
    opa = subprocess.run([str(REPO / ".tools" / "bin" / "opa"), "version"], capture_output=True, text=True, check=False)
    version = next((line.split(":", 1)[1].strip() for line in opa.stdout.splitlines() if line.startswith("Version")), "?")
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} CPU(s), {mem:.1f} GiB RAM, {platform.platform()}, Python {platform.python_version()}, "
            f"OPA {version}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="fleet sizes, comma-separated")
    parser.add_argument("--quick", action="store_true", help="sizes 100,1000, smaller samples")
    args = parser.parse_args()
    sizes = [100, 1000] if args.quick else sorted(int(s) for s in args.sizes.split(","))
    loop_sample = 50 if args.quick else 200
    print(f"machine: {machine()}")
    print(f"command: python benchmarks/run.py {' '.join(sys.argv[1:])}".rstrip())
    work = Path(tempfile.mkdtemp(prefix="readypolicy-bench-"))
    results: list[Result] = []
    try:
        bench = Bench(work, max(sizes))
        results.extend(bench_gate(work, rounds=5 if args.quick else 11, bench_counts=3 if args.quick else 5))
        per_module = loop_per_module(bench, min(loop_sample, max(sizes)))
        for size in sizes:
            results.extend(bench_fleet(bench, size, per_module, loop_sample))
        ingest_modules = 50 if args.quick else 200
        bench_ingest(work, f"sqlite:///{work / 'ingest.db'}", "sqlite", ingest_modules)
        bench_ingest(work, f"sqlite:///{work / 'ingest-module.db'}", "sqlite", ingest_modules, per_module=True)
        bench_ingest(work, f"sqlite:///{work / 'ingest-prefilled.db'}", "sqlite", ingest_modules, prefill=max(sizes))
        bench_ingest_postgres(work, ingest_modules)
        bench_memory(bench, max(sizes))
        results.append(bench_opa_collector(bench, rounds=5 if args.quick else 9))
        bench.rt.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    for result in results:
        print(result.line())
    print(f"peak RSS of the benchmark process itself: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def bench_ingest_postgres(work: Path, modules: int) -> None:
    sys.path.insert(0, str(REPO / "tests"))
    from pgserver import PgServerError, start_server

    try:
        server = start_server()
    except PgServerError as exc:
        print(f"ingest postgresql: skipped, no server ({exc})")
        return
    try:
        bench_ingest(work, server.create_database("bench"), "postgresql", modules)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
