"""Task-space control (`control=ee_delta` and `ee_pose`): every robot takes the same 5-D action
(TCP move and turn, or the TCP pose to go to; then the gripper) through the env's IK, the
scripted expert solves the tasks that way, and a policy trained on it is evaluated in the same
control."""

import warnings

import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from vla.envs.robots.registry import ROBOTS
from vla.envs.tabletop_env import EE_NAMES, EE_STEP_M, TASK_SPACE, TabletopEnv
from vla.rollout import run_episode


def test_check_env_passes_in_task_space():
    env = TabletopEnv(robot="ur5e", task="lift", image_size=32, control="ee_delta")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=True)
    assert [str(w.message) for w in caught] == []  # this action box is symmetric and small
    env.close()


@pytest.mark.parametrize("control", TASK_SPACE)
def test_every_robot_shares_the_task_space_schema(control):
    schemas = [
        TabletopEnv(robot=r, task="reach", image_obs=False, control=control).embodiment
        for r in ROBOTS
    ]
    assert {s.action_names for s in schemas} == {(*EE_NAMES, "gripper")}
    assert {s.action_mode for s in schemas} == {control}
    assert {(s.action_low, s.action_high) for s in schemas} == {
        (schemas[0].action_low, schemas[0].action_high)
    }


def test_an_action_moves_the_tcp_by_that_much_and_the_state_reports_it():
    env = TabletopEnv(robot="ur5e", task="reach", image_obs=False, control="ee_delta")
    obs, _ = env.reset(seed=0)
    start = obs["state"][:3].copy()
    np.testing.assert_allclose(start, env.tcp(), atol=1e-6)
    obs, *_ = env.step(np.array([0.03, -0.02, 0.01, 0.0, 0.0], np.float32))
    for _ in range(5):  # let the joint servos settle on the new target
        obs, *_ = env.step(np.zeros(5, np.float32))
    np.testing.assert_allclose(obs["state"][:3] - start, [0.03, -0.02, 0.01], atol=0.006)
    yaw = obs["state"][3]
    for _ in range(6):
        obs, *_ = env.step(np.array([0, 0, 0, 0.1, 0], np.float32))
    for _ in range(5):
        obs, *_ = env.step(np.zeros(5, np.float32))
    assert obs["state"][3] - yaw == pytest.approx(0.6, abs=0.05)
    with pytest.raises(ValueError, match="outside"):
        env.step(np.array([0.5, 0, 0, 0, 0], np.float32))  # 50 cm in one step


def test_a_pose_target_is_approached_one_bounded_step_at_a_time():
    """ee_pose: the action is where the TCP should be; the commanded pose moves there by at most
    one ee_delta step per control step, so a far target cannot fling the arm."""
    env = TabletopEnv(robot="ur5e", task="reach", image_obs=False, control="ee_pose")
    obs, _ = env.reset(seed=0)
    start = obs["state"][:4].copy()
    np.testing.assert_allclose(env.commanded_pose(), start, atol=1e-6)
    target = np.r_[start[:3] + [0.12, -0.08, 0.0], start[3], 0.0].astype(np.float32)
    env.step(target)
    np.testing.assert_allclose(env.commanded_pose()[:3] - start[:3], [EE_STEP_M, -EE_STEP_M, 0])
    for _ in range(11):
        obs, *_ = env.step(target)
    np.testing.assert_allclose(env.commanded_pose(), target[:4], atol=1e-6)
    np.testing.assert_allclose(obs["state"][:3], target[:3], atol=0.006)


@pytest.mark.parametrize("control", TASK_SPACE)
@pytest.mark.parametrize("robot", list(ROBOTS))
@pytest.mark.parametrize("task", ["reach", "lift"])
def test_the_expert_succeeds_in_task_space(robot, task, control):
    env = TabletopEnv(robot=robot, task=task, image_obs=False, control=control)
    results = [run_episode(env, env.expert(), seed=s)["success"] for s in range(2)]
    assert results == [True, True]


