"""What ingest reads faster now (issue 17), and the attacks each shortcut must still refuse.

- The symlink check resolves each folder once per batch (a file that is no symlink itself resolves to
  its folder's resolution plus its name); the working tree is resolved once per batch.
- `read_limited` reads the size fstat announced, then on to the limit, instead of asking for the limit.
- The JSON nesting scan skips to the characters it acts on (backslash, quote, brackets).
- Canonical-JSON encodability is checked once, where `build_record` digests the document.
- The sample standard deviation sums exact integers instead of one Fraction per sample, and latency samples
  are checked in one pass when they are all good.
"""

from __future__ import annotations

import json
import math
import random
import statistics
from pathlib import Path

import pytest

from fixture_index import ARTIFACTS
from readypolicy.evidence.formats.latency import all_numbers
from readypolicy.evidence.ingest import IngestOptions, ingest
from readypolicy.evidence.interface import NormalizeError
from readypolicy.evidence.stats import StatisticsError, checked_samples, sample_stdev
from readypolicy.safeio import UnsafeInputError, _nesting_depth_exceeds, read_limited
from readypolicy.store.open import open_store
from support import coverage_json

COVERAGE = ARTIFACTS / "coverage-py-json" / "coverage.json"
OPTIONS = IngestOptions(module="api", revision="r1")


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working tree (the current directory) with a real report folder, and a folder outside it."""
    root = tmp_path / "tree"
    (root / "real").mkdir(parents=True)
    (root / "real" / "coverage.json").write_bytes(COVERAGE.read_bytes())
    outside = tmp_path / "outside" / "sub"
    outside.mkdir(parents=True)
    (outside / "coverage.json").write_text(json.dumps({"meta": {"format": 3}, "totals": {}, "token": "SECRET"}))
    (outside.parent / "coverage.json").write_bytes(COVERAGE.read_bytes())
    monkeypatch.chdir(root)
    return root


def _refused_and_nothing_stored(tmp_path: Path, paths: list[Path], where: str) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with pytest.raises(UnsafeInputError, match="outside the working tree") as caught:
            ingest(store, paths, OPTIONS, "ci")
        assert str(caught.value).startswith(f"{where}: a symlink to ")
        assert store.modules() == []
    finally:
        store.close()


def test_a_folder_symlink_out_of_the_tree_is_refused_beside_a_real_folder(tree: Path, tmp_path: Path) -> None:
    """Attack: `link/ -> /outside/sub`; its folder is resolved on its own, not taken from `real/`."""
    (tree / "link").symlink_to(tmp_path / "outside" / "sub")
    _refused_and_nothing_stored(tmp_path, [Path("real/coverage.json"), Path("link/coverage.json")], "link/coverage.json")


def test_a_file_symlink_in_an_already_resolved_folder_is_refused(tree: Path, tmp_path: Path) -> None:
    """Attack: the folder was resolved for a real file; a symlinked file beside it is still resolved itself."""
    (tree / "real" / "unit.json").symlink_to(tmp_path / "outside" / "sub" / "coverage.json")
    _refused_and_nothing_stored(tmp_path, [Path("real/coverage.json"), Path("real/unit.json")], "real/unit.json")


def test_dotdot_after_a_folder_symlink_is_resolved_physically(tree: Path, tmp_path: Path) -> None:
    """Attack: `link/../coverage.json` reads /outside/coverage.json, though it reads as tree/coverage.json lexically."""
    (tree / "link").symlink_to(tmp_path / "outside" / "sub")
    (tree / "coverage.json").write_bytes(COVERAGE.read_bytes())
    _refused_and_nothing_stored(tmp_path, [Path("link/../coverage.json")], "link/../coverage.json")


def test_files_without_symlinks_are_read_wherever_they_are(tree: Path, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        results = ingest(store, [Path("real/coverage.json"), tmp_path / "outside" / "coverage.json"],
                         IngestOptions(module="api", revision="r1", scope=None), "ci", per_path=[
                             IngestOptions(module="api", revision="r1", scope="unit"),
                             IngestOptions(module="api", revision="r1", scope="outside")])
        assert [result.created for result in results] == [True, True]
    finally:
        store.close()


def test_a_file_larger_than_fstat_said_is_read_whole_or_refused() -> None:
    """procfs files announce 0 bytes: the read goes on to the limit, and past it the file is refused."""
    status = Path("/proc/self/status")
    text = read_limited(status)
    assert text.startswith(b"Name:") and b"VmRSS" in text
    with pytest.raises(UnsafeInputError, match="grew past the size limit of 10 bytes"):
        read_limited(status, max_bytes=10)


def test_a_file_is_read_exactly(tmp_path: Path) -> None:
    for size in (0, 1, 4096, 100_000):
        path = tmp_path / f"f{size}"
        data = bytes(random.Random(size).randrange(256) for _ in range(size))
        path.write_bytes(data)
        assert read_limited(path, max_bytes=max(size, 1)) == data


def _nesting_reference(text: str, max_depth: int) -> bool:
    """The character-by-character scan the fast one replaced, kept here as the oracle."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif char in "]}":
            depth -= 1
    return False


