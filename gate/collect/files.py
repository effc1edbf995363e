"""Each input file's parsed content, as conftest hands it to its rules (the input document's
`files` section, present when the policies hold conftest-style packages).

conftest evaluates a file's content as `input`; where that content is a list (a YAML file of
several documents, or a list at the top of a JSON or YAML file) it evaluates each item in turn,
reporting under the same file (policy/engine.go, Engine.Check), and `--combine` hands every item
at once as `[{"path", "contents"}]`, one entry per item (parser.CombineConfigurations). One entry
here is one such item: the file's path as the gate shows it, the item's index and first line,
and its content.
"""

from __future__ import annotations

from typing import Any

from gate.collect.parse import ParsedFile


def file_entries(parsed: ParsedFile) -> list[dict[str, Any]]:
    """The entries of one parsed file (none for XML, whose content conftest parses otherwise)."""
    if parsed.syntax == "xml":
        return []
    docs: list[Any] = list(parsed.documents)
    starts: list[int | None] = list(parsed.doc_lines) if parsed.syntax == "yaml" else []
    if parsed.syntax == "jsonl":
        starts = _jsonl_lines(parsed)
    if len(docs) == 1 and isinstance(docs[0], list):
        docs, starts = list(docs[0]), []
    # Shared with the collectors, not copied: the registry lets no collector release what it
    # has read (ParsedFile.sole_reader) when it takes these entries.
    return [
        {
            "path": parsed.path,
            "document": index,
            "line": starts[index] if index < len(starts) else None,
            "contents": doc,
        }
        for index, doc in enumerate(docs)
    ]


def _jsonl_lines(parsed: ParsedFile) -> list[int | None]:
    """The 1-based line of each non-blank line of a JSON Lines file (one document each)."""
    return [n for n, line in enumerate(parsed.text.splitlines(), 1) if line.strip()]
