"""Hostile and broken artifacts through the real `ingest` command.

Whatever the input, the outcome must be exit code 2 with exactly one line on stderr that names
the file, and a batch containing one bad file must store nothing at all.
"""

from __future__ import annotations

import builtins
import json
import os
import pathlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from readypolicy.cli.main import cli
from support import ARTIFACTS

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuite name="bomb" tests="1"><testcase name="x"><failure message="&lol9;"/></testcase></testsuite>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE coverage [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<coverage line-rate="1" lines-valid="1" lines-covered="1"><sources><source>&xxe;</source></sources></coverage>
"""

YAML_ALIAS_BOMB = """module: bomb
owner: team
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
lanes: {current: candidate, target: integration}
"""


def run(store: Path, *args: str | os.PathLike[str]) -> Result:
    return CliRunner().invoke(cli, ["--store", str(store), *map(str, args)])


def assert_refused(result: Result, path: Path, *words: str) -> None:
    """Exit 2, one stderr line naming the file (and the problem), nothing on stdout."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("readypolicy: error: ") and str(path) in lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert result.stdout == ""


def stored(store: Path) -> list[Any]:
    listed = run(store, "evidence", "list", "-m", "demo", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    return json.loads(listed.stdout)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def truncated(relative: str, tmp_path: Path) -> Path:
    raw = (ARTIFACTS / relative).read_bytes()
    return write(tmp_path, Path(relative).name, raw[: len(raw) // 2])


def _fifo(path: Path) -> Path:
    os.mkfifo(path)  # reading it would block forever: it must be refused before any read
    return path


CASES = {
    "truncated JSON": (lambda t: truncated("trivy-json/trivy-upstream-pip-vulns.json", t), (), ("malformed JSON",)),
    "truncated XML": (lambda t: truncated("junit-xml/pytest-xunit2.xml", t), (), ("malformed XML",)),
    "billion laughs": (lambda t: write(t, "bomb.xml", BILLION_LAUGHS), ("--kind", "tests"), ("unsafe XML",)),
    "external entity": (lambda t: write(t, "xxe.xml", EXTERNAL_ENTITY), ("--kind", "coverage"), ("unsafe XML",)),
    "YAML alias bomb": (lambda t: write(t, "bomb.lane.yaml", YAML_ALIAS_BOMB), (), ("aliases are not allowed",)),
    "deep JSON": (lambda t: write(t, "deep.sarif", '{"version": "2.1.0", "runs": ' + "[" * 200 + "]" * 200 + "}"),
                  ("--format", "sarif"), ("nesting deeper than 64",)),
    "deep XML": (lambda t: write(t, "deep.xml", "<testsuite>" + "<x>" * 200 + "</x>" * 200 + "</testsuite>"), (),
                 ("nesting deeper than 64",)),
    "binary junk": (lambda t: write(t, "junk.json", b"{\xff\xfe\x00garbage"), ("--kind", "sast"), ()),
    "wrong kind": (lambda t: ARTIFACTS / "coverage-py-json" / "coverage.json", ("--kind", "tests"), ("not a tests artifact",)),
    "wrong format": (lambda t: ARTIFACTS / "gitleaks-json" / "gitleaks-detect.json", ("--format", "sarif"), ("sarif",)),
    "over --max-bytes": (lambda t: ARTIFACTS / "sarif" / "ruff.sarif", ("--max-bytes", "1000"), ("size limit",)),
    "named pipe": (lambda t: _fifo(t / "pipe.json"), (), ("not a regular file",)),
}


@pytest.mark.parametrize("case", CASES)
def test_hostile_input_is_refused_in_one_line(tmp_path: Path, case: str) -> None:
    make, options, words = CASES[case]
    path = make(tmp_path)
    store = tmp_path / "store.db"
    assert_refused(run(store, "ingest", path, "-m", "demo", *options), path, *words)
    assert stored(store) == []


def test_schema_invalid_result_is_refused(tmp_path: Path) -> None:
    report = json.loads((ARTIFACTS / "coverage-py-json" / "coverage.json").read_text(encoding="utf-8"))
    report["totals"]["covered_lines"] = report["totals"]["num_statements"] + 5  # more covered than exist: 112%
    path = write(tmp_path, "coverage.json", json.dumps(report))
    store = tmp_path / "store.db"
    assert_refused(run(store, "ingest", path, "-m", "demo"), path, "fails schema", "line_percent")
    assert stored(store) == []


def test_oversized_file_is_refused_without_being_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:  # sparse: 60 MB on paper, no blocks on disk
        handle.truncate(60 * 1024 * 1024)
    real_open = builtins.open

    def guarded_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        assert Path(file) != path, "the oversized file was opened"
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(pathlib.Path, "read_bytes", lambda self: pytest.fail(f"{self} read whole"))
    store = tmp_path / "store.db"
    assert_refused(run(store, "ingest", path, "-m", "demo"), path, "exceeds the size limit of 52428800 bytes")
    monkeypatch.undo()
    assert stored(store) == []


def test_a_batch_with_one_bad_file_stores_nothing(tmp_path: Path) -> None:
    good = [ARTIFACTS / "bandit-json" / "bandit.json", ARTIFACTS / "lcov" / "coverage.lcov",
            ARTIFACTS / "cyclonedx-json" / "environment-1.6.json"]
    bad = write(tmp_path, "bomb.xml", BILLION_LAUGHS)
    store = tmp_path / "store.db"
    assert_refused(run(store, "ingest", *good, bad, "-m", "demo"), bad, "unsafe XML")
    assert stored(store) == []
    accepted = run(store, "ingest", *good, "-m", "demo")
    assert accepted.exit_code == 0, accepted.stderr
    assert len(stored(store)) == len(good)
