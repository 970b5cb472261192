"""Scripted experts solve every task on every robot (a quick sample here; the full 50-episode
table is a slow test and scripts/bench_envs.py)."""

import numpy as np
import pytest

from vla.envs.robots.registry import ROBOTS
from vla.envs.tabletop_env import TabletopEnv
from vla.envs.tasks.registry import TASKS

CELLS = [(r, t) for r in ROBOTS for t in TASKS]


def run_expert(robot, task, seeds):
    env = TabletopEnv(robot=robot, task=task, image_obs=False)
    expert = env.expert()
    results, actions = [], []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            action = expert(obs)
            actions.append(action)
            obs, _, term, trunc, info = env.step(action)
            done = term or trunc
        results.append(bool(info["is_success"]))
    return results, np.array(actions)


def test_experts_solve_every_cell_quickly():
    per_cell = {cell: run_expert(*cell, seeds=range(3))[0] for cell in CELLS}
    for cell, results in per_cell.items():
        assert sum(results) >= 2, (cell, results)
    assert sum(sum(r) for r in per_cell.values()) >= 0.95 * 3 * len(CELLS)


def test_expert_rollout_is_deterministic():
    a = run_expert("ur5e", "place", [3])
    b = run_expert("ur5e", "place", [3])
    assert a[0] == b[0] == [True]
    np.testing.assert_array_equal(a[1], b[1])


def test_expert_actions_stay_in_the_action_space():
    env = TabletopEnv(robot="so101", task="push", image_obs=False)
    expert = env.expert()
    obs, _ = env.reset(seed=0)
    for _ in range(30):
        action = expert(obs)
        assert env.action_space.contains(action)
        obs, *_ = env.step(action)


@pytest.mark.slow
@pytest.mark.parametrize("robot, task", CELLS)
def test_expert_success_over_50_episodes(robot, task):
    """At least 90% of 50 seeded episodes in every cell. so101 push scored 45/50 on 2026-12-05
    when this test first ran in CI's slow step (docs/envs.md's 48/50 is from an older scene);
    every other cell 48/50 or more."""
    results, _ = run_expert(robot, task, range(50))
    assert sum(results) >= 45, f"{robot}/{task}: {sum(results)}/50"


@pytest.mark.parametrize("robot", ["ur5e", "sawyer"])
def test_the_grasp_pause_ends_when_the_fingers_stop(robot):
    """While the fingers close, the expert repeats its action; once they stop it lifts at once.
    A pause with nothing moving (the old fixed 6-step hold) shows a policy the same state with
    different next actions, and a policy trained on it hovered with the cube in its fingers."""
    env = TabletopEnv(robot=robot, task="lift", image_obs=False, control="ee_pose")
    expert = env.expert()
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        done, last, paused_still, lifted = False, None, 0, False
        opening = env.gripper_opening()
        while not done:
            action = expert(obs)
            if last is not None and action[-1] > 0.5 and np.array_equal(action, last):
                paused_still += abs(env.gripper_opening() - opening) < 0.02
            lifted |= last is not None and action[2] > last[2] and action[-1] > 0.5
            last, opening = action, env.gripper_opening()
            obs, _, term, trunc, info = env.step(action)
            done = term or trunc
        assert info["is_success"] and lifted
        assert paused_still == 0, (seed, paused_still)
