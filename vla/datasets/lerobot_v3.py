"""A vla dataset as real LeRobotDataset v3 datasets, one per robot, plus a manifest that lists
them (a mixture, as OpenVLA and Octo train on). Each robot's dataset has fixed feature shapes
(its own state and action widths and names, `robot_type` set), v3's aggregated files (many
episodes per `data/chunk-CCC/file-FFF.parquet`, one row group each, a new file past
`file_mb`), `meta/episodes/` indexes, `meta/tasks.parquet` (the instruction as the pandas
index), and `meta/stats.json` with LeRobot's ten statistics (cameras per channel, (3, 1, 1), in
[0, 1]). The rules it follows are the ones lerobot 0.4.4 checks, listed in
docs/notes/lerobot_v3_format.md; what LeRobot does not know (the per-frame localizer labels,
seeds) rides along as each episode's record in a `vla.record` column of `meta/episodes/`.

    DST/manifest.json            {"format": "vla-mixture", "datasets": [{path, robot, weight, ...}]}
    DST/<robot>/meta/info.json ... (a LeRobotDataset v3 root)

Each robot's dataset is written beside its destination and renamed into place when complete,
so an interrupted export leaves no half dataset under the name a reader would open.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vla import atomic
from vla.datasets import episode_io, layout, meta

DATA_FILE = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
EPISODES_FILE = "meta/episodes/chunk-000/file-000.parquet"
CHUNKS_SIZE = 1000  # files per chunk folder (LeRobot's default)
FILE_MB = 100  # a data file rolls over past this size (LeRobot's default)
QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
IMAGE_STAT_FRAMES = 2000  # camera statistics from at most this many frames, evenly spaced
MANIFEST = "manifest.json"
DEFAULT_FEATURES = {  # LeRobot's five, always last
    "timestamp": "float32",
    "frame_index": "int64",
    "episode_index": "int64",
    "index": "int64",
    "task_index": "int64",
}


def stats_of(x: np.ndarray) -> dict:
    """LeRobot's ten statistics per dimension of (N, D) data (images: (N, 3) channel values)."""
    return meta.array_stats(x, QUANTILES)


def image_stats(frames: list[np.ndarray]) -> dict:
    """Per-channel statistics of HWC uint8 frames in [0, 1], shaped (3, 1, 1) as LeRobot keeps
    them; the count is the number of frames."""
    pixels = np.concatenate([f.reshape(-1, 3) for f in frames]).astype(np.float32) / 255.0
    stats = stats_of(pixels)
    return {k: [[[c]] for c in v] if k != "count" else [len(frames)] for k, v in stats.items()}


def export(src: str | Path, dst: str | Path, file_mb: float = FILE_MB) -> dict:
    """Write every robot of the vla dataset `src` as a LeRobotDataset v3 under `dst/<robot>`
    and `dst/manifest.json`; returns the manifest. Refuses a `dst` that already holds one."""
    src, dst = Path(src), Path(dst)
    info = layout.read_info(src)
    if (dst / MANIFEST).exists():
        raise FileExistsError(f"{dst} already holds an exported mixture; choose a new folder")
    records = meta.load_records(src)
    entries = []
    for robot in sorted(info["robots"]):
        mine = sorted((r for r in records if r["robot"] == robot), key=lambda r: r["episode_index"])
        entries.append(_export_robot(src, dst, robot, info, mine, file_mb))
    manifest = {"format": "vla-mixture", "source": str(src), "datasets": entries}
    atomic.write_json(dst / MANIFEST, manifest)
    return manifest


