"""walk_paths leaves out what `--exclude` patterns and the walked folder's `.gitignore` files
match, as git does, and says why; files named explicitly are always read."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gate.collect.read import STDIN, exclude_patterns, walk_paths
from gate.errors import ConfigError


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def _walk(root: Path, *exclude: str) -> tuple[list[str], list[tuple[str, str, bool]]]:
    told: list[tuple[str, str, bool]] = []
    found = walk_paths(
        [root],
        lambda p: p.suffix in (".yaml", ".json"),
        exclude=exclude_patterns(exclude),
        ignored=lambda p, reason, folder: told.append((p.relative_to(root).as_posix(), reason, folder)),
    )
    return [p.relative_to(root).as_posix() for p, _ in found], told


def test_root_and_nested_gitignore_files_are_honoured_as_git_does(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            ".gitignore": "# build output\nbuild/\n*.generated.json\n!keep.generated.json\n/top-only.yaml\n",
            "build/bom.json": "{}",
            "a.generated.json": "{}",
            "keep.generated.json": "{}",
            "top-only.yaml": "{}",
            "svc/top-only.yaml": "{}",
            "svc/.gitignore": "local.yaml\n!b.generated.json\n",
            "svc/local.yaml": "{}",
            "svc/b.generated.json": "{}",
            "svc/c.generated.json": "{}",
            "svc/deep/local.yaml": "{}",
            "other/local.yaml": "{}",
            "notes.txt": "",
        },
    )
    found, told = _walk(tmp_path)
    assert found == [
        "keep.generated.json",
        "other/local.yaml",
        "svc/b.generated.json",  # re-included by the deeper .gitignore
        "svc/top-only.yaml",  # `/top-only.yaml` is anchored to the root's folder
    ]
    assert told == [
        ("a.generated.json", "ignored by `*.generated.json` in .gitignore", False),
        ("build", "ignored by `build/` in .gitignore", True),
        ("top-only.yaml", "ignored by `/top-only.yaml` in .gitignore", False),
        ("svc/c.generated.json", "ignored by `*.generated.json` in .gitignore", False),
        ("svc/local.yaml", "ignored by `local.yaml` in svc/.gitignore", False),
        ("svc/deep/local.yaml", "ignored by `local.yaml` in svc/.gitignore", False),
    ]


def test_exclude_patterns_are_relative_to_the_walked_folder_and_win_over_a_negation(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            ".gitignore": "!fixtures/\n",
            "tests/fixtures/bad.json": "{}",
            "tests/unit.yaml": "{}",
            "fixtures/top.json": "{}",
            "x.lock.json": "{}",
            "catalog-info.yaml": "{}",
        },
    )
    found, told = _walk(tmp_path, "tests/fixtures/", "*.lock.json", "/fixtures")
    assert found == ["catalog-info.yaml", "tests/unit.yaml"]
    assert told == [
        ("fixtures", "matches the exclude pattern `/fixtures`", True),
        ("x.lock.json", "matches the exclude pattern `*.lock.json`", False),
        ("tests/fixtures", "matches the exclude pattern `tests/fixtures/`", True),
    ]


def test_named_files_and_stdin_are_never_left_out(tmp_path: Path) -> None:
    _tree(tmp_path, {".gitignore": "*.json\n", "bom.json": "{}"})
    named = tmp_path / "bom.json"
    found = walk_paths([named, Path(STDIN)], exclude=exclude_patterns(["*.json"]))
    assert found == [(named, True), (Path(STDIN), True)]
    assert _walk(tmp_path)[0] == []


def test_an_unreadable_or_oversized_gitignore_ignores_nothing_and_says_so(tmp_path: Path) -> None:
    _tree(tmp_path, {"a.yaml": "{}"})
    (tmp_path / ".gitignore").write_bytes(b"a.yaml\n" + b"#" * (1024 * 1024))
    notices: list[str] = []
    found = walk_paths([tmp_path], notice=notices.append)
    assert [p.name for p, _ in found] == ["a.yaml"]
    assert len(notices) == 1 and "not read, nothing it lists is ignored" in notices[0]
    assert notices[0].startswith(f"{tmp_path / '.gitignore'}: ")


@pytest.mark.parametrize("pattern", ["", "   ", "!keep.json", "# a comment"])
def test_an_exclude_that_excludes_nothing_is_refused(pattern: str) -> None:
    with pytest.raises(ConfigError, match="excludes nothing"):
        exclude_patterns([pattern])


def test_matching_stays_cheap_on_a_large_walk(tmp_path: Path) -> None:
    """4,000 files under a .gitignore of 150 patterns and 20 nested ones: matching adds little to
    the walk (one matching per candidate file and folder level; patterns compiled once)."""
    (tmp_path / ".gitignore").write_text("".join(f"build-{i}/\n*.tmp{i}\n" for i in range(75)))
    for d in range(20):
        src = tmp_path / f"pkg{d}" / "src"
        src.mkdir(parents=True)
        (tmp_path / f"pkg{d}" / ".gitignore").write_text("dist/\ncoverage/\n*.log\n!keep.log\nlocal.json\n")
        for f in range(100):
            (src / f"f{f}.json").write_text("{}", encoding="utf-8")
            (src / f"f{f}.ts").write_text("", encoding="utf-8")
    start = time.perf_counter()
    found = walk_paths([tmp_path], lambda p: p.suffix == ".json")
    took = time.perf_counter() - start
    for gitignore in tmp_path.rglob(".gitignore"):
        gitignore.unlink()
    start = time.perf_counter()
    plain = walk_paths([tmp_path], lambda p: p.suffix == ".json")
    plain_took = time.perf_counter() - start
    assert found == plain and len(found) == 2000
    assert took < 1.5 + 3 * plain_took, (took, plain_took)
