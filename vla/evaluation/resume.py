"""What an evaluation directory holds, so a rerun resumes only the same evaluation.

`episodes.jsonl` lets a crashed `vla eval` pick up where it stopped. Its episodes are only
worth keeping when the rerun evaluates the same policy weights with the same settings; after
`make checkpoint` ships new weights, `vla demo` (same output folder) must not report the old
checkpoint's episodes. `run.json` records the identity; on a mismatch the old episodes are
moved aside (never deleted) and the evaluation starts afresh.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from vla import atomic

IDENTITY = "run.json"
EPISODES = "episodes.jsonl"


def weights_hash(policy_path: str | Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(policy_path).glob("*.safetensors")):
        digest.update(path.name.encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()


def prepare(output: Path, identity: dict) -> Path | None:
    """Keep `output/episodes.jsonl` if it came from `identity`; otherwise move it (and its
    run.json) into `output/stale-<time>/` and say so. Returns where stale episodes went."""
    episodes, marker = output / EPISODES, output / IDENTITY
    previous = json.loads(marker.read_text()) if marker.is_file() else None
    moved = None
    if episodes.is_file() and previous != identity:
        moved = output / f"stale-{time.strftime('%Y%m%d-%H%M%S')}"
        moved.mkdir(parents=True, exist_ok=False)
        episodes.rename(moved / EPISODES)
        if marker.is_file():
            marker.rename(moved / IDENTITY)
        print(
            f"{output}: its episodes came from another checkpoint or other settings; "
            f"moved them to {moved} and starting afresh"
        )
    atomic.write_json(marker, identity)
    return moved
