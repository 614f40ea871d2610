"""Every registered format reads its real samples exactly: checked against independent oracles.

The format list comes from the normalizer registry, the samples from tests/fixtures/artifacts
(index.yaml) and the expected figures from tests/oracles.py, which reads the raw files itself. A
format added to the registry without a real sample or an oracle fails here; so does a sample file
nobody claims, or one whose origin (tool, version, command) is not in a SOURCES*.md table.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixture_index import ARTIFACTS, FIXTURES, INDEX, indexed_formats, inputs, refused, registered_formats, samples, unaccounted
from oracles import ORACLES, figure
from readypolicy.errors import ReadyPolicyError
from readypolicy.evidence.ingest import IngestOptions, build_record, normalize_path

FORMATS = registered_formats()
SAMPLES = [pytest.param(fmt, path, id=f"{fmt}:{path.relative_to(FIXTURES)}") for fmt in FORMATS for path in samples(fmt)]
INGESTED_AT = "2026-12-01T00:00:00.000000Z"


def _sources_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(ARTIFACTS.glob("SOURCES*.md")))


# --- nothing untested ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_new_format_cannot_land_without_a_real_sample(fmt: str) -> None:
    assert samples(fmt), (f"format {fmt!r} has no real sample: put the tool's output in tests/fixtures/artifacts/{fmt}/ "
                          f"(with its command and version in a SOURCES*.md) or map it in {INDEX.name}")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_new_format_cannot_land_without_an_oracle(fmt: str) -> None:
    assert fmt in ORACLES, f"format {fmt!r} has no oracle in tests/oracles.py reading its key figures from the raw file"


def test_oracles_and_index_name_only_registered_formats() -> None:
    """A renamed format must not leave its oracle or index entry behind, checking nothing."""
    assert set(ORACLES) - set(FORMATS) == set()
    assert set(indexed_formats()) - set(FORMATS) == set()


def test_no_fixture_file_goes_unclaimed() -> None:
    """A misnamed folder (ruff-json/ for format ruff) or a stray file would otherwise never be read."""
    assert unaccounted() == [], f"claim these in {INDEX}: a format's samples, refused outputs or inputs"


def test_index_entries_exist_and_are_claimed_once() -> None:
    listed = [*refused(), *inputs()]
    assert all(path.exists() for path in listed), [p for p in listed if not p.exists()]
    assert len(set(listed)) == len(listed)
    assert not set(listed) & {path for fmt in FORMATS for path in samples(fmt)}


@pytest.mark.parametrize(("fmt", "path"), SAMPLES)
def test_every_sample_names_where_it_came_from(fmt: str, path: Path) -> None:
    pattern = rf"(?<![\w.-]){re.escape(path.name)}(?![\w.-])"
    assert re.search(pattern, _sources_text()), f"{path}: no row in tests/fixtures/artifacts/SOURCES*.md says how it was made"


# --- each sample read exactly --------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "path"), SAMPLES)
def test_sample_is_detected_normalized_and_matches_its_oracle(fmt: str, path: Path) -> None:
    """Auto-detected as its own format, schema-valid, enveloped, and every oracle figure equal."""
    artifact, normalized = normalize_path(path, IngestOptions(module="demo", revision="r1"))
    assert normalized.format == fmt, f"{path} detected as {normalized.format}"
    document = build_record(artifact, normalized, "demo", "r1", None, INGESTED_AT).document
    expected = ORACLES[fmt](path)
    assert expected, f"the {fmt} oracle checks nothing"
    actual = {name: figure(normalized.data, document, name) for name in expected}
    assert actual == expected


@pytest.mark.parametrize("path", sorted(refused()), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_refused_real_outputs_stay_refused(path: Path) -> None:
    """Outputs that carry no verdict of their kind must fail closed, not normalize into a pass."""
    with pytest.raises(ReadyPolicyError):
        normalize_path(path, IngestOptions(module="demo", revision="r1"))


# --- the oracles themselves can tell --------------------------------------------------------------------


def test_an_oracle_disagrees_with_a_miscounting_normalizer() -> None:
    """The comparison is live: one test case fewer in the stored data is caught."""
    path = ARTIFACTS / "junit-xml" / "pytest-xunit2.xml"
    artifact, normalized = normalize_path(path, IngestOptions(module="demo", revision="r1"))
    document = build_record(artifact, normalized, "demo", "r1", None, INGESTED_AT).document
    expected = ORACLES["junit-xml"](path)
    normalized.data["totals"]["tests"] -= 1
    assert {name: figure(normalized.data, document, name) for name in expected} != expected
