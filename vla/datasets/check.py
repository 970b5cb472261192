"""Validate a dataset (a mixture of LeRobot v3 datasets, or one); every problem names the file
it is in."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from vla.datasets import episode_io, layout, meta, v3_writer
from vla.datasets import lerobot_v3 as v3
from vla.datasets.source import Source


def check(root: str | Path, decode_all: bool = False) -> list[str]:
    """Problems found (empty when the dataset is sound)."""
    root = Path(root)
    if not root.exists():
        return [f"{root}: no such file or directory"]
    if root.is_dir():
        staged = layout.staged_files(root)
        if staged:
            return [
                f"{root / layout.STAGING}: {len(staged)} finished episodes not packed into their "
                f"robot's dataset yet (run `vla dataset check {root} --rebuild-meta`, or the same "
                "vla collect again)"
            ]
    try:
        sources = meta.open_sources(root)
    except (FileNotFoundError, ValueError, json.JSONDecodeError) as e:
        return [str(e)]
    problems: list[str] = []
    for source in sources:
        try:
            problems += check_source(source, decode_all)
        except Exception as e:  # an unreadable file is itself the finding
            problems.append(f"{source.root}: unreadable ({type(e).__name__}: {e})")
    if not problems:
        try:
            meta.robot_schemas(sources)
        except ValueError as e:
            problems.append(str(e))
    return problems


def check_source(source: Source, decode_all: bool) -> list[str]:
    root, info, rows = source.root, source.info, source.rows
    out = [
        f"{root / name}: missing (run `vla dataset check {root} --rebuild-meta`)"
        for name in (v3.STATS, v3.TASKS)
        if not (root / name).is_file()
    ]
    out += [
        f"{p}: a partial write left behind (safe to delete)" for p in root.glob("data/*/.*.tmp")
    ]
    out += [
        f"{p}: no meta/episodes row names it (left by an interrupted write; safe to delete)"
        for p in v3_writer.unlisted_data_files(root, rows, info["data_path"])
    ]
    if [r["episode_index"] for r in rows] != list(range(len(rows))):
        out.append(f"{root / v3.EPISODES}: episode_index is not 0..{len(rows) - 1} in order")
    ends = [0] + [r["dataset_to_index"] for r in rows]
    if any(r["dataset_from_index"] != ends[i] for i, r in enumerate(rows)) or any(
        r["dataset_to_index"] - r["dataset_from_index"] != r["length"] for r in rows
    ):
        out.append(f"{root / v3.EPISODES}: the episodes' frame ranges are not back to back")
    if (info.get("total_episodes"), info.get("total_frames")) != (len(rows), ends[-1]):
        out.append(
            f"{root / v3.INFO}: says {info.get('total_episodes')} episodes and "
            f"{info.get('total_frames')} frames, meta/episodes {len(rows)} and {ends[-1]}"
        )
    tasks = v3.read_tasks(root) if (root / v3.TASKS).is_file() else None
    columns = sorted(k for k, f in info["features"].items() if f["dtype"] != "video")
    schema = source.embodiment
    for (chunk, file), positions in source.by_file(range(len(rows))).items():
        path = v3.data_path(root, info["data_path"], chunk, file)
        if not path.is_file():
            out.append(f"{path}: missing (meta/episodes names it)")
            continue
        table = pq.read_table(path)
        if sorted(table.column_names) != columns:
            out.append(
                f"{path}: columns {sorted(table.column_names)} are not info.json's features "
                f"{columns} (LeRobot refuses any difference)"
            )
            continue
        out += _check_episodes(source, path, table, positions, tasks, schema, decode_all)
    return out


def _check_episodes(source, path, table, positions, tasks, schema, decode_all) -> list[str]:
    out = []
    index = table["index"].to_numpy()
    if not (np.diff(index) == 1).all():
        out.append(f"{path}: its index column is not contiguous")
    for pos, first, n in source.slices(table, positions):
        row, part = source.rows[pos], table.slice(first, n)
        where = f"{path} episode {row['episode_index']}"
        if part["frame_index"].to_numpy().tolist() != list(range(n)):
            out.append(f"{where}: frame_index is not 0..{n - 1}")
        if (part["episode_index"].to_numpy() != row["episode_index"]).any():
            out.append(f"{where}: rows of another episode inside its range")
        if tasks is not None and tasks[part["task_index"].to_numpy()[0]] != row["tasks"][0]:
            out.append(f"{where}: task_index does not name the episode's task in tasks.parquet")
        state = v3.vectors(part[source.entry.state])
        action = v3.vectors(part[source.entry.action])
        if state.shape[1] != schema.state_dim or action.shape[1] != schema.action_dim:
            out.append(
                f"{where}: state/action widths {state.shape[1]}/{action.shape[1]}, "
                f"{schema.name} needs {schema.state_dim}/{schema.action_dim}"
            )
        elif not (np.isfinite(state).all() and np.isfinite(action).all()):
            out.append(f"{where}: NaN or inf in state or action")
        elif (action < np.array(schema.action_low) - 1e-4).any() or (
            action > np.array(schema.action_high) + 1e-4
        ).any():
            out.append(f"{where}: actions outside {schema.name}'s bounds")
        frames = range(n) if decode_all else sorted({0, n - 1})
        for camera, key in source.cameras.items():
            expected = tuple(source.image_shape(camera))
            pngs = v3.image_bytes(part[key].take(list(frames)))
            for i, data in zip(frames, pngs, strict=True):
                image = episode_io.decode_png(data)
                if image.shape != expected:
                    out.append(
                        f"{where}: {key} frame {i} is {image.shape}, info.json says {expected}"
                    )
                    break
    return out
