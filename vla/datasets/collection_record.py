"""How a dataset was collected: the settings that shape its episodes, kept beside them.

`vla collect` writes `collection.json` at the dataset's root before its first episode, and a
run that resumes into the folder must ask for the same settings: episodes from two expert
settings, controls or image sizes in one dataset would train a policy on a mix nobody chose.
`vla train` reads the record to say when a recipe's own collection settings differ from the
data's, and a shipped checkpoint's TRAINED_BY.json carries it. Settings that only say how much
or how fast (episodes, robots, tasks, workers) may change between runs; these may not.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

from vla import atomic
from vla.benchmark import machine

FILE = "collection.json"
# CollectConfig fields that change what an episode holds
SHAPING = (
    "suite",
    "control",
    "image_size",
    "after_success",
    "expert_blend",
    "expert_regrasp",
    "action_noise",
    "action_noise_retries",
    "randomize",
    "randomize_share",
    "leave_out",
    "instruction_set",
)


def settings(cfg) -> dict:
    """The shaping settings of a CollectConfig (lists as lists, so they compare with JSON's)."""
    out = {k: getattr(cfg, k) for k in SHAPING}
    return {k: list(v) if isinstance(v, list | tuple) else v for k, v in out.items()}


def read(dataset: str | Path) -> dict | None:
    """The record of a dataset (its folder, or the manifest file in it), or None for data
    collected before records were kept."""
    root = Path(dataset)
    path = (root.parent if root.is_file() else root) / FILE
    return json.loads(path.read_text()) if path.is_file() else None


def differences(recorded: dict, asked: dict) -> list[str]:
    """`key=recorded` against `key=asked` for each shaping setting that differs."""
    return [
        f"{k}={recorded.get(k)!r} (asked {asked[k]!r})"
        for k in asked
        if k in recorded and recorded[k] != asked[k]
    ]


def write_or_check(root: str | Path, cfg, has_episodes: bool) -> dict | None:
    """Before collecting into `root`: write the record if the folder holds no episodes yet,
    else refuse settings that differ from the recorded ones. Episodes kept from before records
    existed get none (it would be a guess about how they were made)."""
    asked = settings(cfg)
    recorded = read(root)
    if recorded is not None:
        # a setting added after the record was written: the data were made with its default
        defaults = {f.name: f.default for f in dataclasses.fields(cfg) if f.name in SHAPING}
        wrong = differences({**defaults, **recorded["settings"]}, asked)
        if wrong:
            raise ValueError(
                f"{root} was collected with other settings: {'; '.join(wrong)}. Collect into "
                "another output= folder, or repeat the recorded settings to add episodes here"
            )
        return recorded
    if has_episodes:
        return None
    record = {
        "settings": asked,
        "vla_commit": machine.commit(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    atomic.write_json(Path(root) / FILE, record)
    return record


def recipe_mismatch(dataset: str | Path, cfg) -> str | None:
    """What a training run should hear when its recipe names collection settings (the keys of
    `cfg` that are shaping settings) other than those the dataset records; None if they agree,
    the dataset keeps no record, or the recipe names none."""
    recorded = read(dataset)
    named = {k: cfg[k] for k in SHAPING if k in cfg}
    if recorded is None or not named:
        return None
    from vla import suites

    done = recorded["settings"]
    if named.get("control") is not None and done.get("suite"):
        named["control"] = suites.get(done["suite"]).control(named["control"])
    wrong = differences(done, named)
    if not wrong:
        return None
    return (
        f"the recipe collects with other settings than {dataset} was collected with: "
        f"{'; '.join(wrong)}. Training goes on; collect with the same recipe= for the data it "
        "was designed on"
    )
