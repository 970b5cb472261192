"""Append finished episodes to one robot's LeRobotDataset v3, so that a stop at any moment
loses nothing and leaves a dataset LeRobot can open.

Episodes arrive as staged files (one parquet per episode, `episode_io`); `append` packs them
into new data files after the existing ones (an episode is never split; a file rolls over past
`file_mb`) and then commits by rewriting meta/episodes in one atomic rename. Everything else in
meta/ is derived from meta/episodes and the data (`write_meta`). So:

- stopped while writing data files: they are not in meta/episodes, the next `append` deletes
  them (`unlisted_data_files`) and writes the staged episodes again;
- stopped after the commit: the staged files are already in meta/episodes, so they are skipped
  (the caller deletes them), and `write_meta` rebuilds whatever meta file was left stale.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vla import atomic
from vla.datasets import episode_io, layout
from vla.datasets import lerobot_v3 as v3


def identity(record: dict) -> tuple[str, str, int]:
    """What an episode is, whatever number it has: (robot, task, seed)."""
    return record["robot"], record["task"], int(record["seed"])


def committed_records(root: Path) -> list[dict]:
    """The records of the episodes in meta/episodes (empty for a dataset not yet started)."""
    if not (Path(root) / v3.EPISODES).is_file():
        return []
    return [json.loads(r[v3.RECORD]) for r in v3.read_episodes(root)]


def unlisted_data_files(root: Path, rows: list[dict], template: str = v3.DATA_FILE) -> list[Path]:
    """Data files that no meta/episodes row names: written by an append that never committed."""
    listed = {
        v3.data_path(root, template, r["data/chunk_index"], r["data/file_index"]) for r in rows
    }
    return [p for p in v3.data_files(root) if p not in listed]


def append(
    root: Path, staged: list[Path], file_mb: float = v3.FILE_MB, rebuild_meta: bool = False
) -> int:
    """Add the staged episodes not already in the dataset at `root`; returns how many. The
    derived meta files are rewritten when episodes were added, when they are stale, or when
    `rebuild_meta` asks."""
    root = Path(root)
    rows = v3.read_episodes(root) if (root / v3.EPISODES).is_file() else []
    for path in unlisted_data_files(root, rows) + list((root / "data").glob("*/.*.tmp")):
        path.unlink()
    have = {identity(json.loads(r[v3.RECORD])) for r in rows}
    todo = []
    for path in staged:
        record = episode_io.read_record(path)
        if identity(record) not in have:
            have.add(identity(record))
            todo.append((path, record))
    if not todo:
        if rows and (rebuild_meta or meta_is_stale(root, rows)):
            write_meta(root)  # a stop between the commit and the derived files
        return 0
    todo.sort(key=lambda item: (item[1]["task"], int(item[1]["seed"])))
    tasks = task_order([r["tasks"][0] for r in rows] + [rec["instruction"] for _, rec in todo])
    last = max(((r["data/chunk_index"], r["data/file_index"]) for r in rows), default=None)
    files = _DataFiles(root, file_mb, after=last)
    start = rows[-1]["dataset_to_index"] if rows else 0
    for path, record in todo:
        table = episode_io.read_frames(path)
        index = len(rows)
        n = table.num_rows
        chunk, file = files.append(_frames(table, record, index, start, tasks))
        record = {**record, "episode_index": index, "length": n}
        rows.append(
            {
                "episode_index": index,
                "tasks": [record["instruction"]],
                "length": n,
                "data/chunk_index": chunk,
                "data/file_index": file,
                "dataset_from_index": start,
                "dataset_to_index": start + n,
                "meta/episodes/chunk_index": 0,
                "meta/episodes/file_index": 0,
                v3.RECORD: json.dumps(record),
            }
        )
        start += n
    files.close()
    atomic.write_parquet(root / v3.EPISODES, pa.Table.from_pylist(rows))  # the commit
    write_meta(root)
    return len(todo)


def meta_is_stale(root: Path, rows: list[dict]) -> bool:
    """Whether the files derived from meta/episodes are missing or describe other episodes."""
    if not all((root / name).is_file() for name in (v3.INFO, v3.STATS, v3.TASKS)):
        return True
    info = v3.read_info(root)
    return (info["total_episodes"], info["total_frames"]) != (
        len(rows),
        rows[-1]["dataset_to_index"],
    )


def task_order(instructions: list[str]) -> list[str]:
    """Task strings in order of first appearance: appending episodes never renumbers a task."""
    return list(dict.fromkeys(instructions))


def _frames(table: pa.Table, record: dict, episode: int, start: int, tasks: list[str]):
    """A staged episode's frames as v3 columns, in the dataset's global numbering."""
    n = table.num_rows
    columns = {
        f"{layout.IMAGE_PREFIX}{cam}": v3.image_column(
            table[f"{layout.IMAGE_PREFIX}{cam}"].to_pylist()
        )
        for cam in record["cameras"]
    }
    columns[layout.STATE] = v3.fixed_list(v3.vectors(table[layout.STATE]))
    columns[layout.ACTION] = v3.fixed_list(v3.vectors(table[layout.ACTION]))
    columns["next.done"] = pa.array(np.arange(n) == n - 1)
    columns["timestamp"] = pa.array(np.arange(n, dtype=np.float32) / np.float32(record["fps"]))
    columns["frame_index"] = pa.array(np.arange(n, dtype=np.int64))
    columns["episode_index"] = pa.array(np.full(n, episode, dtype=np.int64))
    columns["index"] = pa.array(np.arange(start, start + n, dtype=np.int64))
    columns["task_index"] = pa.array(np.full(n, tasks.index(record["instruction"]), np.int64))
    return pa.table(columns)


def write_meta(root: Path) -> dict:
    """(Re)write tasks.parquet, stats.json and info.json from meta/episodes and the data files;
    returns info.json's content."""
    root = Path(root)
    rows = v3.read_episodes(root)
    if not rows or v3.RECORD not in rows[0]:
        raise ValueError(f"{root} was not written by vla (no episode records); its meta is its own")
    records = [json.loads(r[v3.RECORD]) for r in rows]
    first = records[0]
    robots = {r["robot"] for r in records}
    if len(robots) != 1:
        raise ValueError(f"{root} mixes robots {sorted(robots)}; one v3 dataset holds one robot")
    tasks = task_order([r["tasks"][0] for r in rows])
    v3.write_tasks(root / v3.TASKS, tasks)
    cameras = list(first["cameras"])
    numbers: dict[str, list] = {
        k: [] for k in (layout.STATE, layout.ACTION, *list(v3.DEFAULT_FEATURES)[1:])
    }
    total = rows[-1]["dataset_to_index"]
    step = max(1, total // v3.IMAGE_STAT_FRAMES)
    sampled = {c: [] for c in cameras}
    for path in v3.data_files(root):
        table = pq.read_table(path)
        for key in numbers:
            column = table[key]
            numbers[key].append(
                v3.vectors(column)
                if key in (layout.STATE, layout.ACTION)
                else column.to_numpy()[:, None]
            )
        picks = np.flatnonzero(table["index"].to_numpy() % step == 0)
        for cam in cameras:
            pngs = v3.image_bytes(table[f"{layout.IMAGE_PREFIX}{cam}"].take(picks))
            sampled[cam] += [episode_io.decode_png(b) for b in pngs]
    arrays = {k: np.concatenate(v) for k, v in numbers.items()}
    stats = {f"{layout.IMAGE_PREFIX}{c}": v3.image_stats(sampled[c]) for c in cameras}
    stats |= {k: v3.stats_of(v) for k, v in arrays.items()}
    stats["timestamp"] = v3.stats_of(arrays["frame_index"] / first["fps"])
    atomic.write_json(root / v3.STATS, stats)
    schema = first["embodiment"]
    names = list(schema["joint_names"]) + [schema["gripper_name"]]
    h, w = first["image_size"]
    info = {
        "codebase_version": v3.CODEBASE_VERSION,
        "robot_type": first["robot"],
        "total_episodes": len(rows),
        "total_frames": total,
        "total_tasks": len(tasks),
        "chunks_size": v3.CHUNKS_SIZE,
        "data_files_size_in_mb": v3.FILE_MB,
        "video_files_size_in_mb": 200,
        "fps": first["fps"],
        "splits": {"train": f"0:{len(rows)}"},
        "data_path": v3.DATA_FILE,
        "video_path": None,
        "features": {
            **{f"{layout.IMAGE_PREFIX}{cam}": v3.image_feature(h, w) for cam in cameras},
            layout.STATE: v3.vector_feature(
                arrays[layout.STATE].shape[1], list(schema.get("state_names") or names)
            ),
            layout.ACTION: v3.vector_feature(arrays[layout.ACTION].shape[1], names),
            "next.done": {"dtype": "bool", "shape": [1], "names": None},
            **{
                k: {"dtype": t, "shape": [1], "names": None} for k, t in v3.DEFAULT_FEATURES.items()
            },
        },
    }
    atomic.write_json(root / v3.INFO, info)
    return info


class _DataFiles:
    """Episodes appended as row groups to data/chunk-CCC/file-FFF.parquet after file `after`
    (chunk, file), moving to the next file when the current one would pass `file_mb`. Each file
    is written under a hidden temporary name and renamed when closed."""

    def __init__(self, root: Path, file_mb: float, after: tuple[int, int] | None):
        self.root, self.limit = root, file_mb * 1024**2
        self.chunk, self.file = after if after is not None else (0, -1)
        self.writer, self.size, self.path = None, 0, None

    def append(self, table: pa.Table) -> tuple[int, int]:
        if self.writer is not None and self.size + table.nbytes > self.limit:
            self.close()
        if self.writer is None:
            self.file += 1
            if self.file == v3.CHUNKS_SIZE:
                self.chunk, self.file = self.chunk + 1, 0
            self.path = v3.data_path(self.root, v3.DATA_FILE, self.chunk, self.file)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self._tmp(), table.schema, compression="snappy")
        self.writer.write_table(table)
        self.size += table.nbytes
        return self.chunk, self.file

    def _tmp(self) -> Path:
        return self.path.with_name(f".{self.path.name}.tmp")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with open(self._tmp(), "rb") as f:
                os.fsync(f.fileno())
            os.replace(self._tmp(), self.path)
            self.writer, self.size = None, 0
