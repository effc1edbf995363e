"""What the machine-readable reports share: where a finding is, relative to the source root, and a
fingerprint that names the same finding across runs."""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gate.decision import Decision, Finding

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Control characters a log or web page would act on (colours, cursor moves) instead of showing.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Place:
    """A subject's file as reports name it: a forward-slash path relative to the source root when the
    file lies inside it, else the absolute path."""

    path: str
    relative: bool


def source_root() -> Path:
    """The folder reports make paths relative to: the working directory, which is the repository
    root in a CI job."""
    return Path.cwd()


def place(path: str | None, root: Path) -> Place | None:
    """Where `path` (as the collector recorded it) lies relative to `root`; None for no path."""
    if not path:
        return None
    posix = path
    if not posixpath.isabs(posix):
        norm = posixpath.normpath(posix)
        if norm != ".." and not norm.startswith("../"):
            return Place(norm, True)
        posix = posixpath.normpath(posixpath.join(root.as_posix(), posix))
    absolute = PurePosixPath(posixpath.normpath(posix))
    base = PurePosixPath(root.as_posix())
    if absolute.is_relative_to(base) and absolute != base:
        return Place(absolute.relative_to(base).as_posix(), True)
    return Place(absolute.as_posix(), False)


def display_path(f: Finding, root: Path) -> str | None:
    """The finding's file as a report shows it (relative when possible), or None."""
    p = place(f.subject.path, root)
    return p.path if p else None


def area(check: str) -> str:
    """The area of a check: its id up to the first dash (`SBOM-VULN-HIGH` is in `SBOM`)."""
    return check.split("-", 1)[0] or check


def fingerprints(decision: Decision, root: Path) -> list[str]:
    """One hex sha256 per finding, in the decision's order.

    It hashes what names the finding, not how it is worded or where its line is: the check, the
    subject kind, the file relative to the source root, and the subject ref. Findings that share
    all of these are told apart by their order among themselves.
    """
    seen: Counter[str] = Counter()
    out: list[str] = []
    for f in decision.findings:
        p = place(f.subject.path, root)
        key = "\x00".join((f.check, f.subject.kind, p.path if p else "", f.subject.ref or ""))
        n = seen[key]
        seen[key] += 1
        material = key if n == 0 else f"{key}\x00{n}"
        out.append(hashlib.sha256(material.encode("utf-8")).hexdigest())
    return out


def waiver_line(f: Finding) -> str:
    """`waived by W-1 (owner team, expires 2027-01-31): reason`, for a waived finding."""
    w = f.waiver or {}
    return (
        f"waived by {w.get('id') or '?'} (owner {w.get('owner') or '?'}, expires {w.get('expires') or '?'})"
        f": {w.get('reason') or 'no reason given'}"
    )


def with_ref(f: Finding) -> str:
    """The finding's message, followed by its ref in brackets when the message does not name it."""
    if f.subject.ref and f.subject.ref not in f.message:
        return f"{f.message} [{f.subject.ref}]"
    return f.message


def visible(text: str) -> str:
    """`text` with control characters other than tab, CR and LF shown as `\\xNN`."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def xml_safe(text: str) -> str:
    """`text` with the characters XML 1.0 cannot hold replaced by a visible `\\xNN` escape."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def context_of(decision: Decision) -> dict[str, object]:
    """The CI context the decision was made in (empty when the decision carries no input document)."""
    doc = decision.document or {}
    ctx = doc.get("context")
    return dict(ctx) if isinstance(ctx, dict) else {}


def decision_time(decision: Decision) -> str | None:
    """The decision time from its context as RFC 3339 UTC with milliseconds, or None."""
    ns = context_of(decision).get("time_ns")
    if not isinstance(ns, int) or isinstance(ns, bool):
        return None
    stamp = dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{(ns // 1_000_000) % 1000:03d}Z"


def audit_facts(decision: Decision) -> dict[str, object]:
    """The parts of the audit record reports show: its digest, log index and signer (empty when no
    record was written)."""
    return record_facts(decision.audit)


def record_facts(audit: Mapping[str, object] | None) -> dict[str, object]:
    """`audit_facts` of an audit field (a decision's, or a refusal's)."""
    a = audit or {}
    return {k: a[k] for k in ("record", "index", "signer") if a.get(k) is not None}
