"""policy.anchor_xy: the chunk head's TCP x, y blend the target's, the goal's and the TCP's own
positions before their correction, so a head that picks the target anchor commands the TCP to
exactly where the localizer put the cube."""

import math

import pytest
import torch

from tests.conftest import POLICY_DEMO_SIZE
from tests.test_policy import batch_of, make_policy, obs_of
from vla.policies.configuration import PolicyConfig

ANCHORED = {
    "image_encoder": "conv",
    "target_probe_weight": 1.0,
    "target_token": "predicted",
    "anchor_xy": True,
}


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


def anchored_policy(ee_demos):
    policy = make_policy(ee_demos, "chunk", **ANCHORED)
    # one demo's actions span a few cm; widen x, y so that positions elsewhere on the table
    # (the untrained localizer's estimate, a label) lie inside the action range, not clipped
    for table in policy.normalizer._t.values():
        table["action_low"][:2], table["action_high"][:2] = -1.0, 1.0
    return policy


def test_the_config_says_what_anchoring_needs():
    with pytest.raises(ValueError, match="target token"):
        PolicyConfig(anchor_xy=True)
    with pytest.raises(ValueError, match="action_mode=absolute"):
        PolicyConfig(**ANCHORED, action_mode="relative")


def test_robots_acting_in_joints_are_refused(demos):
    with pytest.raises(ValueError, match="control=ee_pose"):
        make_policy(demos, "chunk", **ANCHORED)


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
        images, state, text, _ = policy._batch_from_obs(obs, robot)
        with torch.no_grad():
            _, _, seen = policy._prefix(images, state, text, [robot])
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
    batch = batch_of(ee_demos, list(ee_demos))
    d = policy.max_dim  # batch_of pads for joint robots; task-space ones are narrower
    batch["state"], batch["dim_mask"] = batch["state"][:, :d], batch["dim_mask"][:, :d]
    batch["actions"] = batch["actions"][..., :d]
    n = len(batch["robot"])
    batch["target_xy"] = torch.tensor([[0.05, -0.1]] * n)
    batch["target_uv"] = torch.tensor([[[0.1, 0.2], [math.nan, math.nan]]] * n)
    batch["goal_xy"] = torch.full((n, 2), math.nan)
    batch["goal_uv"] = torch.full((n, 2, 2), math.nan)
    loss, _ = policy(batch)
    loss.backward()
    grad = policy.head.anchor_weights.weight.grad
    assert torch.isfinite(loss) and grad is not None and grad.abs().sum() > 0
