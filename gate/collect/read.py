"""Read input files safely: regular files only, bounded in size, UTF-8 text; walk folders without
following links out; the bounds every parser keeps (size, nesting, integer length)."""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from gate.collect.base import CollectError
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


def shown_path(path: str | Path) -> str:
    """A path for a one-line message, escaped as every untrusted string the gate prints is
    (gate.report.escape.terminal_safe)."""
    return terminal_safe(str(path))


def warn_on_stderr(message: str) -> None:
    """Print a notice of the walk as the command line prints warnings: `gate: warning: ...`."""
    sys.stderr.write(f"gate: warning: {message}\n")


def walk_paths(
    paths: list[Path],
    wanted: Callable[[Path], bool] | None = None,
    notice: Callable[[str], None] = warn_on_stderr,
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
    """
    out: list[tuple[Path, bool]] = []
    keep = wanted if wanted is not None else (lambda _path: True)
    for p in paths:
        _refuse_link_out_of_cwd(p)
        if p.is_dir():  # a folder named explicitly is walked, through a link too
            out.extend((found, False) for found in _walk(p, keep, notice))
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


def _walk(top: Path, keep: Callable[[Path], bool], notice: Callable[[str], None]) -> list[Path]:
    """The files under `top` in os.walk's top-down order (a folder's files, then its folders)."""
    root = os.path.realpath(top)
    out: list[Path] = []
    folders = [str(top)]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            notice(f"skipped {shown_path(folder)}: cannot list the folder ({exc.strerror})")
            continue
        subfolders: list[str] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    if _follow(path, top, root, keep, notice):
                        out.append(path)
                elif entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIP_DIRS:
                        subfolders.append(entry.path)
                elif keep(path):
                    if entry.is_file(follow_symlinks=False):
                        out.append(path)
                    else:
                        kind = file_kind(entry.stat(follow_symlinks=False).st_mode)
                        notice(f"skipped {shown_path(path)}: {kind}, not a regular file")
            except OSError as exc:  # gone since it was listed
                notice(f"skipped {shown_path(path)}: {exc.strerror}")
        folders.extend(reversed(subfolders))
    return out


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
