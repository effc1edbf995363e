"""The collector contract: what every input-kind module implements, and the settings they get."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gate.errors import InputError

if TYPE_CHECKING:
    from gate.collect.files import ParsedFile


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
    artifacts: tuple[Path, ...] = ()
    max_bytes: int = 64 * 1024 * 1024
    base_dir: Path = field(default_factory=Path.cwd)


class CollectorModule(Protocol):
    """One input kind. Each `gate/collect/<kind>.py` module provides these names."""

    KIND: str
    SECTION: str

    def recognise(self, parsed: ParsedFile) -> bool:
        """Whether the parsed file is of this kind (by content, not by name alone)."""
        ...

    def collect(self, parsed: ParsedFile, settings: CollectSettings) -> list[dict[str, Any]]:
        """Normalise the file into items of the input document's SECTION; raise CollectError on failure."""
        ...
