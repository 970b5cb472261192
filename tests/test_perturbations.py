"""Robust to what changes between two days in a lab (issue 32): seeded scene perturbations on
both suites, their own draws for evaluation and for collection, and the report beside the
unperturbed figure."""

import numpy as np
import pytest

from vla.envs import perturbations as perturb
from vla.envs.metaworld_env import MetaWorldEnv
from vla.envs.tabletop_env import TabletopEnv
from vla.rollout import run_episode


def drawn(specs, seed=3, salt=perturb.EVAL_SALT):
    return perturb.draw(perturb.parse_all(specs), seed, salt)


def test_perturbations_parse_with_defaults_and_refuse_clearly():
    assert perturb.parse("camera_move").magnitude == 5.0
    assert perturb.parse("light:0.4").name == "light:0.4"
    for bad, says in (
        ("camra_move", "Did you mean 'camera_move'"),
        ("light:x", "is a number"),
        ("start_pose:0.5", ">= 1"),
        ("distractor:1.5", "whole number"),
    ):
        with pytest.raises(ValueError, match=says):
            perturb.parse(bad)
    with pytest.raises(ValueError, match="once per draw"):
        perturb.parse_all(["light", "light:0.2"])


def test_draws_depend_on_seed_and_salt_only():
    specs = ["camera_move:5", "camera_turn:5", "light:0.6", "color", "start_pose", "distractor"]
    a, b = drawn(specs), drawn(specs)
    assert a == b and drawn(specs, seed=4) != a
    assert drawn(specs, salt=perturb.COLLECT_SALT) != a  # training data never sees these
    assert np.linalg.norm(a["camera_move"]) == pytest.approx(0.05)
    assert 0.4 <= a["light"]["scale"] <= 1.6 and abs(a["camera_turn"]["deg"]) == 5


def test_the_tabletop_changes_only_what_it_is_asked_and_comes_back():
    env = TabletopEnv(robot="panda", task="push", image_size=48, distractors=2)
    plain, info = env.reset(seed=3)
    values = drawn(["camera_move:5", "light:0.6", "color", "start_pose", "distractor:2"])
    moved, moved_info = env.reset(seed=3, options={"perturb": values})
    assert moved_info["episode"]["layout"] == info["episode"]["layout"]  # the seed's scene
    assert moved_info["episode"]["perturbation"] == values
    assert np.abs(moved["images"]["front"].astype(int) - plain["images"]["front"]).mean() > 5
    assert not np.allclose(moved["state"], plain["state"])  # the arm started further out
    cubes = [env.data.qpos[a : a + 2] for a in env.index.cube_qpos.values()]
    for adr in env.index.distractor_qpos:  # on the table, apart from the named cubes
        xy = env.data.qpos[adr : adr + 2]
        assert min(np.linalg.norm(xy - c) for c in cubes) > 2 * env.robot.cube_half
    again, _ = env.reset(seed=3)  # restored: the unperturbed scene exactly
    np.testing.assert_array_equal(again["images"]["front"], plain["images"]["front"])
    np.testing.assert_array_equal(again["state"], plain["state"])
    record = run_episode(env, env.expert(), seed=3, options={"perturb": values})
    assert record["success"] and record["perturbation"] == values
    env.close()
    bare = TabletopEnv(robot="panda", task="lift", image_obs=False)
    with pytest.raises(ValueError, match="distractors=2"):
        bare.reset(seed=0, options={"perturb": drawn(["distractor:2"])})
    bare.close()


def test_metaworld_moves_its_camera_light_colours_and_hand_start():
    env = MetaWorldEnv("drawer-open", image_size=48)
    plain, _ = env.reset(seed=3)
    values = drawn(["camera_turn:5", "light:0.6", "color", "start_pose:2"])
    moved, _ = env.reset(seed=3, options={"perturb": values})
    assert np.abs(moved["images"]["front"].astype(int) - plain["images"]["front"]).mean() > 5
    assert np.linalg.norm(moved["state"][:3] - plain["state"][:3]) > 0.01
    again, _ = env.reset(seed=3)
    np.testing.assert_array_equal(again["images"]["front"], plain["images"]["front"])
    with pytest.raises(ValueError, match="tabletop's"):
        env.reset(seed=3, options={"perturb": drawn(["distractor:1"])})
    env.close()


def test_eval_reports_each_perturbation_beside_the_unperturbed(ray_cluster, tmp_path):
    from vla.evaluation.evaluate import EvalConfig, evaluate

    cfg = EvalConfig(
        policy_path="expert", robots=["panda"], tasks=["lift"], episodes=2,
        output=str(tmp_path / "ev"), workers=1, language_checks=False, videos=0,
        progress=False, perturb=["camera_move:5", "distractor:2"],
    )  # fmt: skip
    results = evaluate(cfg)
    assert list(results["conditions"]) == ["train", "perturb:camera_move:5", "perturb:distractor:2"]
    page = (tmp_path / "ev" / "results.md").read_text()
    assert "| perturbed: distractor 2 cubes | 2 |" in page and "share of unperturbed" in page
    assert "EVAL_SALT" in results["perturbation_draws"]
    with pytest.raises(ValueError, match="tabletop's"):
        EvalConfig(policy_path="expert", robots=None, tasks=["reach"], episodes=1,
                   output=str(tmp_path / "mw"), suite="metaworld", perturb=["distractor"])  # fmt: skip
