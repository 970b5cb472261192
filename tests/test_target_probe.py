"""The target probe on its own: it can learn a position from keypoints, per robot, and it
ignores samples whose position is unknown."""

import math

import torch

from vla.policies.target_probe import TargetProbe


def test_probe_learns_a_per_robot_map_from_keypoints():
    torch.manual_seed(0)
    probe = TargetProbe(8, ["a", "b"])
    keypoints = torch.rand(64, 8) * 2 - 1
    robots = ["a", "b"] * 32
    # each robot's camera sees the table differently: another linear map per robot
    maps = {"a": torch.randn(8, 2) * 0.05, "b": torch.randn(8, 2) * 0.05}
    target = torch.stack([keypoints[i] @ maps[r] for i, r in enumerate(robots)])
    opt = torch.optim.Adam(probe.parameters(), lr=3e-3)
    first = None
    for _ in range(400):
        loss, cm = probe.loss(keypoints, target, robots)
        first = first if first is not None else cm
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert cm < 0.25 * first and cm < 1.0, (first, cm)


def test_unknown_positions_are_left_out():
    probe = TargetProbe(4, ["a"])
    keypoints = torch.zeros(3, 4, requires_grad=True)
    target = torch.tensor([[0.1, 0.0], [float("nan"), float("nan")], [0.0, 0.1]])
    loss, cm = probe.loss(keypoints, target, ["a"] * 3)
    assert torch.isfinite(loss) and math.isfinite(cm)
    loss, cm = probe.loss(keypoints, torch.full((3, 2), float("nan")), ["a"] * 3)
    assert float(loss.detach()) == 0.0 and math.isnan(cm)
