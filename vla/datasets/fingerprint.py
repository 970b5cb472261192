"""A dataset's fingerprint: one hash over its episode files, so a checkpoint can say exactly
which demonstrations it was trained on (and a rebuilt dataset can be checked against it)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from vla.datasets import layout


def fingerprint(root: str | Path) -> dict:
    """{"sha256": ..., "episodes": N, "frames": ...} over every episode file's bytes, in order."""
    root = Path(root)
    files = layout.episode_files(root)
    if not files:
        raise ValueError(f"{root} holds no episode files under data/")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    info = layout.read_info(root)
    return {
        "sha256": digest.hexdigest(),
        "episodes": len(files),
        "frames": info.get("total_frames"),
    }
