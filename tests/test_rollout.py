"""The shared episode loop: noise injection changes what is executed, never what is recorded."""

import numpy as np

from vla import rollout
from vla.envs.tabletop_env import TabletopEnv


def test_perturbed_actions_are_executed_but_the_clean_ones_recorded():
    env = TabletopEnv(robot="ur5e", task="reach", image_obs=False)
    clean = rollout.run_episode(env, env.expert(), seed=3, record=True)
    rng = np.random.default_rng(0)
    executed = []

    def perturb(action):
        noisy = action.copy()
        noisy[:-1] += rng.normal(0, 0.05, len(action) - 1)
        executed.append(noisy)
        return np.clip(noisy, env.action_space.low, env.action_space.high)

    expert = env.expert()
    recorded_by_expert = []

    def act(obs):
        a = expert(obs)
        recorded_by_expert.append(a.copy())
        return a

    noisy = rollout.run_episode(env, act, seed=3, record=True, perturb=perturb)
    actions = noisy["frames"]["action"]
    # what was recorded is the expert's own output, not what reached the env
    np.testing.assert_array_equal(actions, np.stack(recorded_by_expert))
    assert np.abs(actions - np.stack(executed)[:, : actions.shape[1]]).max() > 0.01
    # and the noise did move the arm off the clean trajectory
    n = min(len(clean["frames"]["state"]), len(noisy["frames"]["state"]))
    assert np.abs(clean["frames"]["state"][:n] - noisy["frames"]["state"][:n]).max() > 0.005


def test_after_success_records_the_expert_carrying_on():
    """Demonstrations can go on past the success threshold: a lift keeps rising, the record
    says when success came, and the frames it adds are the ones recorded."""
    env = TabletopEnv(robot="ur5e", task="lift", image_obs=False, control="ee_pose")
    plain = rollout.run_episode(env, env.expert(), seed=3, record=True)
    longer = rollout.run_episode(env, env.expert(), seed=3, record=True, after_success=6)
    assert plain["success"] and longer["success"]
    assert plain["success_step"] == plain["length"] == longer["success_step"]
    assert longer["length"] == plain["length"] + 6 == len(longer["frames"]["action"])
    np.testing.assert_array_equal(
        longer["frames"]["action"][: plain["length"]], plain["frames"]["action"]
    )
    z = longer["frames"]["state"][:, 2]  # the TCP goes on upwards with the cube
    assert z[-1] > z[plain["length"] - 1] + 0.05
    # the step limit still holds
    short = TabletopEnv(robot="ur5e", task="lift", image_obs=False, control="ee_pose", max_steps=40)
    capped = rollout.run_episode(short, short.expert(), seed=3, after_success=100)
    assert capped["success_step"] == plain["length"] < 40 == capped["length"]


def test_the_record_says_what_the_instruction_asks():
    """ "asked": the task and the scene's named object and fixture, which the sentence part
    groups phrasings by (a place episode names both; a lift names no fixture)."""
    for task, keys in (("place", {"task", "target", "goal"}), ("lift", {"task", "target"})):
        env = TabletopEnv(robot="ur5e", task=task, image_obs=False, max_steps=2)
        record = rollout.run_episode(env, env.expert(), seed=5)
        asked = record["asked"]
        assert set(asked) == keys and asked["task"] == task
        assert asked["target"] in record["instruction"]  # the colour the sentence names
