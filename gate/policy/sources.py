"""The Rego sources `gate policy test` and `gate policy check` work on: what `gate check` loads,
tests included, each module with the path a person should open."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gate.engine.opa import ModuleTree, write_modules
from gate.policy.policy_set import build_policy_set, policy_files, user_module_name
from gate.resources import shipped


@dataclass(frozen=True)
class Sources:
    """The modules and tests `gate check` would load, each with the path a person should open."""

    modules: dict[str, str]
    display: dict[str, str]

    def tree(self, root: Path) -> ModuleTree:
        """Write every module under root; errors then name the display paths."""
        tree = write_modules(root, self.modules)
        return ModuleTree(tree.root, {rel: self.display.get(n, n) for rel, n in tree.names.items()})


def shown(path: Path) -> str:
    """The path relative to the working directory when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def shipped_dir() -> Path | None:
    """The shipped library as a folder on disk (None if it only exists inside an archive)."""
    root = shipped("policies")
    return root if isinstance(root, Path) else None


def load_sources(policy_dirs: Sequence[Path]) -> Sources:
    """The shipped library, the user's folders and the generated conftest adapters, tests included."""
    policy = build_policy_set(list(policy_dirs), {}, [])
    modules = {**policy.modules, **policy.tests}
    display: dict[str, str] = {}
    lib = shipped_dir()
    for name in modules:
        if name.startswith("lib/") and lib is not None:
            display[name] = shown(lib.joinpath(*name.split("/")[1:]))
    for d in policy_dirs:
        for f in policy_files(d):
            display[user_module_name(f)] = f.as_posix()
    return Sources(modules, display)
