"""Text from pointers and Git, made safe to print on a terminal.

A collaborator's pointer can hold any Unicode in a model name, a metric key or a string
value. Printed raw, an ESC or CSI sequence would clear the screen, set the window title or
hide text, and a bidirectional override would make a line read differently from its bytes.
Every text renderer (tables, `show`, `diff` as text and Markdown, messages and errors) passes
what it prints through `printable`; JSON output is left exact (its encoder escapes these).
"""

from __future__ import annotations

_C0 = range(0x00, 0x20)
_DEL_AND_C1 = range(0x7F, 0xA0)  # C1 holds U+009B, a one-character CSI on many terminals
_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_LINE_SEPARATORS = (0x2028, 0x2029)

_ESCAPES: dict[int, str] = {c: f"\\x{c:02x}" for c in (*_C0, *_DEL_AND_C1)}
_ESCAPES.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})
_ESCAPES.update({c: f"\\u{c:04x}" for c in (*_BIDI, *_LINE_SEPARATORS)})
_ESCAPES_BUT_NEWLINE = {c: e for c, e in _ESCAPES.items() if c != 0x0A}


def printable(text: str) -> str:
    """`text` as one line with every control character escaped the way Python writes them
    (ESC becomes `\\x1b`, U+202E `\\u202e`, a newline `\\n`); other text unchanged."""
    return text if text.isprintable() else text.translate(_ESCAPES)


def printable_lines(text: str) -> str:
    """`printable` for text of several lines: each newline is kept."""
    return text if text.isprintable() else text.translate(_ESCAPES_BUT_NEWLINE)
