"""Meta-World through our adapter: the env contract on the MT10 ids, seed-pinned scenes, the
front camera right side up, instructions and groups, and the scripted policies succeeding."""

import warnings

import gymnasium
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from vla import rollout, suites
from vla.envs import metaworld_language as language
from vla.envs import registration
from vla.envs.metaworld_env import STATE_NAMES, MetaWorldEnv

# one adapter over 50 task files (~4 s each on 2 cores): the default run checks three kinds of
# scene (the free hand, a grasp, a hinged fixture); MT10's other seven run with the slow tests
DEFAULT_CHECKED = ("reach", "pick-place", "door-open")


@pytest.mark.parametrize(
    "task",
    [t if t in DEFAULT_CHECKED else pytest.param(t, marks=pytest.mark.slow) for t in language.MT10],
)
def test_check_env_passes_on_every_mt10_id(task):
    registration.register_all()
    env = gymnasium.make(registration.metaworld_id(task), image_size=48)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped, skip_render_check=True)
    assert [str(w.message) for w in caught if "metaworld" not in str(w.filename)] == []
    env.close()


def test_a_seed_pins_the_scene_and_the_rollout():
    env = MetaWorldEnv("push", image_size=32)

    def run(seed):
        obs, info = env.reset(seed=seed)
        out = [obs]
        for k in range(5):
            out.append(env.step(np.array([0.5, -0.5, 0.2, k % 2], np.float32))[0])
        return info["episode"]["layout"], out

    (layout_a, a), (layout_b, b), (layout_c, _) = run(3), run(3), run(4)
    assert layout_a == layout_b and layout_a != layout_c
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x["state"], y["state"])
        np.testing.assert_array_equal(x["images"]["front"], y["images"]["front"])
    env.close()


def test_the_front_camera_is_right_side_up():
    """Meta-World's corner2 looks at the table upside down: its image "up" points at the floor.
    The projection into the raw render is checked against the puck's pixels; a point above the
    puck lands lower in the raw image; our front image is the raw one turned by 180 degrees
    (not mirrored), so there it lands higher."""
    size = 96
    env = MetaWorldEnv("pick-place", image_size=size)
    obs, info = env.reset(seed=0)
    model, data = env.model, env.data
    cam = model.camera("corner2").id

    def raw_pixel(point):  # (row, col) in the raw render
        local = (np.asarray(point) - data.cam_xpos[cam]) @ data.cam_xmat[cam].reshape(3, 3)
        focal = 1 / np.tan(np.deg2rad(model.cam_fovy[cam]) / 2)
        depth = -local[2]
        return (1 - focal * local[1] / depth) / 2 * size, (1 + focal * local[0] / depth) / 2 * size

    puck_at = np.array(info["episode"]["layout"]["object"])
    renderer = mujoco.Renderer(model, size, size)
    renderer.enable_segmentation_rendering()
    renderer.update_scene(data, camera="corner2")
    ids = renderer.render()[..., 0]
    puck = [g for g in range(model.ngeom) if model.geom_bodyid[g] == model.body("obj").id]
    rows, cols = np.nonzero(np.isin(ids, puck))
    row, col = raw_pixel(puck_at)
    assert len(rows) > 3 and abs(rows.mean() - row) < 3 and abs(cols.mean() - col) < 3
    above, _ = raw_pixel(puck_at + [0, 0, 0.1])
    assert above > row + 3  # raw: the point above the puck is further down the image
    raw = mujoco.Renderer(model, size, size)
    raw.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
    raw.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
    raw.update_scene(data, camera="corner2")
    np.testing.assert_array_equal(obs["images"]["front"], raw.render()[::-1, ::-1])
    renderer.close(), raw.close(), env.close()