@pytest.mark.parametrize("text", ['["\\"[[[["]', '["\\\\"[[[["]', '"\\\\\\"[[[[', '\\"[[[[', '"[[[[\\', "[[[]]]{{{}}}[[["])
def test_nesting_scan_reads_escapes_as_the_character_scan_did(text: str) -> None:
    """Attack: brackets hidden behind escaped quotes (or revealed by escaped backslashes) are counted alike."""
    for depth in range(6):
        assert _nesting_depth_exceeds(text, depth) == _nesting_reference(text, depth), (text, depth)


def test_nesting_scan_agrees_with_the_character_scan_on_samples_and_random_text() -> None:
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in sorted(ARTIFACTS.rglob("*.json"))]
    rng = random.Random(17)
    texts += ["".join(rng.choice('[]{}"\\ a,:') for _ in range(rng.randrange(40))) for _ in range(50_000)]
    for text in texts:
        for depth in (0, 1, 2, 3, 64):
            assert _nesting_depth_exceeds(text, depth) == _nesting_reference(text, depth), (text[:200], depth)
    assert any(_nesting_reference(text, 2) for text in texts) and not all(_nesting_reference(text, 2) for text in texts)


def test_a_value_canonical_json_cannot_encode_is_refused_and_nothing_stored(tmp_path: Path) -> None:
    """Schema-valid (an integer) but beyond RFC 8785's 2^53: refused naming the file, as before the check moved."""
    report = coverage_json(tmp_path / "coverage.json", 2**60, 2**60 + 10)
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with pytest.raises(NormalizeError, match=f"^{report}: coverage evidence holds a value canonical JSON cannot"
                                                 " encode"):
            ingest(store, [COVERAGE, report], OPTIONS, "ci", per_path=[
                IngestOptions(module="api", revision="r1", scope="a"), IngestOptions(module="api", revision="r1")])
        assert store.modules() == []
    finally:
        store.close()


def test_sample_stdev_is_statistics_stdev_to_the_bit() -> None:
    """Every stored stddev is the figure `statistics.stdev` gives for the raw samples: never a neighbouring float."""
    rng = random.Random(23)
    cases = [[1.0, 1.0], [0.0, 5e-324], [1e-300, 1e300], [1.7976931348623157e308, 0.0], [0.1, 0.2, 0.3]]
    for index in range(5000):
        size = rng.randrange(2, 80)
        spread = [lambda: rng.lognormvariate(0, 2) * 10.0 ** rng.randrange(-9, 9), lambda: float(rng.randrange(1000)),
                  lambda: round(rng.uniform(0, 250), 3), lambda: rng.choice([0.0, 5e-324, 1e-300, 2.5, 1e300])][index % 4]
        cases.append([spread() for _ in range(size)])
    for samples in cases:
        assert sample_stdev(samples) == statistics.stdev(samples), samples


@pytest.mark.parametrize(("samples", "refusal"), [
    ([1.0, -0.5], "sample -0.5 is not"), ([2.0, math.nan], "sample nan is not"), ([math.inf, 1.0], "sample inf is not"),
    ([], "no samples"), ([3, -1], "sample -1 is not"),
])
def test_latency_samples_that_are_no_latencies_are_still_refused(samples: list[float], refusal: str) -> None:
    """Attack: a NaN, an infinity or a negative time hidden among good samples must not slip past the one-pass check."""
    with pytest.raises(StatisticsError, match=refusal):
        checked_samples([*[5.0] * 50, *samples] if samples else samples, "latency.json")


def test_latency_samples_whose_sum_overflows_are_read_one_by_one_and_kept() -> None:
    """Finite samples whose sum is not: the one-pass check defers to the value-by-value one, which accepts them."""
    assert checked_samples([1e308, 1e308, -0.0], "x") == [1e308, 1e308, -0.0]


def test_a_boolean_among_json_samples_is_not_a_number() -> None:
    assert all_numbers([1, 2.5, 10**30]) and all_numbers([])
    assert not all_numbers([1, True]) and not all_numbers([1.0, "2"]) and not all_numbers([None])
