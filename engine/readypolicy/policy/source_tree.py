"""A pack's source files laid out the way its bundle lays them out, tests included.

`opa test` and `opa check` must see data documents at their bundle paths (a `config/data.yaml`
is `data.<root>.config`, not `data`), so the sources are staged into a temporary tree first. OPA
then reports locations in that tree; `SourceTree.source_text` maps them back to the files the
author edits, so every message names a file:line that can be opened.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from readypolicy.policy.pack import DATA_NAMES, source_dirs

_TMP_PREFIX = "readypolicy-src-"


@dataclass(frozen=True)
class SourceTree:
    """A staged copy of a pack's sources."""

    directory: Path
    """The staged tree (deleted when the context exits)."""
    sources: dict[str, Path]
    """Staged path (relative to `directory`) → the source file it is a copy of."""

    def source_of(self, staged: str) -> Path | None:
        """The source file of a staged path as OPA prints it (absolute or relative to the tree)."""
        relative = staged.removeprefix(str(self.directory) + os.sep)
        return self.sources.get(relative)

    def source_text(self, text: str) -> str:
        """`text` with every staged path replaced by the source path it stands for."""
        prefix = re.escape(str(self.directory) + os.sep)
        return re.sub(prefix + r"([^\s:\"']+)", lambda m: display_path(self.sources.get(m.group(1), Path(m.group(1)))), text)


def display_path(path: Path) -> str:
    """A path relative to the working directory when it lies below it, so messages stay short."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def rego_sources(pack_directory: Path) -> list[Path]:
    """Every .rego file of a pack's source directories, tests included, sorted."""
    return sorted({path for source in source_dirs(pack_directory).values() for path in source.rglob("*.rego") if path.is_file()})


def _is_source_file(path: Path) -> bool:
    return path.is_file() and (path.suffix == ".rego" or path.name in DATA_NAMES)


@contextmanager
def staged_sources(pack_directory: Path, root: str) -> Iterator[SourceTree]:
    """Stage every .rego (tests included) and data file of a pack under `<root>/<bundle dir>/`."""
    with tempfile.TemporaryDirectory(prefix=_TMP_PREFIX) as work:
        directory = Path(work)
        mapping: dict[str, Path] = {}
        for bundle_dir, source in source_dirs(pack_directory).items():
            for path in sorted(source.rglob("*")):
                if not _is_source_file(path):
                    continue
                relative = f"{root}/{bundle_dir}/{path.relative_to(source).as_posix()}"
                target = directory / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(path.read_bytes())
                mapping[relative] = path
        yield SourceTree(directory=directory, sources=mapping)
