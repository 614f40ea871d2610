"""Red-team round 3: a built bundle whose archive Python and OPA read differently.

readypolicy read a bundle's members with Python's `tarfile` (the policy digest and the decision name
them) and handed OPA the archive itself, which Go's reader reads again. The two disagree: a
contiguous-file member (tar type `'7'`) is a file to Python and skipped by OPA; a PAX global header
renames every member after it for Python only, so `floor.txt` (skipped by OPA) reads as `floor.rego`.
Either way OPA ran without a rule file while the decision named the approved digest. Now OPA is given a
directory staged from the members the digest covers. The pack is the mini test pack with its floor in a
second file, as a pack with a default and a stricter override in another file is written.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from support import coverage_json, make_project, require_opa, run_cli

FLOOR_FILE = "floor.rego"
Rewrite = Callable[[tarfile.TarInfo, tarfile.TarFile], None]


def _pack_with_a_floor_file(project: Path) -> None:
    """The mini pack's candidate lane reading `floor`: 70 by default, 90 from a file of its own."""
    lane = project / "policies" / "packs" / "mini" / "candidate"
    rego = (lane / "candidate.rego").read_text(encoding="utf-8")
    edited = rego.replace("line_percent > 70", "line_percent > floor").replace(
        'is not above 70%%", [coverage[0].data.line_percent]', 'is not above %v%%", [coverage[0].data.line_percent, floor]'
    )
    assert edited.count("floor") == 2, "the mini pack changed: its floor must be read in two places"
    (lane / "candidate.rego").write_text(edited + "\ndefault floor := 70\n", encoding="utf-8")
    (lane / FLOOR_FILE).write_text("package mini.candidate\n\n# The release floor.\nfloor := 90\n", encoding="utf-8")


def _contiguous(entry: tarfile.TarInfo, _out: tarfile.TarFile) -> None:
    entry.type = tarfile.CONTTYPE


def _renamed_by_a_global_header(entry: tarfile.TarInfo, out: tarfile.TarFile) -> None:
    header = tarfile.TarInfo.create_pax_global_header({"path": entry.name})
    out.fileobj.write(header)  # type: ignore[union-attr]
    out.offset += len(header)
    entry.name = entry.name.removesuffix(".rego") + ".txt"


def _rewritten(bundle: Path, target: Path, rewrite: Rewrite) -> None:
    """A copy of `bundle` with the same member bytes, the floor file's entry rewritten."""
    with tarfile.open(bundle, "r:gz") as src, tarfile.open(target, "w:gz", format=tarfile.USTAR_FORMAT) as out:
        for entry in src:
            handle = src.extractfile(entry) if entry.isfile() else None
            data = handle.read() if handle is not None else b""
            if entry.name.endswith(FLOOR_FILE):
                rewrite(entry, out)
            out.addfile(entry, io.BytesIO(data))


@pytest.mark.parametrize("rewrite", [_contiguous, _renamed_by_a_global_header],
                         ids=["member typed contiguous", "member renamed by a global header"])
def test_a_bundle_member_opa_skips_does_not_drop_a_rule_from_the_decision(tmp_path: Path, rewrite: Rewrite) -> None:
    """The finding: floor.rego counted in the digest and skipped by OPA: 80% passed the approved 90% floor (exit 0)."""
    opa = require_opa()
    project = make_project(tmp_path)
    _pack_with_a_floor_file(project)
    report = coverage_json(tmp_path / "c.json", 80, 100)
    assert run_cli("ingest", report, "-m", "svc", "-r", "r1", cwd=project).returncode == 0
    assert run_cli("policy", "build", cwd=project).returncode == 0
    [built] = (project / "bundles").glob("mini-*.tar.gz")
    args = ("eval", "-m", "svc", "-r", "r1", "--no-record", "--format", "json", "--bundle")
    honest = run_cli(*args, built, cwd=project)
    assert honest.returncode == 1 and "80% is not above 90%" in honest.stdout, honest.stdout + honest.stderr

    rewritten = tmp_path / "mini-rewritten.tar.gz"
    _rewritten(built, rewritten, rewrite)
    with tarfile.open(rewritten, "r:gz") as archive, tarfile.open(built, "r:gz") as approved:
        assert sorted(m.name for m in archive) == sorted(m.name for m in approved)  # Python reads the approved files
    # The raw fact, from OPA itself: given this archive, it evaluates without floor.rego (the default 70).
    seen = subprocess.run([str(opa), "eval", "--format", "raw", "--bundle", str(rewritten), "data.mini.candidate.floor"],
                          capture_output=True, text=True, check=True)
    assert json.loads(seen.stdout) == 70

    done = run_cli(*args, rewritten, cwd=project)
    assert done.returncode == 1, done.stdout + done.stderr
    record = json.loads(done.stdout)
    assert record["checks"][0]["message"] == "80% is not above 90%"
    assert record["policy"]["files"] == json.loads(honest.stdout)["policy"]["files"]
