"""Where the gate's config, policies and waivers come from, and whether it may use them.

The author of the change under review controls every file in the working tree and every checked
path. A config, policy folder, data file or waivers file read from there could turn a block into a
pass, so where the environment blocks each must either lie outside the working tree (a trusted
copy, e.g. the default branch's, fetched by the CI step) or have its digest pinned by the caller
(`--config-digest`, `--policy-digest`, `--waivers-digest`). Elsewhere an unpinned one is used,
with a warning. Every source's digest and origin is recorded in the decision.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from gate.errors import ConfigError

BUILT_IN = "built-in"
OUTSIDE = "outside the working tree"
PINNED = "pinned"
UNPINNED = "working tree, not pinned"

# Environment variables that name the checkout in CI: the working tree may be elsewhere than
# the working directory.
WORKSPACE_VARIABLES = ("GITHUB_WORKSPACE", "CI_PROJECT_DIR")
_FLAG = {"config": "--config-digest", "policies": "--policy-digest", "waivers": "--waivers-digest"}
# How a message names each kind of source.
_NOUN = {
    "config": "config",
    "policies": "policies",
    "waivers": "waivers file",
    "trust-root": "trust root",
    "signature-key": "public key (signatures.keys)",
}
_PLURAL = frozenset({"policies"})


@dataclass(frozen=True)
class Source:
    """One thing the decision was made from besides the inputs: its kind, where it was read, its
    `sha256:` digest, and its origin (built-in, outside the working tree, pinned, or unpinned)."""

    kind: str
    path: str | None
    digest: str
    origin: str

    def to_json(self) -> dict[str, str | None]:
        """The source as the decision JSON and the audit record name it."""
        return {"kind": self.kind, "path": self.path, "digest": self.digest, "origin": self.origin}


def untrusted_roots(
    paths: Iterable[Path], env: Mapping[str, str], working_tree: Iterable[Path] | None = None
) -> tuple[Path, ...]:
    """The folders and files the change under review controls: the working directory, the CI
    checkout, every checked path, and the git working tree each of these lies in.

    A caller whose change does not lie on this machine (`gate serve`, where it arrives in the
    request) names what it controls instead, as `working_tree`.
    """
    if working_tree is not None:
        roots = list(working_tree)
    else:
        roots = [Path.cwd(), *(Path(env[v]) for v in WORKSPACE_VARIABLES if env.get(v)), *paths]
    out: list[Path] = []
    for root in roots:
        try:
            resolved = root.resolve()
        except (OSError, RuntimeError):  # a link loop: compare it as given
            resolved = Path(os.path.abspath(root))
        out.append(resolved)
        top = _work_tree(resolved)
        if top is not None:
            out.append(top)
    # A checkout is never the whole file system: a job that runs in `/` (a container's default
    # folder) does not make every file on the machine the change's.
    return tuple(r for r in dict.fromkeys(out) if r != Path(r.anchor))


def _work_tree(path: Path) -> Path | None:
    """The top of the git working tree holding `path` (the nearest folder with a `.git`), if any."""
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder
    return None


def lies_in(path: Path, roots: Iterable[Path]) -> bool:
    """Whether `path` (resolved, links followed) is one of `roots` or lies below one."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return True  # unresolvable: as untrusted as it gets
    return any(resolved == root or resolved.is_relative_to(root) for root in roots)


def file_digest(path: Path) -> str:
    """`sha256:<hex>` of a regular file's bytes, as `sha256sum` prints them.

    Read as inputs are (gate.collect.read.read_bytes): without blocking, bounded, refused unless
    it is a regular file, since a FIFO or a device planted where a policy or waivers file is
    expected would otherwise hang the gate or never end.
    """
    from gate.collect.base import CollectError
    from gate.collect.read import read_bytes

    try:
        data = read_bytes(path, shown=str(path))
    except CollectError as exc:
        raise ConfigError(exc.message, exc.remediation, path=exc.path) from None
    return "sha256:" + hashlib.sha256(data).hexdigest()


def policy_digest(folders: Iterable[Path], data_files: Iterable[Path] = ()) -> str:
    """`sha256:<hex>` over the Rego files of the policy folders and the data files.

    It hashes `sha256sum`-style lines (`<hex>  <name>`) sorted by name, where a Rego file is named
    by its path inside its folder and a data file by its file name, so the digest does not depend
    on where the checkout lies. `gate policy digest` prints it.
    """
    from gate.policy.policy_set import policy_files, require_policy_folder

    lines: list[str] = []
    for folder in folders:
        require_policy_folder(folder)
        for f in policy_files(folder):
            name = f.name if f == folder else f.relative_to(folder).as_posix()
            lines.append(f"{file_digest(f).removeprefix('sha256:')}  {name}")
    for f in data_files:
        lines.append(f"{file_digest(f).removeprefix('sha256:')}  data/{f.name}")
    text = "".join(line + "\n" for line in sorted(lines))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _normal_pin(pin: str | None, kind: str) -> str | None:
    if pin is None:
        return None
    value = pin.strip().lower()
    hexpart = value.removeprefix("sha256:")
    if len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise ConfigError(
            f"{_FLAG.get(kind, 'the pin')} {pin!r} is not a sha256 digest",
            "give sha256:<64 hex digits>, as `sha256sum` or `gate policy digest` prints it",
        )
    return "sha256:" + hexpart


def judge(
    kind: str,
    paths: list[Path],
    digest: str,
    pin: str | None,
    roots: tuple[Path, ...],
) -> Source:
    """The origin of one source of `kind` (config, policies, waivers) read from `paths` with
    `digest`. A pin that does not match is refused at once, wherever the files lie."""
    wanted = _normal_pin(pin, kind)
    shown = ", ".join(str(p) for p in paths) or None
    if wanted is not None and wanted != digest:
        raise ConfigError(
            f"{_NOUN.get(kind, kind)} digest {digest} does not match {_FLAG.get(kind, 'the pin')} {wanted}",
            f"the {_NOUN.get(kind, kind)} changed since it was pinned: review it, then pin the new digest",
            path=shown,
        )
    if wanted is not None:
        return Source(kind, shown, digest, PINNED)
    if any(lies_in(p, roots) for p in paths):
        return Source(kind, shown, digest, UNPINNED)
    return Source(kind, shown, digest, OUTSIDE)


def refuse_unpinned(sources: Iterable[Source], environment: str, blocks: bool) -> list[str]:
    """Refuse (ConfigError, exit 2) an unpinned source from the working tree where the
    environment blocks; elsewhere return one warning per such source."""
    notices: list[str] = []
    for s in sources:
        if s.origin != UNPINNED:
            continue
        flag = _FLAG.get(s.kind)
        noun = _NOUN.get(s.kind, s.kind)
        lies, comes, it = ("lie", "come", "them") if s.kind in _PLURAL else ("lies", "comes", "it")
        pin = f"pin {it} after review with {flag} {s.digest}" if flag else f"keep {it} outside the checkout"
        if blocks:
            raise ConfigError(
                f"the {noun} {lies} in the working tree, which the change under review controls,"
                f" and {'are' if s.kind in _PLURAL else 'is'} not pinned: refused in {environment!r},"
                " an environment that blocks",
                f"read the {noun} from a trusted place outside the checkout (e.g. the default"
                f" branch's copy), or {pin}",
                path=s.path,
            )
        notices.append(
            f"warning: {s.path}: the {noun} {comes} from the working tree and"
            f" {'are' if s.kind in _PLURAL else 'is'} not pinned;"
            f" an environment that blocks refuses it ({pin})"
        )
    return notices
