"""Read input files safely: regular files only, bounded in size, UTF-8 text; walk folders without
following links out; the bounds every parser keeps (size, nesting, integer length)."""

from __future__ import annotations

import errno
import functools
import os
import stat
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

from gate.collect.base import CollectError
from gate.errors import ConfigError
from gate.report.escape import terminal_safe

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 256
# Python refuses to convert an integer of more digits than this (its default
# sys.get_int_max_str_digits()) to or from decimal text: the input document could not be written.
MAX_INT_DIGITS = 4300


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, for messages ("a named pipe (FIFO)", ...)."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _not_regular(mode: int, shown: str) -> NoReturn:
    raise CollectError(
        f"{file_kind(mode)}, not a regular file: refused (reading it may never end)",
        "pass regular files only",
        path=shown,
    )


def _unreadable(exc: OSError, shown: str) -> NoReturn:
    if exc.errno == errno.ELOOP:
        raise CollectError(
            "symbolic link loop (the link leads back to itself)",
            "remove the link, or point it at a file",
            path=shown,
        ) from None
    raise CollectError(f"cannot read: {exc.strerror}", "check the path and permissions", path=shown) from None


# Opening never waits: not for a writer of a FIFO swapped in since the stat, nor for a device.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def read_bytes(path: Path, max_bytes: int = DEFAULT_MAX_BYTES, shown: str | None = None) -> bytes:
    """Read a regular file, refusing what is missing, unreadable, a symbolic link loop, not a
    regular file (a FIFO, socket or device, whose reading may never end) or over the size limit.

    The file is checked before it is opened and again once it is open (it may have been swapped),
    and opened without waiting, so no read blocks. Messages name the file `shown` (the path by
    default).
    """
    shown = shown if shown is not None else str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CollectError("no such file or directory", "check the path", path=shown) from None
    except OSError as exc:
        _unreadable(exc, shown)
    if not stat.S_ISREG(st.st_mode):
        _not_regular(st.st_mode, shown)
    if st.st_size > max_bytes:
        raise CollectError(
            f"file is {st.st_size} bytes, over the {max_bytes}-byte limit",
            "raise `limits.max_file_bytes` in gate.yaml if this file is legitimate",
            path=shown,
        )
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        _unreadable(exc, shown)
    try:
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                _not_regular(st.st_mode, shown)
            # A buffer of the file's size (read(n) allocates n bytes up front), then the rest of
            # a file that grew since.
            data = fh.read(st.st_size + 1)
            if len(data) > st.st_size:
                data += fh.read(max_bytes + 1 - len(data))
    except OSError as exc:
        _unreadable(exc, shown)
    if len(data) > max_bytes:
        raise CollectError(f"file grew over the {max_bytes}-byte limit while read", "", path=shown)
    return data


def read_head(path: Path, size: int = 1024 * 1024) -> bytes | None:
    """The first `size` bytes of a regular file, or None where it cannot be read (never waits:
    opened as read_bytes opens files)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            return fh.read(size)
    except OSError:
        return None


def read_stdin(stream: BinaryIO, max_bytes: int, shown: str) -> bytes:
    """Read standard input to its end, refusing a terminal (nothing is piped in: the read would
    wait for typing) and more than `max_bytes`."""
    try:
        interactive = stream.isatty()
    except (OSError, ValueError):
        interactive = False
    if interactive:
        raise CollectError(
            "standard input is a terminal, not an input",
            "pipe one input into `gate check -`, e.g. `gate check - < sbom.cdx.json`",
            path=shown,
        )
    chunks: list[bytes] = []
    total = 0
    try:
        while total <= max_bytes:
            chunk = stream.read(min(1024 * 1024, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CollectError(
            f"cannot read: {reason}", "pipe one input into `gate check -`", path=shown
        ) from None
    if total > max_bytes:
        raise CollectError(
            f"more than the {max_bytes}-byte limit on standard input",
            "raise `limits.max_file_bytes` in gate.yaml if this input is legitimate",
            path=shown,
        )
    return b"".join(chunks)


def decode_text(data: bytes, path: str) -> str:
    """Decode UTF-8 text, refusing empty, binary and non-UTF-8 content."""
    if not data or data.isspace():  # not data.strip(): no copy of a large file
        raise CollectError(
            "file is empty", "give a non-empty input file or remove it from the paths", path=path
        )
    if b"\x00" in data[:8192]:
        raise CollectError(
            "binary content, not a text input", "pass only YAML, JSON or XML inputs", path=path
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CollectError(
            f"not valid UTF-8 (byte {exc.start})", "save the file as UTF-8", path=path
        ) from None


def too_deep(name: str) -> NoReturn:
    """Refuse a document nested more than MAX_DEPTH levels deep."""
    raise CollectError(
        f"nested more than {MAX_DEPTH} levels deep",
        "inputs this deep are not real metadata",
        path=name,
    )


def check_depth(value: Any, name: str) -> None:
    """Refuse structures nested deeper than MAX_DEPTH, iteratively (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            too_deep(name)
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))


