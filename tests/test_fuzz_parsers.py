"""Fuzzing the normalizers: random bytes and mutated real samples.

Whatever the bytes, reading, detecting, normalizing, schema-checking and wrapping an artifact in
its envelope may only fail with a ReadyPolicyError (which the CLI turns into exit code 2); any
other exception is a crash a crafted CI artifact could trigger. Mutations start from the real
tool outputs so the fuzzer reaches deep into each format instead of dying at the first byte.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzing import byte_mutations, json_mutations
from readypolicy.errors import ReadyPolicyError
from readypolicy.evidence.ingest import IngestOptions, build_record, normalize_path
from support import ARTIFACTS

JSON_FORMATS = (
    "pytest-json-report", "coverage-py-json", "semgrep-json", "sarif", "bandit-json", "pip-audit-json", "safety-json",
    "trivy-json", "grype-json", "osv-scanner-json", "cyclonedx-json", "spdx-json", "pip-licenses-json",
    "detect-secrets-baseline", "gitleaks-json",
)
XML_FORMATS = ("junit-xml", "cobertura-xml")
TEXT_FORMATS = ("lcov",)
FORMATS = JSON_FORMATS + XML_FORMATS + TEXT_FORMATS

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
LIGHT = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


def samples(fmt: str) -> list[bytes]:
    folder = ARTIFACTS / fmt
    paths = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("SOURCES")) if folder.is_dir() else []
    return [p.read_bytes() for p in paths]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def survive(scratch: Path, fmt: str, data: bytes) -> None:
    """Run the whole ingest pipeline short of the store, forced to `fmt` and auto-detected."""
    path = scratch / f"artifact-{fmt}"
    path.write_bytes(data)
    for options in (IngestOptions(module="demo", revision="r1", fmt=fmt), IngestOptions(module="demo", revision="r1")):
        try:
            artifact, normalized = normalize_path(path, options)
            build_record(artifact, normalized, "demo", "r1", None, "2026-01-01T00:00:00.000000Z")
        except ReadyPolicyError:
            pass


# --- random bytes -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@LIGHT
@given(data=st.binary(max_size=512))
def test_random_bytes(scratch: Path, fmt: str, data: bytes) -> None:
    survive(scratch, fmt, data)


@pytest.mark.parametrize("fmt", FORMATS)
@LIGHT
@given(head=st.sampled_from([b"{", b"[", b"<testsuite", b"<coverage line-rate", b"SF:", b'{"runs":']),
       tail=st.binary(max_size=256))
def test_random_bytes_behind_a_plausible_start(scratch: Path, fmt: str, head: bytes, tail: bytes) -> None:
    survive(scratch, fmt, head + tail)


# --- byte mutations of real samples -----------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.data())
def test_byte_mutated_samples(scratch: Path, fmt: str, data: st.DataObject) -> None:
    survive(scratch, fmt, data.draw(byte_mutations(samples(fmt))))


# --- structural mutations ---------------------------------------------------------------------

@pytest.mark.parametrize("fmt", JSON_FORMATS)
@FUZZ
@given(data=st.data())
def test_structurally_mutated_json_samples(scratch: Path, fmt: str, data: st.DataObject) -> None:
    survive(scratch, fmt, data.draw(json_mutations(samples(fmt))))


ODD_VALUES = st.sampled_from(["", "-1", "NaN", "inf", "1e999", "abc", "99999999999999999999", "1.5", "²", "2026-13-45T99:00"])


@st.composite
def xml_mutations(draw: st.DrawFn, fmt: str) -> bytes:
    """A real XML sample with attribute values replaced and elements dropped."""
    text = draw(st.sampled_from(samples(fmt))).decode("utf-8")
    for _ in range(draw(st.integers(1, 4))):
        attributes = list(re.finditer(r'="[^"]*"', text))
        if attributes and draw(st.booleans()):
            match = draw(st.sampled_from(attributes))
            value = draw(ODD_VALUES | st.text(alphabet="abc019.-:T ", max_size=12))
            text = f'{text[: match.start()]}="{value}"{text[match.end():]}'
        else:
            elements = list(re.finditer(r"<(\w+)[^<>]*/>", text))
            if elements:
                match = draw(st.sampled_from(elements))
                text = text[: match.start()] + text[match.end():]
    return text.encode()


@pytest.mark.parametrize("fmt", XML_FORMATS)
@FUZZ
@given(data=st.data())
def test_structurally_mutated_xml_samples(scratch: Path, fmt: str, data: st.DataObject) -> None:
    survive(scratch, fmt, data.draw(xml_mutations(fmt)))


@st.composite
def lcov_mutations(draw: st.DrawFn) -> bytes:
    """A real tracefile with records replaced by odd ones."""
    lines = draw(st.sampled_from(samples("lcov"))).decode("utf-8").splitlines()
    for _ in range(draw(st.integers(1, 5))):
        tag = draw(st.sampled_from(["SF", "DA", "BRDA", "LF", "LH", "BRF", "BRH", "end_of_record", "TN", "FN"]))
        value = draw(ODD_VALUES | st.text(alphabet="0123456789,-:ab ", max_size=16))
        lines.insert(draw(st.integers(0, len(lines))), f"{tag}:{value}")
    return "\n".join(lines).encode()


@FUZZ
@given(data=lcov_mutations())
def test_structurally_mutated_lcov(scratch: Path, data: bytes) -> None:
    survive(scratch, "lcov", data)
