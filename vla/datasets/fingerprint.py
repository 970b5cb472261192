"""A dataset's fingerprint: one hash over what its episodes hold, so a checkpoint can say exactly
which demonstrations it was trained on and a rebuilt dataset can be checked against it.

Ray workers finish episodes in no fixed order, so the same collection numbers its episode
files differently from run to run. The hash therefore keys each episode by what it is
(robot, task, seed) and covers its frames (images, state, action), not file names or indices.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from vla.datasets import episode_io, layout


def episode_digest(path: Path) -> tuple[tuple[str, str, int], bytes]:
    table = episode_io.read_frames(path)
    record = episode_io.record_of(table, path)
    digest = hashlib.sha256(record["instruction"].encode())
    for name in sorted(table.column_names):
        if name.startswith(layout.IMAGE_PREFIX) or name in (layout.STATE, layout.ACTION):
            digest.update(name.encode())
            for value in table[name].to_pylist():
                digest.update(bytes(value) if isinstance(value, bytes) else repr(value).encode())
    return (record["robot"], record["task"], int(record["seed"])), digest.digest()


def fingerprint(root: str | Path) -> dict:
    """{"sha256": ..., "episodes": N, "frames": ...}, the same whatever order the episodes
    were written in."""
    root = Path(root)
    files = layout.episode_files(root)
    if not files:
        raise ValueError(f"{root} holds no episode files under data/")
    digest = hashlib.sha256()
    for key, episode in sorted(episode_digest(path) for path in files):
        digest.update("/".join(map(str, key)).encode())
        digest.update(episode)
    info = layout.read_info(root)
    return {
        "sha256": digest.hexdigest(),
        "episodes": len(files),
        "frames": info.get("total_frames"),
    }