def test_task_space_names_each_suites_end_effector_control():
    """`control=task_space` is one word for every suite (the general recipe's): the tabletop's
    absolute TCP pose targets, Meta-World's hand moves; no name is the suite's default."""
    from vla.datasets.collect import CollectConfig

    def control(suite, tasks, name):
        return CollectConfig(
            suite=suite, robots=None, tasks=tasks, episodes=1, output="x", control=name
        ).control

    assert control("tabletop", ["reach"], "task_space") == "ee_pose"
    assert control("tabletop", ["reach"], None) == "joint"
    assert control("metaworld", ["reach"], "task_space") == "ee_delta"
    with pytest.raises(ValueError, match="task_space"):
        control("tabletop", ["reach"], "task-space")


def test_unknown_control_and_noise_on_the_tabletops_pose_changes_are_refused():
    from vla.datasets.collect import CollectConfig

    with pytest.raises(ValueError, match="ee_delta"):
        TabletopEnv(robot="ur5e", task="reach", control="cartesian")
    with pytest.raises(ValueError, match="ee_delta"):
        CollectConfig(robots=["ur5e"], tasks=["reach"], episodes=1, output="x", control="ee")
    with pytest.raises(ValueError, match="ee_delta control would drift uncorrected"):
        CollectConfig(
            robots=["ur5e"],
            tasks=["reach"],
            episodes=1,
            output="x",
            control="ee_delta",
            action_noise=0.02,
        )


def ee_policy(relative: bool = False, control: str = "ee_delta"):
    from tests.expert_stats import schemas_and_stats
    from tests.tiny import tiny
    from vla.policies.vla_policy import VLAPolicy

    schemas, stats = schemas_and_stats(("sawyer", "ur5e"), control=control, horizon=4)
    torch.manual_seed(0)
    cfg = tiny(action_mode="relative" if relative else "absolute")
    return VLAPolicy(cfg, schemas, stats)


def test_relative_actions_take_pose_targets_relative_and_keep_pose_changes():
    """`action_mode=relative` subtracts the measured TCP pose from pose targets; pose changes
    (ee_delta, Meta-World's only control) are relative already and normalise as they are, so
    one recipe can say relative on every suite."""
    targets = ee_policy(relative=True, control="ee_pose").normalizer
    assert targets.relative == {"sawyer", "ur5e"}
    changes, absolute = ee_policy(relative=True).normalizer, ee_policy().normalizer
    assert changes.relative == set()
    x, state = torch.full((2, 4, changes.max_dim), 0.01), torch.ones(2, changes.max_state_dim)
    robots = ["sawyer", "ur5e"]
    torch.testing.assert_close(
        changes.action(x, robots, state=state), absolute.action(x, robots, state=state)
    )
    # with pose targets the same numbers are read as a move from the measured pose
    assert not torch.allclose(
        targets.action(x, robots, state=state), targets.action(x, robots, state=state * 0)
    )


@pytest.mark.parametrize(
    "control",
    # ee_pose is the recipe's control; ee_delta takes the same path (30 s more: run on purpose)
    [c if c == "ee_pose" else pytest.param(c, marks=pytest.mark.slow) for c in TASK_SPACE],
)
def test_eval_drives_a_task_space_policy_in_task_space(ray_cluster, tmp_path, control):
    """The env's joint action is 7-8 numbers, the policy's 5: an eval that built the wrong
    env would fail on the first step."""
    from vla.evaluation.evaluate import EvalConfig, evaluate

    path = tmp_path / "policy"
    ee_policy(control=control).save_pretrained(path)
    cfg = EvalConfig(
        policy_path=str(path),
        robots=["sawyer", "ur5e"],
        tasks=["reach"],
        episodes=1,
        output=str(tmp_path / "ev"),
        workers=1,
        language_checks=False,
        progress=False,
    )
    results = evaluate(cfg)
    assert len(results["cells"]) == 2
