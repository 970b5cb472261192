"""Instruction templates per task: phrasings used for training, and held-out paraphrases that
no demonstration uses, for generalisation tests. Slots: {obj} the target cube ("red cube"),
{place} the receptacle phrase ("in the bowl", "on the plate"), {mark} the push target."""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "reach": {
        "train": (
            "touch the {obj}",
            "reach for the {obj}",
            "move the gripper to the {obj}",
            "go to the {obj}",
        ),
        "heldout": (
            "tap the {obj} with your gripper",
            "bring your hand over to the {obj}",
        ),
    },
    "lift": {
        "train": (
            "pick up the {obj}",
            "lift the {obj}",
            "grab the {obj} and raise it",
            "raise the {obj} off the table",
        ),
        "heldout": (
            "take the {obj} and hold it up",
            "hoist the {obj} into the air",
        ),
    },
    "place": {
        "train": (
            "put the {obj} {place}",
            "place the {obj} {place}",
            "move the {obj} {place}",
            "set the {obj} down {place}",
        ),
        "heldout": (
            "drop the {obj} {place}",
            "transfer the {obj} {place}",
        ),
    },
    "push": {
        "train": (
            "push the {obj} to the {mark}",
            "slide the {obj} onto the {mark}",
            "shove the {obj} over to the {mark}",
        ),
        "heldout": (
            "nudge the {obj} until it sits on the {mark}",
            "move the {obj} to the {mark} without lifting it",
        ),
    },
}

INSTRUCTION_SETS = ("train", "heldout")
# The observation space's Text charset: every character an instruction may contain.
CHARSET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.'-!?"
MAX_LENGTH = 128


def templates(task: str, instruction_set: str) -> tuple[str, ...]:
    if instruction_set not in INSTRUCTION_SETS:
        raise ValueError(
            f"instruction_set must be one of {INSTRUCTION_SETS}, got {instruction_set!r}"
        )
    return TEMPLATES[task][instruction_set]
