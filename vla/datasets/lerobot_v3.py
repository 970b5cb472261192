"""The LeRobotDataset v3 format: paths, metadata files and the column types LeRobot writes.

One v3 dataset is one robot's episodes (fixed feature shapes, `robot_type` set):

    ROOT/meta/info.json                          codebase_version v3.0, fps, typed features, counts
    ROOT/meta/stats.json                         LeRobot's ten statistics per feature
    ROOT/meta/tasks.parquet                      the task string as the pandas index, task_index
    ROOT/meta/episodes/chunk-000/file-000.parquet    one row per episode: its data file, its
                                                 [dataset_from_index, dataset_to_index) range
    ROOT/data/chunk-CCC/file-FFF.parquet         many episodes per file, one row group each

The rules are the ones lerobot 0.4.4's reader checks (docs/notes/lerobot_v3_format.md, "MUST").
What LeRobot does not know about (seeds, the localizer's per-frame labels, the embodiment
schema) rides along as each episode's record, JSON in a `vla.record` column of meta/episodes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vla.datasets import statistics

CODEBASE_VERSION = "v3.0"
INFO = "meta/info.json"
STATS = "meta/stats.json"
TASKS = "meta/tasks.parquet"
EPISODES = "meta/episodes/chunk-000/file-000.parquet"
DATA_FILE = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
RECORD = "vla.record"  # meta/episodes column: the episode's JSON record (our datasets only)
CHUNKS_SIZE = 1000  # files per chunk folder (LeRobot's default)
FILE_MB = 100  # a data file rolls over past this size (LeRobot's default)
QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
IMAGE_STAT_FRAMES = 2000  # camera statistics from at most this many frames, evenly spaced
DEFAULT_FEATURES = {  # LeRobot's five, always last
    "timestamp": "float32",
    "frame_index": "int64",
    "episode_index": "int64",
    "index": "int64",
    "task_index": "int64",
}
IMAGE_TYPE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def is_dataset(root: Path) -> bool:
    """Whether `root` holds a v3 dataset (its info.json says so)."""
    path = Path(root) / INFO
    if not path.is_file():
        return False
    return str(json.loads(path.read_text()).get("codebase_version", "")).startswith("v3")


def read_info(root: Path) -> dict:
    path = Path(root) / INFO
    if not path.is_file():
        raise FileNotFoundError(f"{root} is not a LeRobot v3 dataset: {INFO} is missing")
    info = json.loads(path.read_text())
    version = str(info.get("codebase_version", ""))
    if not version.startswith("v3"):
        raise ValueError(
            f"{root} is a LeRobot {version or 'unversioned'} dataset; vla reads v3.0. Convert it "
            "with LeRobot's own converter (lerobot.datasets.v30.convert_dataset_v21_to_v30)"
        )
    return info


def read_episodes(root: Path) -> list[dict]:
    """meta/episodes rows (every file under meta/episodes, in episode order)."""
    files = sorted((Path(root) / "meta" / "episodes").glob("*/*.parquet"))
    if not files:
        raise FileNotFoundError(f"{root}: no meta/episodes/*/*.parquet; not a v3 dataset")
    rows = []
    for path in files:
        table = pq.read_table(path)
        keep = [c for c in table.column_names if not c.startswith("stats/")]
        rows += table.select(keep).to_pylist()
    rows.sort(key=lambda r: r["episode_index"])
    return rows


def data_path(root: Path, template: str, chunk: int, file: int) -> Path:
    """A data file's path: `template` is info.json's "data_path" (ours: DATA_FILE)."""
    return Path(root) / template.format(chunk_index=chunk, file_index=file)


def data_files(root: Path) -> list[Path]:
    """Every data file, in the order LeRobot concatenates them (sorted paths)."""
    return sorted((Path(root) / "data").glob("*/*.parquet"))


def stats_of(x: np.ndarray) -> dict:
    """LeRobot's ten statistics per dimension of (N, D) data (images: (N, 3) channel values)."""
    return statistics.array_stats(x, QUANTILES)


def image_stats(frames: list[np.ndarray]) -> dict:
    """Per-channel statistics of HWC uint8 frames in [0, 1], shaped (3, 1, 1) as LeRobot keeps
    them; the count is the number of frames."""
    pixels = np.concatenate([f.reshape(-1, 3) for f in frames]).astype(np.float32) / 255.0
    stats = stats_of(pixels)
    return {k: [[[c]] for c in v] if k != "count" else [len(frames)] for k, v in stats.items()}


def vector_feature(width: int, names: list[str] | None) -> dict:
    return {
        "dtype": "float32",
        "shape": [width],
        "names": names if names and len(names) == width else None,
    }


def image_feature(height: int, width: int) -> dict:
    return {"dtype": "image", "shape": [height, width, 3], "names": ["height", "width", "channels"]}


def fixed_list(x: np.ndarray) -> pa.Array:
    """(T, D) float32 -> fixed_size_list<float>[D], the column type LeRobot writes."""
    x = np.asarray(x, np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1])


def image_column(pngs: list[bytes]) -> pa.Array:
    return pa.array([{"bytes": b, "path": None} for b in pngs], IMAGE_TYPE)


def image_bytes(column: pa.ChunkedArray | pa.Array) -> list[bytes]:
    """Encoded images of an `image` feature column (struct<bytes, path>), or of a plain binary
    column."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_struct(column.type):
        data = column.field("bytes").to_pylist()
        if any(b is None for b in data):
            raise ValueError(
                "an image feature holds a file path instead of the image bytes; vla reads "
                "images embedded in the parquet files (LeRobot's default when it saves episodes)"
            )
        return data
    return column.to_pylist()


def vectors(column: pa.ChunkedArray) -> np.ndarray:
    """A fixed- or variable-size list column -> (T, D) float32."""
    column = column.combine_chunks()
    if len(column) == 0:
        return np.zeros((0, 0), np.float32)
    if pa.types.is_fixed_size_list(column.type):
        width = column.type.list_size
        return column.flatten().to_numpy(zero_copy_only=False).reshape(-1, width).astype(np.float32)
    return np.stack(column.to_numpy(zero_copy_only=False)).astype(np.float32)


def write_tasks(path: Path, tasks: list[str]) -> None:
    """meta/tasks.parquet as LeRobot reads it: task_index per row, the task string the index."""
    import io

    import pandas as pd

    from vla import atomic

    buffer = io.BytesIO()
    pd.DataFrame({"task_index": range(len(tasks))}, index=pd.Index(tasks, name=None)).to_parquet(
        buffer
    )
    atomic.write_bytes(path, buffer.getvalue())


def read_tasks(root: Path) -> list[str]:
    import pandas as pd

    frame = pd.read_parquet(Path(root) / TASKS)
    return [str(t) for t in frame.sort_values("task_index").index]