SKIP_DIRS = frozenset(("node_modules", "skeleton", "__pycache__", "vendor"))
# The name `gate check -` gives standard input.
STDIN = "-"
# A `.gitignore` larger than this is not read (real ones are a few KiB): a walk must stay cheap.
MAX_IGNORE_BYTES = 1024 * 1024


def shown_path(path: str | Path) -> str:
    """A path for a one-line message, escaped as every untrusted string the gate prints is
    (gate.report.escape.terminal_safe)."""
    return terminal_safe(str(path))


def warn_on_stderr(message: str) -> None:
    """Print a notice of the walk as the command line prints warnings: `gate: warning: ...`."""
    sys.stderr.write(f"gate: warning: {message}\n")


@functools.lru_cache(maxsize=4096)
def _ignore_pattern(line: str) -> Any:
    """One .gitignore line compiled (pathspec's GitIgnoreSpecPattern); the nested .gitignore
    files of a monorepo repeat their lines (`dist/`, `*.log`), each compiled once. Raises
    ValueError for a line that is not a pattern."""
    from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

    return GitIgnoreSpecPattern(line)


class Ignores:
    """Gitignore-style patterns (pathspec's GitIgnoreSpec) and the lines they were read from, so
    that a skip can name the pattern that caused it."""

    def __init__(self, lines: Sequence[str], origin: str) -> None:
        from pathspec import GitIgnoreSpec

        patterns = []
        self.lines: list[str] = []
        for line in lines:
            try:
                pattern = _ignore_pattern(line)
            except ValueError:  # git ignores a pattern it cannot read; so does the walk
                continue
            if pattern.include is not None:
                patterns.append(pattern)
                self.lines.append(line.strip())
        self.origin = origin
        self._spec = GitIgnoreSpec(patterns)

    def __bool__(self) -> bool:
        return bool(self.lines)

    def check(self, rel: str) -> tuple[bool | None, str]:
        """Whether the path `rel` (POSIX, relative to the patterns' folder; a folder ends in `/`)
        is ignored (True), re-included by a `!` pattern (False) or not matched (None), and the
        pattern that decided."""
        result = self._spec.check_file(rel)
        if result.include is None or result.index is None:
            return None, ""
        return result.include, self.lines[result.index]


def exclude_patterns(patterns: Sequence[str]) -> Ignores | None:
    """The `--exclude` / `exclude:` patterns compiled, or None when there are none. Raises
    ConfigError for a pattern that cannot be read."""
    if not patterns:
        return None
    from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

    for pattern in patterns:
        try:
            GitIgnoreSpecPattern(pattern)
        except ValueError as exc:
            raise ConfigError(
                f"exclude pattern {pattern!r} is not a valid glob: {exc}",
                "write it as a .gitignore line, e.g. `tests/fixtures/` or `*.lock.json`",
            ) from None
        if pattern.strip().startswith("!") or not pattern.strip() or pattern.strip().startswith("#"):
            raise ConfigError(
                f"exclude pattern {pattern!r} excludes nothing",
                "give a glob of the files or folders to leave out, e.g. `tests/fixtures/`",
            )
    return Ignores(patterns, "exclude")


