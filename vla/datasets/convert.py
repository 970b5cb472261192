"""`vla dataset convert OLD NEW`: a dataset in the one-file-per-episode layout that earlier
versions of `vla collect` wrote, as LeRobot v3 datasets (one per robot) and a manifest.

Each old episode file is already what collection stages (`episode_io`), so converting is packing
them with the same writer; a stopped conversion goes on where it stopped when run again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from vla.datasets import episode_io, layout, mixture, v3_writer


def convert(src: str | Path, dst: str | Path, log: Callable[[str], None] = print) -> dict:
    """Pack every episode under `src`/data into `dst`/<robot>; returns the manifest."""
    src, dst = Path(src), Path(dst)
    if not layout.is_legacy(src):
        raise ValueError(f"{src} is not a dataset in the old layout (no {layout.LEGACY_EPISODES})")
    if dst.resolve() == src.resolve():
        raise ValueError("convert into a new folder, not into the old dataset itself")
    by_robot = defaultdict(list)
    for path in sorted(src.glob(layout.LEGACY_EPISODES)):
        by_robot[episode_io.read_record(path)["robot"]].append(path)
    for robot, paths in sorted(by_robot.items()):
        added = v3_writer.append(dst / robot, paths)
        log(f"  {robot}: {added} episodes packed ({len(paths) - added} already there)")
    return mixture.write_manifest(dst)
