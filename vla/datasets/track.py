"""Add the per-frame `target_track` (where the named cube is in each frame) to episodes
recorded before collection wrote it, by replaying their stored actions in the simulator.

Replay is exact (`reset(seed)` and the same actions give the same states); each replayed
episode is checked against its stored states before its file is rewritten, so a dataset from
another simulator version fails loudly instead of getting wrong labels.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from vla import rollout
from vla.datasets import episode_io, layout
from vla.embodiment import control_of

STATE_TOLERANCE = 1e-4  # replayed vs stored state, in the state's units (m, rad)


def replay_track(env, record: dict, states: np.ndarray, actions: np.ndarray) -> dict:
    """The named cube's position before each stored action, from a replay in `env` (made for
    the record's robot, task and control). Raises if the replay leaves the stored states."""
    obs, _ = env.reset(seed=record["seed"], options={"instruction_set": record["instruction_set"]})
    track = []
    for t, action in enumerate(actions):
        gap = float(np.abs(np.asarray(obs["state"]) - states[t]).max())
        if gap > STATE_TOLERANCE:
            raise ValueError(
                f"episode {record.get('episode_index')} does not replay: frame {t}'s state is "
                f"{gap:.2g} from the stored one (collected with action noise, whose executed "
                "actions are not stored, or with another simulator or scene version?); "
                "recollect it with `vla collect`, which records the track itself"
            )
        track.append(env.unwrapped.named_cube_now())
        obs, *_ = env.step(action)
    return rollout.target_track(track)


def add_target_tracks(root: str | Path, log: Callable[[str], None] = print) -> int:
    """Give every episode under `root` without a `target_track` one. Returns how many were
    added; files that have one are left as they are, so an interrupted run just goes on."""
    from vla.envs.tabletop_env import TabletopEnv

    envs: dict[tuple, TabletopEnv] = {}
    added = 0
    paths = layout.episode_files(Path(root))
    if not paths:
        raise FileNotFoundError(f"no episode files under {root}/data: is it a vla dataset?")
    for path in paths:
        record = episode_io.read_record(path)
        if record.get("target_track"):
            continue
        key = (record["robot"], record["task"], control_of(record["embodiment"]))
        if key not in envs:
            robot, task, control = key
            size = tuple(record.get("image_size") or (64, 64))
            envs[key] = TabletopEnv(
                robot=robot, task=task, image_size=size, image_obs=False, control=control
            )
        table = episode_io.read_frames(path)  # once: replayed from, then written back
        states = np.stack(table[layout.STATE].to_numpy(zero_copy_only=False))
        actions = np.stack(table[layout.ACTION].to_numpy(zero_copy_only=False))
        record["target_track"] = replay_track(envs[key], record, states, actions)
        episode_io.write_table(path, table, record)
        added += 1
        if added % 100 == 0:
            log(f"  {added} episodes tracked")
    for env in envs.values():
        env.close()
    return added
