"""Defensive readers for untrusted artifacts.

CI artifacts come from anywhere; a normalizer must never be the thing that a crafted file takes
down. These readers cap the size before reading (the stat is checked, then the read is bounded),
cap JSON nesting (Python's parser recurses), and parse XML only through defusedxml, which refuses
DTDs, entity expansion and external references.

Their error messages name the origin, the position and the problem, never the artifact's bytes:
with a forced format any file can reach a parser (a planted symlink to a secrets file, say), and
a quoted snippet in an error would copy that secret into the CI log.

The writers at the end are the other half of "nothing half-written": the files readypolicy writes
for others to read (reports, the lock, bundles, signed decisions, waivers, golden cases, OPA caches)
appear whole or not at all, through one staging-and-rename helper. Two small files are written
directly: generated docs tables (`docs_gen`, regenerated on demand) and a new key pair's public key.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import stat
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

import yaml

from readypolicy.errors import ReadyPolicyError

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64


class UnsafeInputError(ReadyPolicyError):
    """An artifact is too large, too deep, malformed, or tries XML entity tricks."""


def open_regular(path: Path, follow_symlinks: bool = True) -> BinaryIO:
    """Open a regular file for reading, refusing anything else (FIFO, device, directory).

    The file is opened first and its type checked on the open descriptor, so it cannot be swapped
    for a FIFO between the check and the read; O_NONBLOCK keeps a FIFO from hanging the open.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UnsafeInputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        handle.close()
        raise UnsafeInputError(f"{path}: not a regular file")
    return handle


def read_limited(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a regular file, refusing it before reading if it exceeds `max_bytes`."""
    with open_regular(path) as handle:
        try:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise UnsafeInputError(f"{path}: {size} bytes exceeds the size limit of {max_bytes} bytes")
            # Read what fstat announced first (a read of max_bytes + 1 sets up a buffer that large, about
            # 50 µs a file), then on up to the limit if the file grew meanwhile: the same bytes either way.
            data = handle.read(size + 1)
            if len(data) > size:
                data += handle.read(max_bytes + 1 - len(data))
        except OSError as exc:
            raise UnsafeInputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise UnsafeInputError(f"{path}: grew past the size limit of {max_bytes} bytes while reading")
    return data


_JSON_SIGNIFICANT = re.compile(r'[\\"\[\]{}]')
"""The only characters the nesting scan acts on: backslash, quote and brackets."""


def _nesting_depth_exceeds(text: str, max_depth: int) -> bool:
    """Scan brackets outside strings; cheaper and safer than letting json recurse first.

    Text with no more openers than the limit (inside strings or not) cannot exceed it. Otherwise only
    the significant characters are visited (a linear regex finds them), not every character: an
    escape applies to the character right after the backslash, so a match at that position is skipped.
    """
    if text.count("[") + text.count("{") <= max_depth:
        return False
    depth = 0
    in_string = False
    escaped_at = -1
    for match in _JSON_SIGNIFICANT.finditer(text):
        char = match.group()
        if in_string:
            at = match.start()
            if at == escaped_at:
                continue
            if char == "\\":
                escaped_at = at + 1
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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def loads_json(data: bytes, origin: str, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Parse JSON bytes with a nesting limit; NaN/Infinity are rejected (they are not JSON)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsafeInputError(f"{origin}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if _nesting_depth_exceeds(text, max_depth):
        raise UnsafeInputError(f"{origin}: JSON nesting deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise UnsafeInputError(f"{origin}: malformed JSON: {exc}") from exc


def _element_depth_exceeds(root: Element, max_depth: int) -> bool:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in node)
    return False


def loads_xml(data: bytes, origin: str, max_depth: int = DEFAULT_MAX_DEPTH) -> Element:
    """Parse XML with defusedxml (no DTDs, entities or external references) and a depth limit."""
    import defusedxml.ElementTree as DET  # loaded when XML is read (ingest), not by every `eval`
    from defusedxml import DefusedXmlException

    try:
        root = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeInputError(f"{origin}: unsafe XML refused ({type(exc).__name__})") from exc
    except DET.ParseError as exc:  # expat's fixed message and the position: no document text
        raise UnsafeInputError(f"{origin}: malformed XML: {exc}") from exc
    except LookupError as exc:  # the encoding= name is the document's text: not repeated
        raise UnsafeInputError(f"{origin}: malformed XML: unknown character encoding") from exc
    except (ValueError, RecursionError) as exc:
        raise UnsafeInputError(f"{origin}: malformed XML ({type(exc).__name__})") from exc
    if _element_depth_exceeds(root, max_depth):
        raise UnsafeInputError(f"{origin}: XML nesting deeper than {max_depth} levels")
    return root


_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (about 10x faster: a pack's config data is read on
every `eval`), else the pure-Python one. Both resolve and construct plain data only."""



def _safe_load(text: str) -> Any:
    """Plain data from YAML text with one of PyYAML's safe loaders, when every reader would read the same data.

    PyYAML keeps the last of two equal keys and lets a merge key (`<<`) supply keys an explicit one
    silently overrides, so a reader of the file (a reviewer seeing `thresholds:` tightened at the top)
    and the gate (using a second `thresholds:` further down) would disagree on what it says. PyYAML also
    reads YAML 1.1, where `0300` is 192, `1_000` and `4:10` are numbers and `9.5e1` is text, while YAML 1.2
    readers (and people) read 300, text, text and 95. Such keys and plain values are refused, naming their
    position only (never their text): quoting a value, or writing the number in plain decimal, settles it.
    """
    loader = _SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _refuse_two_readings(loader, node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


_MERGE_TAG = "tag:yaml.org,2002:merge"
_TEXT_TAG = "tag:yaml.org,2002:str"
_CORE_NOT_TEXT_STARTS = frozenset("~nNtTfF.+-0123456789") | {""}
"""First characters of every plain scalar YAML 1.2's core schema reads as other than text (null, booleans,
numbers, infinities, NaN): a value PyYAML resolved as text and starting otherwise is text to both."""
_CORE_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_CORE_WORDS: dict[str, Any] = {
    **dict.fromkeys(("", "~", "null", "Null", "NULL")),
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), float("inf")),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), float("-inf")),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), float("nan")),
}
"""YAML 1.2's core schema (spec 10.3.2) for plain scalars; anything else it reads as text."""


