"""policy.parts.localizer.table_map=plane: the localizer's pixel-to-table map is each fixed camera's homography,
fitted in closed form from the dataset's labelled starting places. It must be exact where the
learnt MLP was centimetres off, refuse points that no single plane explains, and travel in the
checkpoint's config."""

import numpy as np
import pytest
import torch

from vla.datasets.loader import EpisodeDataset
from vla.policies.localizer_part import LocalizerOptions, LocalizerPart
from vla.policies.table_plane import apply_plane, fit_checked, fit_plane, plane_points
from vla.policies.target_localizer import TargetLocalizer


def pinhole(points: np.ndarray) -> np.ndarray:
    """A tilted camera 0.8 m above the table looking down at it -> image points in [-1, 1]."""
    tilt = 0.6
    rot = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    cam = (points - np.array([0.1, -0.5, 0.8])) @ rot
    return cam[:, :2] / -cam[:, 2:] / 0.6


def test_a_plane_seen_by_a_pinhole_is_fitted_exactly():
    rng = np.random.default_rng(0)
    xy = rng.uniform(-0.3, 0.3, (40, 2))
    uv = pinhole(np.c_[xy, np.full(40, 0.02)])
    h = fit_plane(uv[:20], xy[:20])
    back = apply_plane(torch.from_numpy(h), torch.from_numpy(uv[20:])).numpy()
    assert np.abs(back - xy[20:]).max() < 1e-9
    assert len(fit_checked(uv, xy, "test")) == 9


def test_points_off_one_plane_are_refused_with_what_to_do():
    rng = np.random.default_rng(1)
    xy = rng.uniform(-0.3, 0.3, (40, 2))
    heights = rng.uniform(0.0, 0.3, 40)  # cubes in the air: no single plane
    with pytest.raises(ValueError, match="table_map=mlp"):
        fit_checked(pinhole(np.c_[xy, heights]), xy, "lifted")
    with pytest.raises(ValueError, match="at least 4"):
        fit_plane(np.zeros((3, 2)), np.zeros((3, 2)))


def test_the_localizer_maps_through_the_planes_and_learns_no_table_map():
    rng = np.random.default_rng(2)
    xy = rng.uniform(-0.3, 0.3, (12, 2))
    planes = {
        r: {t: fit_checked(pinhole(np.c_[xy, np.full(12, z)]), xy, r) for t in ("target", "goal")}
        for r, z in (("a", 0.02), ("b", 0.0))
    }
    net = TargetLocalizer(
        ["a", "b"],
        text_width=8,
        image_size=32,
        channels=16,
        things=("target", "goal"),
        planes=planes,
    )
    assert not any("to_table" in n for n, _ in net.named_parameters())
    uv = torch.from_numpy(pinhole(np.c_[xy[:2], [0.02, 0.0]])).float()
    got = net.table_position(torch.stack([uv, uv], 1), ["a", "b"])  # (B, K, 2)
    torch.testing.assert_close(got[0, 0], torch.from_numpy(xy[0]).float(), atol=1e-5, rtol=0)
    torch.testing.assert_close(got[1, 1], torch.from_numpy(xy[1]).float(), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="no map for"):
        TargetLocalizer(["a", "c"], 8, 32, channels=16, planes=planes)
    with pytest.raises(ValueError, match="weight > 0"):
        LocalizerOptions(weight=0.0, token="privileged", table_map="plane")


def test_planes_fitted_on_training_episodes_place_held_out_cubes_to_a_millimetre(dataset):
    """On real collected episodes: fit on the training split's starting places, then map the
    validation episodes' cube pixels (not used in the fit) back to the table."""
    root, _ = dataset
    options, cameras = LocalizerOptions(table_map="plane"), ["front", "wrist"]
    train = EpisodeDataset(root, horizon=4, split="train", cameras=cameras)
    planes = LocalizerPart.fit(options, train.episodes, {"cameras": cameras})["planes"]
    assert sorted(planes) == sorted({e["robot"] for e in train.episodes})
    val = EpisodeDataset(root, horizon=4, split="val", cameras=cameras)
    records = val.episodes
    assert records
    points = plane_points(records, cameras[0])
    for robot, things in points.items():
        uv, xy = things["target"]
        h = torch.tensor(planes[robot]["target"], dtype=torch.float64).view(3, 3)
        err = np.abs(apply_plane(h, torch.from_numpy(uv)).numpy() - xy).max()
        assert err < 1e-3, (robot, err)


def test_the_target_token_trains_on_what_the_plane_makes_of_the_true_pixel(demos):
    """A lifted cube's pixel maps off the table position; acting will read that, so teacher
    forcing does too. Rows without a pixel keep the true position."""
    from tests.test_policy import make_policy

    rng = np.random.default_rng(3)
    xy = rng.uniform(-0.3, 0.3, (12, 2))
    plane = fit_checked(pinhole(np.c_[xy, np.full(12, 0.02)]), xy, "a")
    policy = make_policy(
        demos,
        "chunk",
        parts={"images": {"encoder": "conv"}, "localizer": {"table_map": "plane"}},
        fitted={"localizer": {"planes": {r: {"target": plane} for r in demos}}},
    )
    part = policy.parts["localizer"]
    robots = list(demos)[:2]
    lifted = np.array([[0.1, 0.05, 0.25], [0.0, -0.1, 0.02]])  # in the air, on the table
    uv = torch.from_numpy(pinhole(lifted)).float()
    batch = {
        "target_xy": torch.from_numpy(lifted[:, :2]).float(),
        "target_uv": torch.stack([uv, torch.full((2, 2), float("nan"))], 1),  # (B, C, 2)
    }
    taught = part.teacher_target(batch, robots)
    assert (taught[0] - batch["target_xy"][0]).norm() > 0.05  # read along the ray
    torch.testing.assert_close(taught[1], batch["target_xy"][1], atol=1e-4, rtol=0)
    batch["target_uv"][1, 0] = float("nan")
    torch.testing.assert_close(part.teacher_target(batch, robots)[1], batch["target_xy"][1])
