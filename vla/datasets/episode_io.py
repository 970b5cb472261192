"""One episode <-> one parquet file: frames as rows, the episode's record in the schema metadata.

The form a finished episode is staged in until it is packed into its robot's LeRobot v3 dataset
(vla/datasets/v3_writer.py), and the form of every episode in the old layout.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vla import atomic
from vla.datasets import layout

EPISODE_META_KEY = b"vla_episode"  # parquet schema metadata: the episode's JSON record


def encode_png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def write_episode(path: Path, record: dict, frames: dict) -> Path:
    """Write one episode atomically to `path`. `frames` holds equal-length columns:
    "images" {camera: [png bytes]}, "state" (T, S), "action" (T, A); `record` is JSON-able."""
    states = np.asarray(frames["state"], np.float32)
    actions = np.asarray(frames["action"], np.float32)
    n = len(actions)
    if len(states) != n or any(len(v) != n for v in frames["images"].values()):
        raise ValueError("every frame column must have one entry per step")
    fps = record["fps"]
    columns = {
        f"{layout.IMAGE_PREFIX}{cam}": pa.array(pngs, pa.binary())
        for cam, pngs in frames["images"].items()
    }
    columns |= {
        layout.STATE: pa.array(list(states), pa.list_(pa.float32())),
        layout.ACTION: pa.array(list(actions), pa.list_(pa.float32())),
        "timestamp": pa.array(np.arange(n, dtype=np.float32) / fps),
        "frame_index": pa.array(np.arange(n, dtype=np.int64)),
        "next.done": pa.array(np.arange(n) == n - 1),
    }
    # the record in the schema metadata; written atomically (temporary file, then rename): a
    # reader sees the old file or the new one, never half of one
    table = pa.table(columns)
    metadata = {EPISODE_META_KEY: json.dumps({**record, "length": n})}
    buffer = pa.BufferOutputStream()
    pq.write_table(table.replace_schema_metadata(metadata), buffer, compression="zstd")
    atomic.write_bytes(Path(path), buffer.getvalue().to_pybytes())
    return path


def read_record(path: Path) -> dict:
    """The episode's record from the parquet footer alone (no frame data is read)."""
    meta = pq.read_schema(path).metadata or {}
    if EPISODE_META_KEY not in meta:
        raise ValueError(f"{path} has no episode record in its parquet metadata")
    return json.loads(meta[EPISODE_META_KEY])


def read_frames(path: Path, columns: list[str] | None = None) -> pa.Table:
    return pq.read_table(path, columns=columns)