def _core_reading(text: str) -> Any:
    """What a YAML 1.2 reader makes of a plain scalar."""
    if text in _CORE_WORDS:
        return _CORE_WORDS[text]
    if _CORE_INT.fullmatch(text):
        return int(text, 8 if text.startswith("0o") else 16 if text.startswith("0x") else 10)
    return float(text) if _CORE_FLOAT.fullmatch(text) else text


def _same_reading(ours: Any, core: Any) -> bool:
    """Whether PyYAML's value of a plain scalar is YAML 1.2's (a date PyYAML reads where 1.2 reads text is kept)."""
    if isinstance(ours, date) and isinstance(core, str):
        return True
    if isinstance(ours, float) and isinstance(core, float) and ours != ours and core != core:  # both NaN
        return True
    return type(ours) is type(core) and bool(ours == core)


def _refuse_two_readings(loader: Any, root: yaml.Node) -> None:
    """Raise a ConstructorError at the first merge key, repeated key, or plain value YAML 1.1 and 1.2 read apart.

    Values are built with the loader itself (so `1` and `0x1`, or `yes` and `true`, are one key, as in the
    constructed data) and cached there for the construction that follows. Aliases are refused before
    this runs, so the nodes form a tree; the walk uses a stack, never recursion.
    """
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _TEXT_TAG and node.value[:1] not in _CORE_NOT_TEXT_STARTS:
                continue  # text to both readers: most values are, and building each again costs the load twice
            if not node.style and loader.resolve(yaml.ScalarNode, node.value, (True, False)) == node.tag \
                    and not _same_reading(loader.construct_object(node), _core_reading(node.value)):
                raise yaml.constructor.ConstructorError(
                    None, None, "a plain value YAML 1.1 and YAML 1.2 read differently (quote it, or write a number "
                    "in plain decimal)", node.start_mark)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    raise yaml.constructor.ConstructorError(None, None, "merge keys (<<) are not allowed", key_node.start_mark)
                key = loader.construct_object(key_node, deep=True)
                try:
                    repeated = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: construction refuses it with its own message
                    repeated = False
                if repeated:
                    raise yaml.constructor.ConstructorError(None, None, "found a mapping key set twice", key_node.start_mark)
                stack.extend((key_node, value_node))


