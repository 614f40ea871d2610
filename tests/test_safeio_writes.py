"""The one atomic-write helper (safeio) and the one `--since` reading: nothing half-written, one time form.

A gate reads what earlier runs wrote (the lock, reports, signed decisions): a file cut off by a crash
or an exception must never be there to read, and a failed set of files must leave none of the set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from readypolicy.safeio import atomic_open, publish_together, write_atomic
from readypolicy.since import SinceError, since_time


class Boom(RuntimeError):
    """Stands for a crash half-way through writing."""


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_a_write_that_fails_half_way_leaves_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "lock.json"
    target.write_text('{"old": true}\n', encoding="utf-8")
    with pytest.raises(Boom), atomic_open(target) as handle:
        handle.write('{"new": ')
        raise Boom
    assert target.read_text(encoding="utf-8") == '{"old": true}\n'
    assert _leftovers(tmp_path) == []


def test_a_streamed_write_appears_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.txt"

    def chunks() -> list[str]:
        assert not target.exists(), "the target must not appear before the last chunk"
        return ["a", "b"]

    with atomic_open(target) as handle:
        for chunk in chunks():
            handle.write(chunk)
        assert not target.exists()
    assert target.read_text(encoding="utf-8") == "ab"


@pytest.mark.parametrize("durable", [False, True])
def test_bytes_and_text_are_written_as_given(tmp_path: Path, durable: bool) -> None:
    write_atomic(tmp_path / "b.bin", b"\x00\xff", durable=durable)
    write_atomic(tmp_path / "t.txt", "é\n", durable=durable)
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"
    assert (tmp_path / "t.txt").read_bytes() == "é\n".encode()
    assert _leftovers(tmp_path) == []


def test_permissions_follow_the_umask_unless_kept_private(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "shared", "x")
        write_atomic(tmp_path / "private", "x", mode=0o600)
    finally:
        os.umask(mask)
    assert (tmp_path / "shared").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "private").stat().st_mode & 0o777 == 0o600


def test_a_set_whose_second_file_fails_publishes_none_of_it(tmp_path: Path) -> None:
    decision, bundle = tmp_path / "m.candidate.decision.json", tmp_path / "m.candidate.decision.sigstore.json"
    bundle.write_text("old bundle", encoding="utf-8")

    def fail(_path: Path) -> None:
        raise Boom

    with pytest.raises(Boom):
        publish_together(tmp_path, [(decision, lambda p: p.write_text("new", encoding="utf-8")), (bundle, fail)])
    assert not decision.exists(), "a decision must never appear without its bundle"
    assert bundle.read_text(encoding="utf-8") == "old bundle"
    assert _leftovers(tmp_path) == []


def test_a_set_appears_together(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    publish_together(tmp_path, [(first, lambda p: p.write_text("1", encoding="utf-8")),
                                (second, lambda p: p.write_bytes(b"2"))])
    assert (first.read_text(encoding="utf-8"), second.read_text(encoding="utf-8")) == ("1", "2")
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(("given", "expected"), [
    ("2026-01-02", "2026-01-02T00:00:00.000000Z"),
    ("2026-01-02T01:30:00+02:00", "2026-01-01T23:30:00.000000Z"),  # compared as text with UTC times: converted first
    ("2026-01-01T23:30:00Z", "2026-01-01T23:30:00.000000Z"),
])
def test_since_is_read_as_utc_rfc3339(given: str, expected: str) -> None:
    assert since_time(given) == expected


def test_a_since_that_is_not_a_time_is_an_error_naming_the_option() -> None:
    with pytest.raises(SinceError, match=r"^--since 'last tuesday' is not a date \(YYYY-MM-DD\) or an RFC 3339 time$"):
        since_time("last tuesday")
