"""A mixture of LeRobot v3 datasets: which ones, how often each is drawn, and how each one's
feature names map onto a robot's embodiment (as OpenVLA and Octo train on mixtures).

A manifest is JSON, written by `vla collect` for what it collects or by hand for anyone's data:

    {"format": "vla-mixture",
     "datasets": [
       {"path": "panda"},                                  # one of ours: everything known
       {"path": "/data/so101_pick", "robot": "so101_real", "weight": 0.5,
        "cameras": {"front": "observation.images.top"},    # our camera name -> their image key
        "state": "observation.state", "action": "action",
        "embodiment": {...}}                               # optional: the robot's schema
     ]}

Paths are relative to the manifest's folder unless absolute. `vla train dataset=` takes a
manifest file, a folder holding `manifest.json`, or one v3 dataset's folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from vla import atomic
from vla.datasets import layout
from vla.datasets import lerobot_v3 as v3

FORMAT = "vla-mixture"
ENTRY_KEYS = {"path", "robot", "weight", "cameras", "state", "action", "embodiment"}
COUNT_KEYS = {"episodes", "frames"}  # written for the reader's information, never read


@dataclass(frozen=True)
class Entry:
    """One dataset of a mixture and how to read it."""

    root: Path
    robot: str | None = None  # None: the dataset's own (its records, else its robot_type)
    weight: float = 1.0
    cameras: dict[str, str] = field(default_factory=dict)  # empty: every image feature, by suffix
    state: str = layout.STATE
    action: str = layout.ACTION
    embodiment: dict | None = None

    def __post_init__(self):
        if not self.weight > 0:
            raise ValueError(f"{self.root}: a mixture weight must be > 0, got {self.weight}")


def resolve(path: str | Path) -> list[Entry]:
    """The datasets that `path` names (a manifest, a folder with one, or one v3 dataset)."""
    path = Path(path)
    if path.is_file():
        return read_manifest(path)
    if (path / layout.MANIFEST).is_file():
        return read_manifest(path / layout.MANIFEST)
    if layout.is_legacy(path):  # its info.json says v3.0 too
        raise ValueError(layout.legacy_message(path))
    if v3.is_dataset(path):
        return [Entry(root=path)]
    if path.is_dir() and layout.staged_files(path):
        raise ValueError(
            f"{path} holds staged episodes but no datasets yet: run the same `vla collect` again "
            f"to finish it, or `vla dataset check {path} --rebuild-meta`"
        )
    raise FileNotFoundError(
        f"{path} is not a dataset: expected a manifest (.json), a folder with {layout.MANIFEST}, "
        "or a LeRobot v3 dataset folder (meta/info.json). Collect one with `vla collect output=DIR`"
    )


def read_manifest(path: Path) -> list[Entry]:
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f'{path}: a mixture manifest needs "format": "{FORMAT}"')
    items = data.get("datasets")
    if not isinstance(items, list) or not items:
        raise ValueError(f'{path}: "datasets" must be a non-empty list of {{"path": ...}} entries')
    entries = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "path" not in item:
            raise ValueError(f'{path}: datasets[{i}] needs a "path"')
        unknown = set(item) - ENTRY_KEYS - COUNT_KEYS
        if unknown:
            raise ValueError(
                f"{path}: datasets[{i}] has unknown keys {sorted(unknown)}; "
                f"known: {sorted(ENTRY_KEYS)}"
            )
        root = Path(item["path"])
        root = root if root.is_absolute() else Path(path).parent / root
        if not v3.is_dataset(root):
            raise FileNotFoundError(f"{path}: datasets[{i}] {root} is not a LeRobot v3 dataset")
        settings = {k: v for k, v in item.items() if k in ENTRY_KEYS - {"path"}}
        entries.append(Entry(root=root, **settings))
    return entries


def write_manifest(root: Path) -> dict:
    """List every robot dataset under a collection folder `root` in its manifest. A manifest
    that names anything else (written by hand) is never overwritten."""
    root = Path(root)
    path = root / layout.MANIFEST
    if path.is_file():
        for item in json.loads(path.read_text()).get("datasets", []):
            if set(item) - {"path", "robot", "weight"} - COUNT_KEYS or "/" in str(item["path"]):
                raise ValueError(
                    f"{path} lists datasets outside a vla collection (written by hand?); "
                    "collect into a new folder and add it to that manifest as an entry"
                )
    datasets = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if v3.is_dataset(sub):
            info = v3.read_info(sub)
            datasets.append(
                {
                    "path": sub.name,
                    "robot": info["robot_type"],
                    "weight": 1.0,
                    "episodes": info["total_episodes"],
                    "frames": info["total_frames"],
                }
            )
    manifest = {"format": FORMAT, "datasets": datasets}
    atomic.write_json(path, manifest)
    return manifest
