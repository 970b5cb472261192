"""Validate a dataset directory; every problem names the file it is in."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from vla.datasets import episode_io, layout
from vla.embodiment import Embodiment


def check(root: str | Path, decode_all: bool = False) -> list[str]:
    """Problems found (empty when the dataset is sound)."""
    root = Path(root)
    problems: list[str] = []
    if not root.is_dir():
        return [f"{root}: no such directory"]
    try:
        info = layout.read_info(root)
    except (FileNotFoundError, json.JSONDecodeError) as e:
        return [f"{root / layout.INFO}: {e}"]
    for name in (layout.STATS, layout.TASKS, layout.EPISODES):
        if not (root / name).is_file():
            problems.append(
                f"{root / name}: missing (run `vla dataset check {root} --rebuild-meta`)"
            )
    schemas = {name: Embodiment.from_dict(s) for name, s in info.get("robots", {}).items()}
    files = layout.episode_files(root)
    if len(files) != info.get("total_episodes"):
        problems.append(
            f"{root / layout.INFO}: says {info.get('total_episodes')} episodes, data/ holds {len(files)}"
        )
    stray = list((root / "data").glob("chunk-*/.*.tmp"))
    problems += [f"{p}: a partial write left behind (safe to delete)" for p in stray]
    total = 0
    for path in files:
        try:
            problems += _check_episode(path, schemas, info, decode_all)
            total += pq.read_metadata(path).num_rows
        except Exception as e:  # an unreadable file is itself the finding
            problems.append(f"{path}: unreadable ({type(e).__name__}: {e})")
    if not problems and total != info.get("total_frames"):
        problems.append(
            f"{root / layout.INFO}: says {info.get('total_frames')} frames, episode files hold {total}"
        )
    return problems


def _check_episode(path: Path, schemas: dict, info: dict, decode_all: bool) -> list[str]:
    record = episode_io.read_record(path)
    out = []
    if record["episode_index"] != layout.episode_index_of(path):
        out.append(f"{path}: record says episode {record['episode_index']}")
    schema = schemas.get(record["robot"])
    if schema is None:
        return out + [f"{path}: robot {record['robot']!r} is not in info.json's robots"]
    table = pq.read_table(path)
    missing = [c for c in layout.FRAME_COLUMNS if c not in table.column_names]
    cams = [c for c in table.column_names if c.startswith(layout.IMAGE_PREFIX)]
    if missing:
        return out + [f"{path}: missing columns {missing}"]
    if table.num_rows != record["length"]:
        out.append(f"{path}: {table.num_rows} frames but the record says {record['length']}")
    state = np.stack(table[layout.STATE].to_numpy(zero_copy_only=False))
    action = np.stack(table[layout.ACTION].to_numpy(zero_copy_only=False))
    if state.shape[1] != schema.state_dim or action.shape[1] != schema.action_dim:
        out.append(
            f"{path}: state/action widths {state.shape[1]}/{action.shape[1]}, {schema.name} needs {schema.state_dim}/{schema.action_dim}"
        )
    elif not (np.isfinite(state).all() and np.isfinite(action).all()):
        out.append(f"{path}: NaN or inf in state or action")
    elif (action < np.array(schema.action_low) - 1e-4).any() or (
        action > np.array(schema.action_high) + 1e-4
    ).any():
        out.append(f"{path}: actions outside {schema.name}'s bounds")
    frames = range(table.num_rows) if decode_all else sorted({0, table.num_rows - 1})
    for cam in cams:
        expected = (
            tuple(info["features"][cam]["shape"]) if cam in info.get("features", {}) else None
        )
        column = table[cam]
        for i in frames:
            image = episode_io.decode_png(column[i].as_py())
            if expected and image.shape != expected:
                out.append(f"{path}: {cam} frame {i} is {image.shape}, info.json says {expected}")
                break
    return out
