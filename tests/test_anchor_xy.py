"""policy.parts.anchors: the chunk head's TCP x, y blend the target's, the goal's and the TCP's own
positions before their correction, so a head that picks the target anchor commands the TCP to
exactly where the localizer put the cube."""

import math

import pytest
import torch

from tests.conftest import POLICY_DEMO_SIZE
from tests.test_policy import batch_of, make_policy, obs_of, seen_of, stats_of
from vla.policies.anchors_part import AnchorsOptions

LOCALIZED = {"images": {"encoder": "conv"}, "localizer": {"weight": 1.0, "token": "predicted"}}
ANCHORED = {**LOCALIZED, "anchors": {}}


@pytest.fixture(scope="module")
def ee_demos():
    """One expert lift episode per robot in task space (control=ee_pose), at 32 px."""
    from vla.envs.tabletop_env import TabletopEnv
    from vla.rollout import run_episode

    out = {}
    for robot in ("sawyer", "so101"):
        env = TabletopEnv(robot=robot, task="lift", image_size=POLICY_DEMO_SIZE, control="ee_pose")
        out[robot] = (env.embodiment, run_episode(env, env.expert(), seed=0, record=True))
        env.close()
    return out


def anchored_policy(ee_demos, options=ANCHORED):
    # one demo's actions span a few cm; widen x, y so that positions elsewhere on the table
    # (the untrained localizer's estimate, a label) lie inside the action range, not clipped
    stats = stats_of(ee_demos)
    for robot in stats.values():
        action = robot["action"]
        action["q01"], action["q99"] = list(action["q01"]), list(action["q99"])
        action["q01"][:2], action["q99"][:2] = [-1.0, -1.0], [1.0, 1.0]
    return make_policy(ee_demos, "chunk", parts=options, stats=stats)


def labelled_batch(policy, ee_demos, goal_xy, goal_uv=(math.nan, math.nan)):
    """Both robots' batch cut to the task-space width, with the localizer's labels: the target
    at a fixed place and pixel, the goal at `goal_xy` / `goal_uv` (NaN: no goal)."""
    batch = batch_of(ee_demos, list(ee_demos))
    d = policy.max_dim  # batch_of pads for joint robots; task-space ones are narrower
    batch["state"], batch["dim_mask"] = batch["state"][:, :d], batch["dim_mask"][:, :d]
    batch["actions"] = batch["actions"][..., :d]
    n = len(batch["robot"])
    batch["target_xy"] = torch.tensor([[0.05, -0.1]] * n)
    batch["target_uv"] = torch.tensor([[[0.1, 0.2], [math.nan, math.nan]]] * n)
    batch["goal_xy"] = torch.tensor([goal_xy] * n)
    batch["goal_uv"] = torch.tensor([[goal_uv, [math.nan, math.nan]]] * n)
    return batch


def test_the_policy_says_what_anchoring_needs(ee_demos):
    with pytest.raises(ValueError, match="provides 'target'"):
        make_policy(ee_demos, "chunk", parts={"images": {"encoder": "conv"}, "anchors": {}})
    relative = {r: s | {"action.relative": s["action"]} for r, s in stats_of(ee_demos).items()}
    with pytest.raises(ValueError, match="action_mode=absolute"):
        make_policy(ee_demos, "chunk", parts=ANCHORED, action_mode="relative", stats=relative)
    with pytest.raises(ValueError, match="head 'bins' reads none of them"):
        make_policy(ee_demos, "bins", parts=ANCHORED)


def test_robots_acting_in_joints_are_refused(demos):
    with pytest.raises(ValueError, match="control=ee_pose"):
        make_policy(demos, "chunk", parts=ANCHORED)


def test_a_head_that_picks_the_target_anchor_commands_the_estimate(ee_demos):
    policy = anchored_policy(ee_demos).eval()
    head = policy.head
    with torch.no_grad():
        for r in head.out:  # no correction on x, y ...
            head.out[r].weight[:2] = 0
            head.out[r].bias[:2] = 0
        head.anchor_weights.bias.copy_(torch.tensor([30.0, 0.0]))  # ... and the target anchor
    for robot in ee_demos:
        obs = obs_of(ee_demos, robot)
        seen = seen_of(policy, obs, robot)
        chunk = policy.predict_action_chunk(obs, robot=robot)
        for step in chunk:
            torch.testing.assert_close(
                torch.as_tensor(step[:2]).float(), seen["target"][0].float(), atol=1e-4, rtol=0
            )
        # the TCP anchor instead: the command stays where the TCP is
        with torch.no_grad():
            head.anchor_weights.bias.copy_(torch.tensor([0.0, 30.0]))
        still = policy.predict_action_chunk(obs, robot=robot)
        torch.testing.assert_close(
            torch.as_tensor(still[:, :2]).float(),
            torch.as_tensor(obs["state"][:2]).float().expand(len(still), 2),
            atol=1e-4,
            rtol=0,
        )
        with torch.no_grad():
            head.anchor_weights.bias.copy_(torch.tensor([30.0, 0.0]))


def test_the_blend_trains(ee_demos):
    policy = anchored_policy(ee_demos).train()
    loss, _ = policy(labelled_batch(policy, ee_demos, goal_xy=(math.nan, math.nan)))
    loss.backward()
    grad = policy.head.anchor_weights.weight.grad
    assert torch.isfinite(loss) and grad is not None and grad.abs().sum() > 0


FRAMED = {
    **ANCHORED,
    "localizer": {"weight": 1.0, "token": "predicted", "goal": True},
    "anchors": {"frame": True},
}


def test_the_frame_needs_a_goal(ee_demos):
    with pytest.raises(ValueError, match="provides 'goal'"):
        make_policy(ee_demos, "chunk", parts={**ANCHORED, "anchors": AnchorsOptions(frame=True)})


def test_a_frame_offset_is_measured_from_the_target_towards_the_goal(ee_demos):
    """Target anchor, no world correction, frame offset (along, across): the command lies that
    far from the target estimate, along the line to the goal estimate and across it."""
    policy = anchored_policy(ee_demos, FRAMED).eval()
    head = policy.head
    with torch.no_grad():
        for r in head.out:
            head.out[r].weight[:2] = 0
            head.out[r].bias[:2] = 0
        head.anchor_weights.bias.copy_(torch.tensor([30.0, 0.0, 0.0]))
        head.frame_offset.weight.zero_()
    for robot in ee_demos:
        obs = obs_of(ee_demos, robot)
        seen = seen_of(policy, obs, robot)
        target, goal = seen["target"][0].float(), seen["goal"][0].float()
        along = (goal - target) / (goal - target).norm()
        across = torch.stack([-along[1], along[0]])
        for offset in ((0.3, 0.0), (0.0, -0.2), (-0.4, 0.1)):
            with torch.no_grad():
                head.frame_offset.bias.copy_(torch.tensor(offset))
            chunk = policy.predict_action_chunk(obs, robot=robot)
            want = target + 0.1 * (offset[0] * along + offset[1] * across)
            for step in chunk:
                torch.testing.assert_close(
                    torch.as_tensor(step[:2]).float(), want, atol=1e-4, rtol=0
                )


def test_the_frame_offset_trains(ee_demos):
    policy = anchored_policy(ee_demos, FRAMED).train()
    loss, _ = policy(labelled_batch(policy, ee_demos, goal_xy=(0.2, 0.1), goal_uv=(0.3, 0.4)))
    loss.backward()
    grad = policy.head.frame_offset.weight.grad
    assert torch.isfinite(loss) and grad is not None and grad.abs().sum() > 0
