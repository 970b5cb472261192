"""A dataset's fingerprint: one hash over what its episodes hold, so a checkpoint can say exactly
which demonstrations it was trained on and a rebuilt dataset can be checked against it.

Ray workers finish episodes in no fixed order, so the same collection numbers its episodes
differently from run to run. The hash therefore keys each episode by what it is
(robot, task, seed) and covers its frames (images, state, action), not file names or indices;
the same episodes give the same hash in the old one-file-per-episode layout and as LeRobot v3.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from vla.datasets import layout, meta


def episode_digest(record: dict, data: dict) -> tuple[tuple[str, str, int], bytes]:
    """`data`: the episode's {"images": {camera: [encoded]}, "state", "action"}."""
    digest = hashlib.sha256(record["instruction"].encode())
    columns = {f"{layout.IMAGE_PREFIX}{c}": v for c, v in data["images"].items()}
    columns |= {layout.STATE: data["state"].tolist(), layout.ACTION: data["action"].tolist()}
    for name in sorted(columns):
        digest.update(name.encode())
        for value in columns[name]:
            digest.update(bytes(value) if isinstance(value, bytes) else repr(value).encode())
    return (record["robot"], record["task"], int(record["seed"])), digest.digest()


def fingerprint(root: str | Path) -> dict:
    """{"sha256": ..., "episodes": N, "frames": ...}, the same whatever order the episodes
    were written in."""
    digests, frames = [], 0
    for source in meta.open_sources(root):
        for positions in source.by_file(range(len(source.records))).values():
            for pos, data in source.load(positions, list(source.cameras)).items():
                digests.append(episode_digest(source.records[pos], data))
                frames += len(data["action"])
    if not digests:
        raise ValueError(f"{root} holds no episodes")
    digest = hashlib.sha256()
    for key, episode in sorted(digests):
        digest.update("/".join(map(str, key)).encode())
        digest.update(episode)
    return {"sha256": digest.hexdigest(), "episodes": len(digests), "frames": frames}