def test_instructions_groups_and_the_suite():
    assert len(language.TASKS) == 50 and len(language.MT10) == 10
    counts = {g: len(t) for g, t in language.DIFFICULTY.items()}
    assert counts == {"easy": 28, "medium": 11, "hard": 6, "very_hard": 5}
    assert sorted(t for ts in language.DIFFICULTY.values() for t in ts) == list(language.TASKS)
    for task in language.TASKS:
        train, heldout = language.templates(task), language.templates(task, "heldout")
        assert len(train) >= 2 and heldout and not set(train) & set(heldout)
    suite = suites.get("metaworld")
    assert suite.expand(["mt10"]) == list(language.MT10)
    assert suite.expand(["hard", "push"]) == list(language.DIFFICULTY["hard"])
    with pytest.raises(ValueError, match="Did you mean 'pick-place'"):
        suite.check(["metaworld_sawyer"], ["pick-plase"])
    env = MetaWorldEnv("door-open", image_obs=False)
    _, info = env.reset(seed=0, options={"instruction_set": "heldout"})
    assert info["episode"]["instruction"] in language.templates("door-open", "heldout")
    assert info["episode"]["group"] == "easy"
    shuffled = info["episode"]["shuffled_instruction"]
    assert (
        shuffled in language.templates("drawer-open")
        and language.other_task("window-close") == "reach"
    )
    env.close()


@pytest.mark.parametrize("task", ["reach", "pick-place", "drawer-open"])
def test_the_scripted_policy_succeeds_through_our_adapter(task):
    env = MetaWorldEnv(task, image_obs=False)
    for seed in range(2):
        result = rollout.run_episode(env, env.expert(), seed=seed)
        assert result["success"] and result["group"] == language.difficulty_of(task)
        assert result["embodiment"]["name"] == "metaworld_sawyer"
    env.close()


def test_vla_run_and_eval_take_the_suite_and_its_groups(ray_cluster, tmp_path, capsys):
    import json
    import subprocess
    import sys

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "vla.cli", *args], capture_output=True, text=True, timeout=300
        )

    run = cli(
        "run", "suite=metaworld", "task=reach", "instruction=reach the goal", "image_size=48",
        f"output={tmp_path}",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "metaworld_sawyer | reach" in run.stdout and "success=True" in run.stdout
    assert (tmp_path / "metaworld_sawyer_reach_seed0.mp4").stat().st_size > 1000
    from vla.cli import main  # what the script runs; in this process, no interpreter start

    assert main(["run", "suite=metaworld", "instruction=reach the goal"]) == 2
    assert "task=" in capsys.readouterr().err
    # in this process too, on the session's Ray: no interpreter start and no Ray of its own
    code = main([
        "eval", "policy.path=expert", "suite=metaworld", "tasks=hard", "episodes=1",
        "language_checks=false", "videos=0", "progress=false", f"output={tmp_path / 'ev'}",
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err[-2000:]
    results = json.loads((tmp_path / "ev" / "results.json").read_text())
    assert {c["task"] for c in results["cells"]} == set(language.DIFFICULTY["hard"])
    assert list(results["conditions"]["train"]["groups"]) == ["hard"]
    assert 100 < results["worker_peak_rss_mb"] < 1536  # its env worker through both tasks


def test_collect_writes_a_metaworld_dataset_that_trains_as_any_other(ray_cluster, tmp_path):
    """`vla collect suite=metaworld`: a LeRobot v3 dataset of its robot, the 4-number state and
    action named by the schema, loading like any other."""
    from vla.datasets import check, meta
    from vla.datasets.collect import CollectConfig, collect
    from vla.datasets.loader import EpisodeDataset

    cfg = CollectConfig(
        robots=None, tasks="reach", episodes=2, output=str(tmp_path / "mw"), workers=1,
        image_size=32, progress=False, suite="metaworld",
    )  # fmt: skip
    summary = collect(cfg)
    assert summary.written == 2 and cfg.robots == ["metaworld_sawyer"]
    assert check.check(tmp_path / "mw", decode_all=True) == []
    (source,) = meta.open_sources(tmp_path / "mw")
    features = source.info["features"]
    assert source.info["robot_type"] == "metaworld_sawyer" and source.info["fps"] == 80.0
    assert features["observation.state"]["names"] == list(STATE_NAMES)
    assert features["action"]["names"] == ["dx", "dy", "dz", "gripper"]
    sample = EpisodeDataset(tmp_path / "mw", horizon=4, split="all")[0]
    assert sample["images"].shape == (2, 3, 32, 32) and sample["state"].shape == (4,)
