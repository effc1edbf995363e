"""Untrusted text made safe for a terminal or a CI log.

Entity names, owners, step ids, file names and messages come from the change under review. Printed
as they are, a newline in one starts a line of the author's choosing (`::error ...`,
`::add-mask::`, `::stop-commands::` are workflow commands to GitHub Actions), and an escape
sequence moves the cursor, recolours or hides text. `terminal_safe` shows every such character as
a visible escape, so one string stays on its one line and prints as what it is.
"""

from __future__ import annotations

import re

# C0 controls (newline and tab included), DEL, C1 controls, the Unicode line and paragraph
# separators, and the bidirectional overrides and isolates (which reorder what a reader sees).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# The Actions runner reads a line as a workflow command when, past leading white space, it starts
# with `::`; a string the gate prints at the start of a line must not.
_COMMAND_START = re.compile(r"\s*:(?=:)")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """`text` with every control character, DEL, U+2028/U+2029 and bidi control shown as `\\xNN` or
    `\\uNNNN`, and a leading `::` as `\\x3a:`: one line, with nothing a terminal or a CI log would
    act on, wherever on the line it is printed."""
    safe = _UNSAFE.sub(_escape, text)
    start = _COMMAND_START.match(safe)
    if start is not None:
        safe = safe[: start.end() - 1] + "\\x3a" + safe[start.end() :]
    return safe
