"""Instruction templates per task: phrasings used for training, dev paraphrases ("heldout": no
demonstration uses them, but they have guided design) and the frozen test paraphrases
(envs/test_phrasings.py: reported once per shipped checkpoint, never used to choose anything).
Slots: {obj} the target cube ("red cube"), {color} its colour alone ("red"), {place} the
receptacle phrase ("in the bowl", "on the plate"), {mark} the push target."""

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

# train_wide: the training phrasings and WIDER's (`vla collect instruction_set=train_wide`)
INSTRUCTION_SETS = ("train", "heldout", "test", "train_wide")

# Five more training phrasings per task, in the styles Meta-World's train_wide uses ("please ...",
# "could you ...", what needs to happen, another verb, the arm or gripper named): what stays
# constant within a task is then what it asks. A helper wrote them from the training phrasings
# alone, without the dev or test paraphrases; three that reused a dev paraphrase's verb or its
# words ("hoist", "nudge", "bring ... over to the") were replaced before any run.
WIDER: dict[str, tuple[str, ...]] = {
    "reach": (
        "please reach over to the {obj}",
        "could you move over to the {obj}",
        "the {obj} needs to be touched by the gripper",
        "approach the {obj}",
        "guide the arm to the {obj}",
    ),
    "lift": (
        "please pick the {obj} up off the table",
        "could you lift the {obj} into the air",
        "the {obj} needs to be lifted off the table",
        "elevate the {obj}",
        "use the gripper to raise the {obj}",
    ),
    "place": (
        "please put the {obj} {place}",
        "could you place the {obj} {place}",
        "the {obj} needs to end up {place}",
        "deposit the {obj} {place}",
        "use the arm to put the {obj} {place}",
    ),
    "push": (
        "please push the {obj} along the table to the {mark}",
        "could you slide the {obj} over to the {mark}",
        "the {obj} needs to be slid across the table onto the {mark}",
        "drive the {obj} across the table until it reaches the {mark}",
        "push the {obj} to the {mark} with the gripper",
    ),
}
# the verb-swap control: the same scene and object, the instruction of another task whose
# success does not make this scene's (a lift scene told to touch the cube, ...); reach has none
VERB_SWAP = {"lift": "reach", "place": "lift", "push": "lift"}
# The observation space's Text charset: every character an instruction may contain.
CHARSET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.'-!?"
MAX_LENGTH = 128


def templates(task: str, instruction_set: str) -> tuple[str, ...]:
    if instruction_set not in INSTRUCTION_SETS:
        raise ValueError(
            f"instruction_set must be one of {INSTRUCTION_SETS}, got {instruction_set!r}"
        )
    if instruction_set == "test":
        from vla.envs import test_phrasings

        return test_phrasings.phrasings("tabletop", task)
    if instruction_set == "train_wide":
        return TEMPLATES[task]["train"] + WIDER[task]
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
RECEPTACLES = ("bowl", "plate")


def parse_combination(text: str) -> tuple[str, dict]:
    """A (task, colour) or (task, receptacle) combination, written "place:red" or "place:plate"
    -> (task, the reset options that make that scene): what `vla collect leave_out=` keeps out
    of the demonstrations and `vla eval combinations=` tests apart."""
    task, sep, value = str(text).partition(":")
    if not sep or task not in TEMPLATES:
        raise ValueError(
            f"a combination is task:colour or place:receptacle (e.g. place:red, place:plate, "
            f"lift:blue), with a task of {list(TEMPLATES)}; got {text!r}"
        )
    if value in COLORS:
        return task, {"target": value}
    if value in RECEPTACLES and task == "place":
        return task, {"receptacle": value}
    raise ValueError(
        f"combination {text!r}: the value is a cube colour {list(COLORS)}, or for place a "
        f"receptacle {list(RECEPTACLES)}"
    )


def in_combination(task: str, facts: dict, combination: str) -> bool:
    """Whether an episode (its task and reset facts: "target", "goal") is that combination."""
    wanted_task, scene = parse_combination(combination)
    if task != wanted_task:
        return False
    if "target" in scene:
        return facts.get("target") == scene["target"]
    return facts.get("goal") == scene["receptacle"]


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