def _export_robot(src, dst, robot, info, records, file_mb) -> dict:
    final = dst / robot
    if final.exists():
        raise FileExistsError(f"{final} exists; export into an empty folder")
    work = dst / f".{robot}.partial"
    shutil.rmtree(work, ignore_errors=True)
    (work / "meta").mkdir(parents=True)
    schema = info["robots"][robot]
    cameras = list(records[0]["cameras"])
    h, w = records[0]["image_size"]
    tasks = sorted({r["instruction"] for r in records})
    task_index = {t: i for i, t in enumerate(tasks)}

    data = _DataFiles(work, file_mb)
    episodes, sampled = [], {c: [] for c in cameras}
    numbers = defaultdict(list)  # feature -> per-episode arrays, for the statistics
    step = max(1, sum(r["length"] for r in records) // IMAGE_STAT_FRAMES)
    start = 0
    for new_index, r in enumerate(records):
        frames = episode_io.read_frames(layout.episode_path(src, r["episode_index"]))
        n = frames.num_rows
        state = np.stack(frames[layout.STATE].to_numpy(zero_copy_only=False)).astype(np.float32)
        action = np.stack(frames[layout.ACTION].to_numpy(zero_copy_only=False)).astype(np.float32)
        columns = {}
        for cam in cameras:
            pngs = frames[f"{layout.IMAGE_PREFIX}{cam}"].to_pylist()
            columns[f"{layout.IMAGE_PREFIX}{cam}"] = pa.array(
                [{"bytes": b, "path": None} for b in pngs],
                pa.struct([("bytes", pa.binary()), ("path", pa.string())]),
            )
            sampled[cam] += [
                episode_io.decode_png(pngs[t]) for t in range(n) if (start + t) % step == 0
            ]
        columns[layout.STATE] = _fixed(state)
        columns[layout.ACTION] = _fixed(action)
        columns["next.done"] = pa.array(np.arange(n) == n - 1)
        columns["timestamp"] = pa.array(np.arange(n, dtype=np.float32) / np.float32(r["fps"]))
        counts = {
            "frame_index": np.arange(n, dtype=np.int64),
            "episode_index": np.full(n, new_index, dtype=np.int64),
            "index": np.arange(start, start + n, dtype=np.int64),
            "task_index": np.full(n, task_index[r["instruction"]], dtype=np.int64),
        }
        columns |= {k: pa.array(v) for k, v in counts.items()}
        for key, value in {layout.STATE: state, layout.ACTION: action, **counts}.items():
            numbers[key].append(value if value.ndim == 2 else value[:, None])
        chunk, file = data.append(pa.table(columns))
        episodes.append(
            {
                "episode_index": new_index,
                "tasks": [r["instruction"]],
                "length": n,
                "data/chunk_index": chunk,
                "data/file_index": file,
                "dataset_from_index": start,
                "dataset_to_index": start + n,
                "meta/episodes/chunk_index": 0,
                "meta/episodes/file_index": 0,
                "vla.record": json.dumps(r),
            }
        )
        start += n
    data.close()
    meta.write_parquet(work / EPISODES_FILE, pa.Table.from_pylist(episodes))
    _write_tasks(work / "meta" / "tasks.parquet", tasks)
    names = list(schema["joint_names"]) + [schema["gripper_name"]]
    features = {
        **{
            f"{layout.IMAGE_PREFIX}{cam}": {
                "dtype": "image",
                "shape": [h, w, 3],
                "names": ["height", "width", "channels"],
            }
            for cam in cameras
        },
        layout.STATE: _vector_feature(numbers[layout.STATE][0].shape[1], names),
        layout.ACTION: _vector_feature(numbers[layout.ACTION][0].shape[1], names),
        "next.done": {"dtype": "bool", "shape": [1], "names": None},
        **{k: {"dtype": t, "shape": [1], "names": None} for k, t in DEFAULT_FEATURES.items()},
    }
    stats = {f"{layout.IMAGE_PREFIX}{c}": image_stats(sampled[c]) for c in cameras}
    stats |= {k: stats_of(np.concatenate(v)) for k, v in numbers.items()}
    stats["timestamp"] = stats_of(np.concatenate(numbers["frame_index"]) / records[0]["fps"])
    atomic.write_json(work / "meta" / "stats.json", stats)
    atomic.write_json(
        work / "meta" / "info.json",
        {
            "codebase_version": "v3.0",
            "robot_type": robot,
            "total_episodes": len(records),
            "total_frames": start,
            "total_tasks": len(tasks),
            "chunks_size": CHUNKS_SIZE,
            "data_files_size_in_mb": file_mb,
            "video_files_size_in_mb": 200,
            "fps": records[0]["fps"],
            "splits": {"train": f"0:{len(records)}"},
            "data_path": DATA_FILE,
            "video_path": None,
            "features": features,
        },
    )
    work.rename(final)
    return {
        "path": robot,
        "robot": robot,
        "weight": 1.0,
        "episodes": len(records),
        "frames": start,
    }


def _vector_feature(width: int, names: list[str]) -> dict:
    return {"dtype": "float32", "shape": [width], "names": names if len(names) == width else None}


def _fixed(x: np.ndarray) -> pa.Array:
    """(T, D) float32 -> fixed_size_list<float>[D], the column type LeRobot writes."""
    return pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1])


def _write_tasks(path: Path, tasks: list[str]) -> None:
    """meta/tasks.parquet as LeRobot reads it: task_index per row, the task string the index."""
    import pandas as pd

    pd.DataFrame({"task_index": range(len(tasks))}, index=pd.Index(tasks, name=None)).to_parquet(
        path
    )


class _DataFiles:
    """Episodes appended as row groups to data/chunk-CCC/file-FFF.parquet, moving to the next
    file when the current one would pass `file_mb` (an episode is never split)."""

    def __init__(self, root: Path, file_mb: float):
        self.root, self.limit = root, file_mb * 1024**2
        self.chunk = self.file = 0
        self.writer, self.size = None, 0

    def append(self, table: pa.Table) -> tuple[int, int]:
        if self.writer is not None and self.size + table.nbytes > self.limit:
            self.writer.close()
            self.writer, self.size = None, 0
            self.file += 1
            if self.file == CHUNKS_SIZE:
                self.chunk, self.file = self.chunk + 1, 0
        if self.writer is None:
            path = self.root / DATA_FILE.format(chunk_index=self.chunk, file_index=self.file)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(path, table.schema)
        self.writer.write_table(table)
        self.size += table.nbytes
        return self.chunk, self.file

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