def walk_paths(
    paths: list[Path],
    wanted: Callable[[Path], bool] | None = None,
    notice: Callable[[str], None] = warn_on_stderr,
    *,
    exclude: Ignores | None = None,
    ignored: Callable[[Path, str, bool], None] | None = None,
) -> list[tuple[Path, bool]]:
    """Expand directories into files (sorted, skipping hidden, vendored and skeleton folders).

    Returns (path, explicit): explicit files were named on the command line; files found in a
    directory walk are only inputs when their content is recognised. A walk yields the files
    `wanted` accepts (all by default). It does not follow links to folders (a folder inside the
    walked one is walked where it lies: no loop, no file twice), skips what a symbolic link leads
    to outside the walked folder (the change under review must not make the gate read the
    machine's files) and FIFOs, sockets and devices (reading them may never end), and tells
    `notice` in one line what it skipped. A link that cannot be followed (a loop, a missing
    target) inside the folder is yielded: reading it says what is wrong.

    A walk also skips what `exclude` matches (paths relative to the walked folder) and what the
    `.gitignore` files of the walked folder and its subfolders ignore, as git does (a folder's
    patterns apply beneath it, a deeper file's patterns win, an ignored folder is not entered);
    each file `wanted` accepts and each folder skipped so is told to `ignored` (path, reason,
    whether it is a folder).
    Files named explicitly, and `-` (standard input), are always yielded.
    """
    out: list[tuple[Path, bool]] = []
    keep = wanted if wanted is not None else (lambda _path: True)
    told = ignored if ignored is not None else (lambda _path, _reason, _folder: None)
    for p in paths:
        if str(p) == STDIN:
            out.append((p, True))
            continue
        _refuse_link_out_of_cwd(p)
        if p.is_dir():  # a folder named explicitly is walked, through a link too
            out.extend((found, False) for found in _walk(p, keep, notice, exclude, told))
        else:
            out.append((p, True))
    return out


def _refuse_link_out_of_cwd(path: Path) -> None:
    """Refuse a path named in the working directory that a symbolic link leads out of it: the
    change under review may have turned `sbom.json` into a link to the runner's files."""
    here = os.getcwd()
    if os.path.commonpath([os.path.abspath(path), here]) != here:
        return  # named outside the working directory: the caller's own choice
    try:
        target = os.path.realpath(path, strict=True)
    except (OSError, RuntimeError):
        return  # missing or a loop: reading it says so
    real_here = os.path.realpath(here)
    if os.path.commonpath([target, real_here]) != real_here:
        raise CollectError(
            "symbolic link leads outside the working directory",
            "name the file itself, not a link to it",
            path=shown_path(str(path)),
        )


# The .gitignore files met on the way down to a folder: (its path relative to the walked
# folder, with a trailing `/` or empty for the walked folder itself, its patterns).
_Chain = tuple[tuple[str, Ignores], ...]


def _read_ignores(entry: os.DirEntry[str], rel: str, notice: Callable[[str], None]) -> Ignores | None:
    """The patterns of a `.gitignore` met in a walk (a regular file, bounded in size), or None."""
    shown = shown_path(entry.path)
    try:
        if not entry.is_file(follow_symlinks=False):
            return None
        data = read_bytes(Path(entry.path), MAX_IGNORE_BYTES, shown)
    except (OSError, CollectError) as exc:
        reason = exc.message if isinstance(exc, CollectError) else exc.strerror
        notice(f"{shown}: not read, nothing it lists is ignored ({reason})")
        return None
    ignores = Ignores(data.decode("utf-8", "replace").splitlines(), f"{rel}.gitignore")
    return ignores if ignores else None


