"""One LeRobot v3 dataset seen through a mixture entry: its episodes as vla records, its robot's
embodiment schema, and its frames under our names (cameras, `observation.state`, `action`).

Our own datasets carry each episode's record (`vla.record`); for anyone else's the record is
built from meta/episodes (the task string is both task and instruction, the episode index the
seed) and the schema from the feature names and the data's range unless the entry gives one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from vla.datasets import lerobot_v3 as v3
from vla.datasets.mixture import Entry
from vla.embodiment import Embodiment

FOREIGN_UNITS = "unknown"  # a foreign dataset's units are not in LeRobot's metadata


class Source:
    def __init__(self, entry: Entry):
        self.entry = entry
        self.root = Path(entry.root)
        self._state_action: dict | None = None
        self.info = v3.read_info(self.root)
        self.rows = v3.read_episodes(self.root)
        features = self.info["features"]
        for key in (entry.state, entry.action):
            if key not in features:
                raise ValueError(
                    f"{self.root} has no feature {key!r} (it has {sorted(features)}); name its "
                    'state and action keys in the manifest entry ("state": ..., "action": ...)'
                )
        images = sorted(k for k, f in features.items() if f["dtype"] in ("image", "video"))
        self.cameras = dict(entry.cameras) or {k.rsplit(".", 1)[-1]: k for k in images}
        for name, key in self.cameras.items():
            if key not in features or features[key]["dtype"] not in ("image", "video"):
                raise ValueError(
                    f"{self.root}: camera {name!r} maps to {key!r}, which is not an image "
                    f"feature there (image features: {images})"
                )
            if features[key]["dtype"] == "video":
                raise ValueError(
                    f"{self.root}: {key} is stored as mp4 video; vla reads image features "
                    "(PNG in the parquet files). Re-save the dataset with use_videos=False, or "
                    'leave that camera out of the entry\'s "cameras"'
                )
        ours = bool(self.rows) and v3.RECORD in self.rows[0]
        self.records = [self._record(r, ours) for r in self.rows]
        self.robot = entry.robot or (
            self.records[0]["robot"] if ours else self.info.get("robot_type")
        )
        if not self.robot:
            raise ValueError(f'{self.root}: no robot_type; name the robot in its entry ("robot")')
        for r in self.records:
            r["robot"] = self.robot
        self.embodiment = self._embodiment(ours)

    def _record(self, row: dict, ours: bool) -> dict:
        if ours:
            record = json.loads(row[v3.RECORD])
        else:
            task = row["tasks"][0]
            record = {
                "task": task,
                "instruction": task,
                "seed": int(row["episode_index"]),
                "instruction_set": "train",
                "fps": self.info["fps"],
            }
        record.update(episode_index=int(row["episode_index"]), length=int(row["length"]))
        return record

    def _embodiment(self, ours: bool) -> Embodiment:
        if self.entry.embodiment is not None:
            return Embodiment.from_dict({"name": self.robot, **self.entry.embodiment})
        if ours:
            return Embodiment.from_dict(self.records[0]["embodiment"])
        features = self.info["features"]
        widths = [features[k]["shape"][0] for k in (self.entry.state, self.entry.action)]
        names = feature_names(features[self.entry.action], widths[1])
        action = np.concatenate([a for _, _, a in self.state_action()])
        low, high = action.min(0), action.max(0)
        margin = np.maximum(0.05 * (high - low), 1e-3)  # a constant dimension still has a range
        return Embodiment(
            name=self.robot,
            joint_names=tuple(names[:-1]),
            gripper_name=names[-1],
            action_mode="joint_position",
            joint_units=(FOREIGN_UNITS,) * (len(names) - 1),
            action_low=tuple(float(x) for x in low - margin),
            action_high=tuple(float(x) for x in high + margin),
            gripper_sign=1,
            control_hz=float(self.info["fps"]),
            cameras=tuple(self.cameras),
            description=f"from {self.root} (robot_type {self.info.get('robot_type')})",
            state_names=tuple(feature_names(features[self.entry.state], widths[0])),
        )

    def image_shape(self, camera: str) -> tuple[int, ...]:
        return tuple(self.info["features"][self.cameras[camera]]["shape"])

    def by_file(self, positions) -> dict[tuple[int, int], list[int]]:
        """The episodes at `positions`, grouped by the data file (chunk, file) that holds them."""
        by_file = defaultdict(list)
        for pos in positions:
            row = self.rows[pos]
            by_file[row["data/chunk_index"], row["data/file_index"]].append(pos)
        return by_file

    def slices(self, table, positions):
        """(position, first row, length) of each episode inside one data file's table."""
        index = table["index"].to_numpy()
        for pos in positions:
            row = self.rows[pos]
            first = int(np.searchsorted(index, row["dataset_from_index"]))
            if first >= len(index) or index[first] != row["dataset_from_index"]:
                raise ValueError(
                    f"{self.root}: episode {row['episode_index']}'s frames are not in its data "
                    f"file (chunk {row['data/chunk_index']}, file {row['data/file_index']})"
                )
            yield pos, first, row["length"]

    def load(self, positions, cameras) -> dict[int, dict]:
        """Frames of the episodes at `positions` (rows of meta/episodes): {position: {"images":
        {camera: [encoded]}, "state" (T, S), "action" (T, A)}}, one read per data file."""
        keys = [self.cameras[c] for c in cameras]
        out = {}
        for (chunk, file), mine in self.by_file(positions).items():
            path = v3.data_path(self.root, self.info["data_path"], chunk, file)
            table = pq.read_table(
                path, columns=[*keys, self.entry.state, self.entry.action, "index"]
            )
            for pos, first, n in self.slices(table, mine):
                part = table.slice(first, n)
                out[pos] = {
                    "images": {
                        c: v3.image_bytes(part[k]) for c, k in zip(cameras, keys, strict=True)
                    },
                    "state": v3.vectors(part[self.entry.state]),
                    "action": v3.vectors(part[self.entry.action]),
                }
        return out

    def state_action(self):
        """(position, state (T, S), action (T, A)) of every episode, in position order. Read
        once (two numeric columns) and kept: the derived schema, the normalisation statistics
        and the relative-action statistics all need them."""
        if self._state_action is None:
            self._state_action = self._read_state_action()
        for pos in sorted(self._state_action):
            yield pos, *self._state_action[pos]

    def _read_state_action(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        out = {}
        for (chunk, file), mine in self.by_file(range(len(self.rows))).items():
            path = v3.data_path(self.root, self.info["data_path"], chunk, file)
            table = pq.read_table(path, columns=[self.entry.state, self.entry.action, "index"])
            state, action = (
                v3.vectors(table[self.entry.state]),
                v3.vectors(table[self.entry.action]),
            )
            for pos, first, n in self.slices(table, mine):
                out[pos] = (state[first : first + n], action[first : first + n])
        return out


def feature_names(feature: dict, width: int) -> list[str]:
    """A vector feature's entry names (LeRobot keeps a list, or {"motors": [...]}); a0.. when
    it has none."""
    names = feature.get("names")
    if isinstance(names, dict) and len(names) == 1:
        names = next(iter(names.values()))
    if isinstance(names, list) and len(names) == width and all(isinstance(n, str) for n in names):
        return list(names)
    return [f"a{i}" for i in range(width)]
