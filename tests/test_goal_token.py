"""policy.parts.localizer.goal: the localizer's second map (where the cube should go) trains on the goal's
pixel where a sample has one, becomes a token, and acting reads its estimate."""

import math

import numpy as np
import pytest
import torch

from tests.test_policy import ROBOTS, batch_of, make_policy, obs_of
from vla.policies.localizer_part import TARGET_SCALE_M, LocalizerOptions

GOAL = {"localizer": {"weight": 1.0, "token": "predicted", "goal": True}}


def with_labels(batch, goal_known):
    """The loader's labels: the target everywhere, the goal only in the rows marked known."""
    n = len(batch["robot"])
    batch = dict(batch)
    batch["target_xy"] = torch.tensor([[0.45, 0.05]] * n)
    batch["target_uv"] = torch.tensor([[[0.1, 0.2], [math.nan, math.nan]]] * n)
    goal_xy = torch.tensor([[0.55, -0.1]] * n)
    goal_uv = torch.tensor([[[-0.3, 0.4], [math.nan, math.nan]]] * n)
    unknown = ~torch.as_tensor(goal_known)
    goal_xy[unknown], goal_uv[unknown] = math.nan, math.nan
    batch["goal_xy"], batch["goal_uv"] = goal_xy, goal_uv
    return batch


def test_goal_map_trains_where_there_is_a_goal_and_acts_from_its_estimate(demos, tmp_path):
    pol = make_policy(demos, "chunk", parts=GOAL)
    part = pol.parts["localizer"]
    assert part.net.things == ("target", "goal")
    batch = with_labels(batch_of(demos, list(ROBOTS)), [True, False, True, False])
    loss, logs = pol(batch)
    assert "goal_cm" in logs and "target_cm" in logs and torch.isfinite(loss)
    loss.backward()
    goal_logits = part.net.late[-1].weight.grad[1]  # the goal map's last layer
    assert goal_logits.abs().sum() > 0 and part.goal_token[0].weight.grad.abs().sum() > 0
    assert all(torch.isfinite(p.grad).all() for p in pol.parameters() if p.grad is not None)
    pol.zero_grad()

    # no goal in any row (reach, lift): the goal map has nothing to learn from
    _, logs = pol(with_labels(batch_of(demos, list(ROBOTS)), [False] * 4))
    assert "goal_cm" not in logs

    # acting: no labels; the goal token reads the goal map's estimate, and the actions move
    # with it (the target's estimate stays put)
    robot = list(ROBOTS)[0]
    obs = obs_of(demos, robot)
    pol.eval()
    fed = []
    hook = part.goal_token.register_forward_hook(lambda m, args, out: fed.append(args[0].clone()))
    images = torch.from_numpy(obs["images"]["front"]).permute(2, 0, 1)[None]
    with torch.no_grad():
        before = pol.predict_action_chunk(obs, robot)
        pooled = pol.parts["words"].pool(*_words(pol, obs["instruction"]))
        estimate = part.net(images, pooled, [robot])[0]
        part.net.late[-1].weight[1].normal_(0, 1.0)  # the goal map only
        moved = pol.predict_action_chunk(obs, robot)
        now = part.net(images, pooled, [robot])[0]
    hook.remove()
    torch.testing.assert_close(fed[0] * TARGET_SCALE_M, estimate[:, 1])
    torch.testing.assert_close(fed[1] * TARGET_SCALE_M, now[:, 1])
    assert torch.equal(estimate[:, 0], now[:, 0]) and not torch.equal(estimate[:, 1], now[:, 1])
    assert np.abs(before - moved).max() > 0

    pol.save_pretrained(tmp_path / "ckpt")
    loaded = type(pol).from_pretrained(tmp_path / "ckpt")
    np.testing.assert_array_equal(loaded.predict_action_chunk(obs, robot), moved)


def _words(pol, instruction):
    ids, mask = pol.pre.text([instruction])
    return pol.run.embed(ids), mask


def test_the_goal_needs_the_predicted_target_token():
    with pytest.raises(ValueError, match="token=predicted"):
        LocalizerOptions(token="privileged", goal=True)


def test_batches_without_goal_labels_get_a_clear_error(demos):
    pol = make_policy(demos, "chunk", parts=GOAL)
    batch = with_labels(batch_of(demos, list(ROBOTS)), [True] * 4)
    del batch["goal_uv"]
    with pytest.raises(KeyError, match="recollect"):
        pol(batch)
