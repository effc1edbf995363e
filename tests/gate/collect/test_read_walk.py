"""walk_paths: the files of a folder in os.walk's order, never what a link leads to outside it,
never a FIFO, socket or device, and no endless walk through links to folders."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from gate.collect.read import walk_paths


def _walk(*paths: Path, wanted: bool = True) -> tuple[list[str], list[str]]:
    notices: list[str] = []
    found = walk_paths(
        list(paths),
        (lambda p: p.suffix in (".yaml", ".json")) if wanted else None,
        notices.append,
    )
    base = paths[0] if paths[0].is_dir() else paths[0].parent
    return [p.relative_to(base).as_posix() if not explicit else str(p) for p, explicit in found], notices


def _tree(root: Path) -> None:
    for rel in ("b.yaml", "a.json", "z/c.yaml", "z/y/d.yaml", "m/e.json", "m/notes.txt", ".hidden/f.yaml"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("{}")
    (root / "node_modules").mkdir()
    (root / "node_modules" / "g.json").write_text("{}")


def test_order_and_skipped_folders_are_those_of_os_walk(tmp_path: Path) -> None:
    _tree(tmp_path)
    expected: list[str] = []
    for root, dirs, files in os.walk(tmp_path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "node_modules")
        expected += [(Path(root) / f).relative_to(tmp_path).as_posix() for f in sorted(files)]
    found, notices = _walk(tmp_path, wanted=False)
    assert found == expected == ["a.json", "b.yaml", "m/e.json", "m/notes.txt", "z/c.yaml", "z/y/d.yaml"]
    assert notices == []
    assert _walk(tmp_path)[0] == ["a.json", "b.yaml", "m/e.json", "z/c.yaml", "z/y/d.yaml"]


def test_links_out_of_the_walked_folder_are_skipped_with_a_notice(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text("{}")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "own.yaml").write_text("{}")
    (repo / "link.yaml").symlink_to(outside / "secret.yaml")
    (repo / "relative.yaml").symlink_to("../outside/secret.yaml")
    (repo / "gone.yaml").symlink_to(outside / "missing.yaml")
    (repo / "folder").symlink_to(outside)
    (repo / "up").symlink_to("..")
    (repo / "tool").symlink_to("/bin/sh")  # not an input by its name: skipped silently
    found, notices = _walk(repo)
    assert found == ["own.yaml"]
    assert notices == [
        f"skipped {repo / name}: symbolic link leads outside {repo}"
        for name in ("folder", "gone.yaml", "link.yaml", "relative.yaml", "up")
    ]


def test_links_inside_the_folder(tmp_path: Path) -> None:
    """A link to a file inside is read; a link to a folder inside is not followed (the folder is
    walked where it lies); a link that cannot be followed is yielded, for reading to report."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "real.yaml").write_text("{}")
    (tmp_path / "alias.yaml").symlink_to("sub/real.yaml")
    (tmp_path / "again").symlink_to("sub")
    (tmp_path / "sub" / "loop").symlink_to("..")
    (tmp_path / "self").symlink_to(".")
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    (tmp_path / "dangling.yaml").symlink_to("nowhere.yaml")
    found, notices = _walk(tmp_path)
    assert found == ["a.yaml", "alias.yaml", "b.yaml", "dangling.yaml", "sub/real.yaml"]
    assert notices == []


def test_a_walk_through_a_link_named_explicitly(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.yaml").write_text("{}")
    (tmp_path / "named").symlink_to("real")
    found, notices = _walk(tmp_path / "named")
    assert found == ["a.yaml"] and notices == []


def test_fifos_and_sockets_are_skipped_with_a_notice(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text("{}")
    os.mkfifo(tmp_path / "p.yaml")
    os.mkfifo(tmp_path / "q.txt")  # not an input by its name: skipped silently
    (tmp_path / "pipe.json").symlink_to("p.yaml")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "s.json"))
        found, notices = _walk(tmp_path)
    assert found == ["ok.yaml"]
    assert notices == [
        f"skipped {tmp_path / 'p.yaml'}: a named pipe (FIFO), not a regular file",
        f"skipped {tmp_path / 'pipe.json'}: a named pipe (FIFO), not a regular file",
        f"skipped {tmp_path / 's.json'}: a socket, not a regular file",
    ]


def test_a_notice_shows_control_characters_escaped(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "x\n::error::owned\x1b[2J.yaml").symlink_to("/etc/hostname")
    _, notices = _walk(repo)
    assert notices == [
        f"skipped {repo}/x\\x0a::error::owned\\x1b[2J.yaml: symbolic link leads outside {repo}"
    ]


def test_a_named_link_out_of_the_working_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The change under review may turn a named input into a link to the runner's files."""
    from gate.collect.base import CollectError

    secret = tmp_path / "outside" / "id.json"
    secret.parent.mkdir()
    secret.write_text('{"secret": 1}', encoding="utf-8")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "sbom.json").symlink_to(secret)
    (repo / "sboms").symlink_to(secret.parent)
    (repo / "inside.json").write_text("{}", encoding="utf-8")
    (repo / "alias.json").symlink_to(repo / "inside.json")
    monkeypatch.chdir(repo)
    for named in ("sbom.json", "sboms", "sboms/id.json"):
        with pytest.raises(CollectError, match="symbolic link leads outside the working directory"):
            walk_paths([Path(named)])
    assert walk_paths([Path("alias.json")]) == [(Path("alias.json"), True)]
    assert walk_paths([secret]) == [(secret, True)]  # named outside: the caller's choice
