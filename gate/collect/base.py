"""The collector contract: what every input-kind module implements, and the settings they get."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from gate.errors import InputError

if TYPE_CHECKING:
    from gate.collect.parse import ParsedFile

# What a collector returns: the items it made, by the input document's section they go in
# ("sboms", "catalog", ...). Every collector returns this one shape, whatever it reads.
Sections: TypeAlias = dict[str, list[dict[str, Any]]]


class CollectError(InputError):
    """A file could not be read, parsed or collected; the message names the file and the fix."""


@dataclass(frozen=True)
class Identity:
    """A signer identity the config allows: OIDC issuer and a regex over the certificate SAN."""

    issuer: str
    san_regex: str


@dataclass(frozen=True)
class CollectSettings:
    """What collectors need from the config and the command line."""

    trust_root: str = "production"
    identities: tuple[Identity, ...] = ()
    # PEM public keys from `signatures.keys`, for key-signed bundles and DSSE envelopes.
    keys: tuple[Path, ...] = ()
    artifacts: tuple[Path, ...] = ()
    max_bytes: int = 64 * 1024 * 1024
    base_dir: Path = field(default_factory=Path.cwd)
    # Keep each input file's parsed content too (the `files` section), for conftest-style rules.
    keep_files: bool = False
    # The folders checked files may refer to (Backstage placeholders), resolved: each folder named
    # on the command line, and the folder of each file named; none means each file's own folder.
    roots: tuple[str, ...] = ()


class CollectorModule(Protocol):
    """One input kind. Each `gate/collect/<kind>.py` module provides these names."""

    KIND: str
    SECTIONS: tuple[str, ...]

    def recognise(self, parsed: ParsedFile) -> bool:
        """Whether the parsed file is of this kind (by content, not by name alone)."""
        ...

    def collect(self, parsed: ParsedFile, settings: CollectSettings) -> Sections:
        """Normalise the file into items by section (each one of SECTIONS); raise CollectError on failure."""
        ...