_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _too_deep_or_aliased(text: str, max_depth: int) -> bool:
    """Whether collections nest deeper than `max_depth`; raises on an alias. Nothing is built yet.

    Both parsers produce events without recursion, so this pass is safe on any input. An alias is how
    YAML billion-laughs bombs are built; a nesting bomb is refused here because libyaml's composer
    recurses in C, where Python's recursion limit does not stop it.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_SAFE_LOADER):
        if isinstance(event, yaml.AliasEvent):
            # libyaml's events carry yaml._yaml.Mark, which the stubs do not accept here; ComposerError only formats it
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not allowed", event.start_mark)  # type: ignore[arg-type]
        if isinstance(event, _OPENS):
            depth += 1
            if depth > max_depth:
                return True
        elif isinstance(event, _CLOSES):
            depth -= 1
    return False


def loads_yaml(data: bytes, origin: str, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Parse YAML safely: no tags beyond plain data, no aliases, bounded nesting."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsafeInputError(f"{origin}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        if _too_deep_or_aliased(text, max_depth):
            raise UnsafeInputError(f"{origin}: YAML nesting deeper than {max_depth} levels")
        value = _safe_load(text)
    except yaml.YAMLError as exc:
        raise UnsafeInputError(f"{origin}: malformed YAML{_yaml_problem(exc)}") from exc
    except RecursionError as exc:
        raise UnsafeInputError(f"{origin}: YAML nesting too deep") from exc
    if _value_depth_exceeds(value, max_depth):
        raise UnsafeInputError(f"{origin}: YAML nesting deeper than {max_depth} levels")
    return value


_QUOTED = re.compile(r"'([^']*)'")
_TOKEN = re.compile(r"<[a-z ]+>|.{1,2}|\\[xuU][0-9a-fA-F]+")
"""What PyYAML quotes that is not document text: a token name (`<scalar>`), one character or its escape."""


def _mask_quoted(problem: str) -> str:
    """PyYAML's problem text with each quoted piece of the document (a tag, a name) replaced by `…`."""
    return _QUOTED.sub(lambda m: m.group(0) if _TOKEN.fullmatch(m.group(1)) else "'…'", problem)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """Where and what PyYAML found wrong, without its snippet of the document.

    PyYAML's own message quotes the offending line; only the position and the problem (with any
    quoted document text masked) are kept.
    """
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        problem = _mask_quoted(exc.problem or "syntax error")
        return f" at line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}: {problem}"
    if isinstance(exc, yaml.reader.ReaderError):
        return f" at character {exc.position}: {exc.reason}"
    return f" ({type(exc).__name__})"


def _value_depth_exceeds(value: Any, max_depth: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return False


def _staging_name(target: Path) -> Path:
    """A name beside `target` that no other process or thread uses (hidden, `.tmp`, same file system)."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")


def _create_staged(target: Path, mode: int) -> tuple[int, Path]:
    """Create a new staging file for `target` (refusing an existing one) with permissions `mode` minus the umask."""
    while True:
        staged = _staging_name(target)
        try:
            return os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode), staged
        except FileExistsError:  # pragma: no cover - a 128-bit random name taken already
            continue


@contextmanager
def atomic_open(path: Path, binary: bool = False, durable: bool = False, mode: int = 0o666) -> Iterator[IO[Any]]:
    """A handle whose contents replace `path` in one rename when the block ends without an exception.

    Readers and concurrent writers see the old file or the new one, never half of one; an exception
    leaves `path` as it was and removes the staging file. `durable` syncs the bytes to disk before
    the rename (the lock file: a crash must not leave an empty approval). `mode` 0o600 keeps a file
    private to its owner; the umask applies either way.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, staged = _create_staged(path, mode)
    try:
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(staged, path)
    finally:
        staged.unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes | str, durable: bool = False, mode: int = 0o666) -> None:
    """Write `data` (bytes as they are, text as UTF-8) to `path` whole or not at all (see `atomic_open`)."""
    with atomic_open(path, binary=isinstance(data, bytes), durable=durable, mode=mode) as handle:
        handle.write(data)


@contextmanager
def exclusive_directory(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on `directory` (flock on the directory itself) between processes.

    For read-modify-write of a file in it, or renaming a set of files together; no lock file is left
    beside them.
    """
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def publish_together(directory: Path, writers: Sequence[tuple[Path, Callable[[Path], object]]], mode: int = 0o666) -> None:
    """Write each file under a staging name, then rename them all holding a lock on `directory`.

    Each `(target, write)` pair writes its file through `write(staging path)`. Each file appears
    whole, and the set of them appears as one: a concurrent run renames its own set before or after
    this one, never in between. The directory itself is the lock, so no lock file lies among them.
    """
    directory.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for target, write in writers:
            fd, name = _create_staged(target, mode)
            os.close(fd)
            staged.append((name, target))
            write(name)
        with exclusive_directory(directory):
            for temporary, target in staged:
                os.replace(temporary, target)
    finally:
        for temporary, _target in staged:
            temporary.unlink(missing_ok=True)
