"""Derive `meta/` (info, episodes, tasks, stats) from the episode files, atomically."""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vla import atomic
from vla.datasets import episode_io, layout

STAT_QUANTILES = (0.01, 0.99)


def array_stats(x: np.ndarray, quantiles: tuple[float, ...] = STAT_QUANTILES) -> dict:
    """mean/std/min/max, the given quantiles (q01, q99 by default: "q" and the percent) and the
    count, per dimension of (N, D) data."""
    x = np.asarray(x, np.float64)
    stats = {
        "mean": x.mean(0).tolist(),
        "std": x.std(0).tolist(),
        "min": x.min(0).tolist(),
        "max": x.max(0).tolist(),
    }
    for q, v in zip(quantiles, np.quantile(x, quantiles, axis=0), strict=True):
        stats[f"q{round(q * 100):02d}"] = v.tolist()
    stats["count"] = [int(len(x))]
    return stats


def load_records(root: Path) -> list[dict]:
    records, seen = [], {}
    for path in layout.episode_files(root):
        record = episode_io.read_record(path)
        if record["episode_index"] != layout.episode_index_of(path):
            raise ValueError(
                f"{path}: its record says episode {record['episode_index']}, its name another"
            )
        key = (record["robot"], record["task"], record["seed"])
        if key in seen:
            raise ValueError(f"{path} and {seen[key]} hold the same episode {key}")
        seen[key] = path
        records.append(record)
    return records


def write_parquet(path: Path, table: pa.Table) -> None:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    atomic.write_bytes(path, buffer.getvalue())


def finalize(root: Path) -> dict:
    """(Re)write meta/ from the episode files; returns info.json's content."""
    root = Path(root)
    records = load_records(root)
    if not records:
        raise ValueError(f"{root} holds no episode files under data/; nothing to describe")
    schemas: dict[str, dict] = {}
    for r in records:
        if schemas.setdefault(r["robot"], r["embodiment"]) != r["embodiment"]:
            raise ValueError(f"episodes of {r['robot']} disagree on its embodiment schema")
    instructions = sorted({r["instruction"] for r in records})
    task_index = {t: i for i, t in enumerate(instructions)}
    write_parquet(
        root / layout.TASKS,
        pa.table({"task_index": list(range(len(instructions))), "task": instructions}),
    )

    per_robot = defaultdict(lambda: {"state": [], "action": []})
    start = 0
    rows = defaultdict(list)
    for r in sorted(records, key=lambda r: r["episode_index"]):
        table = episode_io.read_frames(
            layout.episode_path(root, r["episode_index"]), [layout.STATE, layout.ACTION]
        )
        per_robot[r["robot"]]["state"].append(
            np.stack(table[layout.STATE].to_numpy(zero_copy_only=False))
        )
        per_robot[r["robot"]]["action"].append(
            np.stack(table[layout.ACTION].to_numpy(zero_copy_only=False))
        )
        for key in (
            "episode_index",
            "robot",
            "task",
            "seed",
            "instruction",
            "instruction_set",
            "length",
            "success",
        ):
            rows[key].append(r[key])
        rows["tasks"].append([r["instruction"]])
        rows["task_index"].append(task_index[r["instruction"]])
        rows["data_path"].append(str(layout.episode_path(Path("."), r["episode_index"])))
        rows["dataset_from_index"].append(start)
        rows["dataset_to_index"].append(start + r["length"])
        start += r["length"]
    write_parquet(root / layout.EPISODES, pa.table(dict(rows)))

    stats = {
        robot: {
            layout.STATE: array_stats(np.concatenate(d["state"])),
            layout.ACTION: array_stats(np.concatenate(d["action"])),
        }
        for robot, d in sorted(per_robot.items())
    }
    atomic.write_json(root / layout.STATS, stats)

    first = records[0]
    cameras = first["cameras"]
    h, w = first["image_size"]
    info = {
        "codebase_version": layout.CODEBASE_VERSION,
        "robot_type": "+".join(sorted(schemas)),
        "fps": first["fps"],
        "total_episodes": len(records),
        "total_frames": start,
        "total_tasks": len(instructions),
        "chunks_size": layout.CHUNK_SIZE,
        "data_path": layout.DATA_PATH,
        "video_path": None,  # frames are PNG bytes inside the episode files
        "splits": {"train": f"0:{len(records)}"},
        "features": {
            **{
                f"{layout.IMAGE_PREFIX}{cam}": {
                    "dtype": "image",
                    "shape": [h, w, 3],
                    "names": ["height", "width", "channel"],
                }
                for cam in cameras
            },
            layout.STATE: {
                "dtype": "float32",
                "shape": "per robot",
                "names": {
                    k: list(s["joint_names"]) + [s["gripper_name"]] for k, s in schemas.items()
                },
            },
            layout.ACTION: {
                "dtype": "float32",
                "shape": "per robot",
                "names": {
                    k: list(s["joint_names"]) + [s["gripper_name"]] for k, s in schemas.items()
                },
            },
            "timestamp": {"dtype": "float32", "shape": [1], "names": None},
            "frame_index": {"dtype": "int64", "shape": [1], "names": None},
            "episode_index": {"dtype": "int64", "shape": [1], "names": None},
            "next.done": {"dtype": "bool", "shape": [1], "names": None},
        },
        "robots": schemas,
        "tasks_by_robot": {
            rb: sorted({r["task"] for r in records if r["robot"] == rb}) for rb in sorted(schemas)
        },
    }
    atomic.write_json(root / layout.INFO, info)
    return info
