"""'Did you mean ...' for mistyped names: commands, robots, tasks, config keys and values."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A sentence naming the closest valid choices, then all of them."""
    choices = sorted(set(choices))
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"{hint} Valid choices: {', '.join(choices)}."


def unknown(kind: str, word: str, choices: Iterable[str]) -> str:
    """Message for an unknown `kind` called `word`."""
    return f"Unknown {kind} {word!r}.{did_you_mean(word, choices)}"