def _skip_reason(rel: str, exclude: Ignores | None, chain: _Chain) -> str | None:
    """Why the walk leaves out `rel` (relative to the walked folder; a folder ends in `/`), or
    None to keep it: an exclude pattern, else the deepest .gitignore with a pattern for it."""
    if exclude is not None:
        hit, pattern = exclude.check(rel)
        if hit:
            return f"matches the exclude pattern `{pattern}`"
    for base, ignores in reversed(chain):
        hit, pattern = ignores.check(rel[len(base) :])
        if hit is not None:
            return f"ignored by `{pattern}` in {shown_path(ignores.origin)}" if hit else None
    return None


def _walk(
    top: Path,
    keep: Callable[[Path], bool],
    notice: Callable[[str], None],
    exclude: Ignores | None,
    ignored: Callable[[Path, str, bool], None],
) -> list[Path]:
    """The files under `top` in os.walk's top-down order (a folder's files, then its folders)."""
    root = os.path.realpath(top)
    out: list[Path] = []
    folders: list[tuple[str, str, _Chain]] = [(str(top), "", ())]
    while folders:
        folder, prefix, chain = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            notice(f"skipped {shown_path(folder)}: cannot list the folder ({exc.strerror})")
            continue
        gitignore = next((e for e in entries if e.name == ".gitignore"), None)
        own = _read_ignores(gitignore, prefix, notice) if gitignore is not None else None
        if own is not None:
            chain = (*chain, (prefix, own))
        checked = exclude is not None or bool(chain)
        subfolders: list[tuple[str, str, _Chain]] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    if _follow(path, top, root, keep, notice) and not _left_out(
                        path, prefix + entry.name, exclude, chain, ignored, checked
                    ):
                        out.append(path)
                elif entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIP_DIRS and not _left_out(
                        path, f"{prefix}{entry.name}/", exclude, chain, ignored, checked
                    ):
                        subfolders.append((entry.path, f"{prefix}{entry.name}/", chain))
                elif keep(path) and not _left_out(
                    path, prefix + entry.name, exclude, chain, ignored, checked
                ):
                    if entry.is_file(follow_symlinks=False):
                        out.append(path)
                    else:
                        kind = file_kind(entry.stat(follow_symlinks=False).st_mode)
                        notice(f"skipped {shown_path(path)}: {kind}, not a regular file")
            except OSError as exc:  # gone since it was listed
                notice(f"skipped {shown_path(path)}: {exc.strerror}")
        folders.extend(reversed(subfolders))
    return out


def _left_out(
    path: Path,
    rel: str,
    exclude: Ignores | None,
    chain: _Chain,
    ignored: Callable[[Path, str, bool], None],
    checked: bool,
) -> bool:
    """Whether an exclude pattern or a .gitignore leaves `path` out of the walk (told to
    `ignored`); `checked` is false where there are no patterns at all (the usual walk: no cost)."""
    if not checked:
        return False
    reason = _skip_reason(rel, exclude, chain)
    if reason is None:
        return False
    ignored(path, reason, rel.endswith("/"))
    return True


def _follow(
    link: Path, top: Path, root: str, keep: Callable[[Path], bool], notice: Callable[[str], None]
) -> bool:
    """Whether a walk yields the file a symbolic link met in it leads to: one `keep` accepts,
    inside `root` (the walked folder `top`, resolved), a regular file or a link that cannot be
    followed (reading it says why). Links to folders are not followed."""
    try:
        mode: int | None = os.stat(link).st_mode
    except OSError:
        mode = None  # a loop, or a missing target
    is_dir = mode is not None and stat.S_ISDIR(mode)
    if (link.name in SKIP_DIRS) if is_dir else not keep(link):
        return False
    target = os.path.realpath(link)
    if target != root and not target.startswith(root.rstrip(os.sep) + os.sep):
        notice(f"skipped {shown_path(link)}: symbolic link leads outside {shown_path(top)}")
        return False
    if mode is None or stat.S_ISREG(mode):
        return True
    if not is_dir:
        notice(f"skipped {shown_path(link)}: {file_kind(mode)}, not a regular file")
    return False
