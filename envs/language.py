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


TASK_WORDS = {  # checked in this order: a "put ... in the bowl" is a place, not a lift
    "push": ("push", "slide", "shove", "nudge"),
    "place": (
        "put",
        "place",
        "set",
        "drop",
        "transfer",
        " in the bowl",
        " on the plate",
        " into the bowl",
    ),
    "lift": ("pick up", "lift", "raise", "hoist", "hold it up", "grab"),
    "reach": ("touch", "reach", "tap", "go to", "move the gripper to", "hand over to"),
}
COLORS = ("red", "green", "blue")


def parse_instruction(text: str) -> dict:
    """Task, target colour and receptacle named by a free-form instruction, for `vla run`.

    "put the red cube in the blue bowl" -> {"task": "place", "target": "red", "receptacle": "bowl"}
    """
    low = f" {text.lower().strip()} "
    task = next((t for t, words in TASK_WORDS.items() if any(w in low for w in words)), None)
    colors = [c for c in COLORS if f" {c} " in low or f" {c}," in low]
    target = min(colors, key=low.index) if colors else None
    if task is None or target is None:
        raise ValueError(
            f"cannot tell the task and the cube from {text!r}: name a cube colour ({', '.join(COLORS)}) and an "
            "action: touch/reach, pick up/lift, put/place ... in the bowl / on the plate, push ... to the orange mark"
        )
    receptacle = None
    if task == "place":
        receptacle = "plate" if "plate" in low else "bowl"
    return {"task": task, "target": target, "receptacle": receptacle}
