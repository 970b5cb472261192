"""The on-disk dataset layout (LeRobotDataset v3 conventions, adapted; see docs/dataset.md).

    DIR/meta/info.json                       codebase_version, fps, features, robots' schemas, counts
    DIR/meta/stats.json                      normalisation stats keyed by robot
    DIR/meta/tasks.parquet                   task_index -> instruction
    DIR/meta/episodes/chunk-000/file-000.parquet   one row per episode
    DIR/data/chunk-CCC/episode_EEEEEE.parquet      one file per episode, one row per frame

Each episode file is written atomically and is the source of truth: `meta/` is derived from
the episode files (`finalize`) and can always be rebuilt, which makes collection resumable.
"""

from __future__ import annotations

import json
from pathlib import Path

CODEBASE_VERSION = "v3.0"
CHUNK_SIZE = 1000  # episodes per data/chunk-XXX folder
INFO = "meta/info.json"
STATS = "meta/stats.json"
TASKS = "meta/tasks.parquet"
EPISODES = "meta/episodes/chunk-000/file-000.parquet"
DATA_PATH = "data/chunk-{chunk:03d}/episode_{episode:06d}.parquet"
EPISODE_META_KEY = b"vla_episode"  # parquet schema metadata: the episode's JSON record

IMAGE_PREFIX = "observation.images."
STATE = "observation.state"
ACTION = "action"
FRAME_COLUMNS = (STATE, ACTION, "timestamp", "frame_index", "episode_index", "next.done")


def episode_path(root: Path, episode: int) -> Path:
    return Path(root) / DATA_PATH.format(chunk=episode // CHUNK_SIZE, episode=episode)


def episode_files(root: Path) -> list[Path]:
    return sorted((Path(root) / "data").glob("chunk-*/episode_*.parquet"))


def episode_index_of(path: Path) -> int:
    return int(path.stem.split("_")[1])


def read_info(root: Path) -> dict:
    path = Path(root) / INFO
    if not path.is_file():
        raise FileNotFoundError(
            f"{root} is not a vla dataset: {INFO} is missing. Collect one with "
            f"`vla collect output={root}`, or run `vla dataset check {root}` to rebuild its meta."
        )
    return json.loads(path.read_text())
