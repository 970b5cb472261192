"""The frozen TEST paraphrases of both suites (envs/test_phrasings.json).

Written once, before any run used them, for the one evaluation a shipped checkpoint is
published with (`vla eval test_phrasings=true`). Never use them to choose anything: not a
layer, a readout, a threshold, a recipe or a checkpoint. Design on the training phrasings and
the dev paraphrases (instruction_set "heldout"). FINGERPRINT pins the file: an edit fails the
tests and every loader here, and each evaluation report prints the fingerprint it used.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

FILE = Path(__file__).with_name("test_phrasings.json")
FINGERPRINT = "4ee8bb8edb120fbc75ad6c307561417e5406d68d7e84b2c39d57755a2dee82bd"


def fingerprint() -> str:
    """The sha256 of the file's bytes."""
    return hashlib.sha256(FILE.read_bytes()).hexdigest()


@functools.cache
def load() -> dict[str, dict[str, tuple[str, ...]]]:
    """{suite: {task: phrasings}}, after checking the file is the frozen one."""
    found = fingerprint()
    if found != FINGERPRINT:
        raise ValueError(
            f"{FILE} changed (sha256 {found[:12]}..., frozen {FINGERPRINT[:12]}...): the test "
            "paraphrases are frozen; restore the file (git checkout) rather than edit it"
        )
    data = json.loads(FILE.read_text())
    return {suite: {t: tuple(p) for t, p in tasks.items()} for suite, tasks in data.items()}


def phrasings(suite: str, task: str) -> tuple[str, ...]:
    return load()[suite][task]
