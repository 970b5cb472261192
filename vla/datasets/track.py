"""Add the per-frame `target_track` (where the named cube is in each frame) to episodes
recorded before collection wrote it, by replaying their stored actions in the simulator.

Replay is exact (`reset(seed)` and the same actions give the same states); each replayed
episode is checked against its stored states before its record is rewritten, so a dataset from
another simulator version fails loudly instead of getting wrong labels.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from vla import atomic, rollout
from vla.datasets import lerobot_v3 as v3
from vla.datasets import meta
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
    """Give every episode of the dataset at `root` without a `target_track` one (its record in
    meta/episodes is rewritten, robot by robot). Returns how many were added; records that
    have one are left as they are, so an interrupted run just goes on."""
    from vla.envs.tabletop_env import TabletopEnv

    envs: dict[tuple, TabletopEnv] = {}
    added = 0
    for source in meta.open_sources(root):
        if not source.records or "embodiment" not in source.records[0]:
            log(f"  {source.root}: not collected by vla (no episode records); skipped")
            continue
        changed = 0
        for pos, states, actions in source.state_action():
            record = source.records[pos]
            if record.get("target_track"):
                continue
            key = (record["robot"], record["task"], control_of(record["embodiment"]))
            if key not in envs:
                robot, task, control = key
                size = tuple(record.get("image_size") or (64, 64))
                envs[key] = TabletopEnv(
                    robot=robot, task=task, image_size=size, image_obs=False, control=control
                )
            record["target_track"] = replay_track(envs[key], record, states, actions)
            changed += 1
            if (added + changed) % 100 == 0:
                log(f"  {added + changed} episodes tracked")
        if changed:
            rows = [
                {**row, v3.RECORD: json.dumps(r)}
                for row, r in zip(source.rows, source.records, strict=True)
            ]
            atomic.write_parquet(source.root / v3.EPISODES, pa.Table.from_pylist(rows))
            added += changed
    for env in envs.values():
        env.close()
    return added
