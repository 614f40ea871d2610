"""Reproducible .tar.gz archives: the same members always give the same bytes.

Policy bundles are pinned by sha256 in the lock and audit archives are compared across machines,
so neither may depend on when or by whom it was written: members are sorted, times, owners and
the gzip header time are zero.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Mapping


def deterministic_targz(members: Mapping[str, bytes], prefix: str = "") -> bytes:
    """A .tar.gz of `members` (name → content); `prefix` is put before every member name."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(members):
            info = tarfile.TarInfo(name=f"{prefix}{name}")
            info.size = len(members[name])
            info.mode = 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(members[name]))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=9) as compressed:
        compressed.write(raw.getvalue())
    return out.getvalue()
