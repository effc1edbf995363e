"""Escaping untrusted text for a terminal or a CI log."""

from __future__ import annotations

import re


def terminal_safe(text: str) -> str:
    """`text` with every C0 and C1 control character, DEL, U+2028/U+2029 and the bidi controls
    U+202A-U+202E and U+2066-U+2069 shown as a `\\xNN` or `\\uNNNN` escape: nothing in it can start
    a line, move the cursor, colour the output or reorder what is shown."""
    return re.sub(
        "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]",
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) <= 0xFF else f"\\u{ord(m.group()):04x}",
        text,
    )
