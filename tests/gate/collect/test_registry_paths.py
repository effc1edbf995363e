"""PathResolver resolves paths as Path.resolve does, symbolic links and `..` included."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gate.collect.registry import PathResolver, display_path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    real = tmp_path / "real"
    (real / "a" / "b").mkdir(parents=True)
    (real / "a" / "b" / "f.yaml").write_text("x: 1\n", encoding="utf-8")
    (real / "a" / "g.json").write_text("{}", encoding="utf-8")
    (tmp_path / "outside.yaml").write_text("y: 2\n", encoding="utf-8")
    os.symlink(real / "a", tmp_path / "link-to-a")
    os.symlink(tmp_path / "outside.yaml", real / "a" / "b" / "file-link.yaml")
    os.symlink("../g.json", real / "a" / "b" / "relative-link.json")
    return tmp_path


def test_resolves_like_path_resolve(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree / "real")
    resolve = PathResolver()
    paths = [
        tree / "real" / "a" / "b" / "f.yaml",
        tree / "link-to-a" / "b" / "f.yaml",
        tree / "link-to-a" / "b" / "file-link.yaml",
        tree / "real" / "a" / "b" / "relative-link.json",
        tree / "link-to-a" / ".." / "outside.yaml",
        Path("a/b/f.yaml"),
        Path("a/b/../g.json"),
        Path("."),
        Path("a"),
        Path("/"),
    ]
    for path in paths:
        assert resolve(path) == path.resolve(), path
        assert resolve(path) == path.resolve(), path  # from the cache


def test_walk_shows_the_same_paths(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    for f in (tree / "real").rglob("*"):
        assert display_path(f, tree, resolve=PathResolver()) == display_path(f, tree)
    assert display_path(tree / "link-to-a" / "g.json", tree / "real", resolve=PathResolver()) == "a/g.json"
