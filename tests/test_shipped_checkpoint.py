"""The policy in checkpoints/demo (what `make demo` evaluates) still loads with today's code:
its golden outputs come out again, it drives the robots it says it does, and it records how it
was trained."""

import json

import numpy as np
import pytest

from vla.policies.vla_policy import VLAPolicy


def test_shipped_checkpoint_loads_and_acts(repo_root):
    ckpt = repo_root / "checkpoints" / "demo"
    policy = VLAPolicy.from_pretrained(ckpt)  # refuses on any golden-output mismatch
    assert set(policy.robots) == {"ur5e", "sawyer"}
    # the chunk_cpu recipe: TCP pose targets, conv encoder, the localizer's estimate as a token
    parts = policy.config.parts
    assert policy.config.action_mode == "absolute" and parts["images"].encoder == "conv"
    assert parts["localizer"].token == "predicted" and policy.parts["localizer"].net is not None
    assert all(s.action_mode == "ee_pose" for s in policy.schemas.values())
    trained_by = json.loads((ckpt / "TRAINED_BY.json").read_text())
    assert len(trained_by["dataset"]["sha256"]) == 64 and trained_by["steps"] > 0
    assert "make checkpoint" in trained_by["command"]
    size = sum(p.stat().st_size for p in ckpt.iterdir())
    assert size < 20 * 2**20  # small enough for git
    schema = policy.schemas["ur5e"]
    obs = {
        "images": {
            c: np.zeros((policy.config.image_size,) * 2 + (3,), np.uint8)
            for c in policy.config.cameras
        },
        "state": np.zeros(schema.state_dim, np.float32),
        "instruction": "touch the red cube",
    }
    chunk = policy.predict_action_chunk(obs, "ur5e")
    assert chunk.shape == (policy.config.horizon, schema.action_dim)
    assert np.all(chunk >= np.array(schema.action_low) - 1e-6)
    assert np.all(chunk <= np.array(schema.action_high) + 1e-6)


def test_the_4x4_checkpoint_loads_and_acts_on_every_robot(repo_root):
    """checkpoints/4x4 (docs/results.md row 36): one policy for all four robots and tasks, with
    the plane map, the frame-anchored head, the sentence read as its nearest task and the
    localizer's words pooled by attention; its golden outputs come out again on load."""
    ckpt = repo_root / "checkpoints" / "4x4"
    policy = VLAPolicy.from_pretrained(ckpt)
    assert set(policy.robots) == {"panda", "sawyer", "so101", "ur5e"}
    cfg, parts = policy.config, policy.config.parts
    assert parts["localizer"].table_map == "plane" and parts["localizer"].goal
    assert parts["anchors"].frame and policy.head.frame_offset is not None
    assert set(policy.fitted["localizer"]["planes"]) == set(policy.robots)
    assert parts["words"].pooling == "attention" and parts["words"].noise_words == 6
    assert parts["sentence"].readout == "nearest_task"
    assert set(policy.fitted["sentence"]["tasks"]) == {"reach", "lift", "place", "push"}
    trained_by = json.loads((ckpt / "TRAINED_BY.json").read_text())
    assert trained_by["dataset"]["episodes"] == 960 and trained_by["steps"] == 14000
    assert sum(p.stat().st_size for p in ckpt.iterdir()) < 20 * 2**20
    for robot, schema in policy.schemas.items():
        obs = {
            "images": {c: np.zeros((cfg.image_size,) * 2 + (3,), np.uint8) for c in cfg.cameras},
            "state": np.full(schema.state_dim, 0.1, np.float32),
            "instruction": "push the red cube to the orange mark",
        }
        chunk = policy.predict_action_chunk(obs, robot)
        assert chunk.shape == (cfg.horizon, schema.action_dim)
        assert np.all(np.isfinite(chunk))


@pytest.mark.parametrize(
    "name, group, episodes, steps",
    [
        ("metaworld_mt10", "MT10", 500, 8000),
        # the same loader, readout and golden check as mt10, with 150 reference sentences
        # through 28 layers (~16 s): CI's slow step
        pytest.param("metaworld_mt50", "TASKS", 1000, 15000, marks=pytest.mark.slow),
    ],
)
def test_the_metaworld_checkpoints_load_and_act(repo_root, name, group, episodes, steps):
    """checkpoints/metaworld_mt10 and metaworld_mt50 (docs/results.md rows 37 and 39): one
    policy for Meta-World's MT10 or all 50 tasks, its 4-number state apart from its action, the
    sentence read as its nearest task."""
    from vla.envs import metaworld_language

    ckpt = repo_root / "checkpoints" / name
    policy = VLAPolicy.from_pretrained(ckpt)
    assert policy.robots == ["metaworld_sawyer"]
    assert set(policy.fitted["sentence"]["tasks"]) == set(getattr(metaworld_language, group))
    schema = policy.schemas["metaworld_sawyer"]
    assert schema.state_dim == 4 and schema.action_mode == "ee_delta"
    trained_by = json.loads((ckpt / "TRAINED_BY.json").read_text())
    assert trained_by["dataset"]["episodes"] == episodes and trained_by["steps"] == steps
    assert sum(p.stat().st_size for p in ckpt.iterdir()) < 20 * 2**20
    obs = {
        "images": {c: np.zeros((64, 64, 3), np.uint8) for c in policy.config.cameras},
        "state": np.array([0.0, 0.6, 0.2, 1.0], np.float32),
        "instruction": "open the drawer",
    }
    chunk = policy.predict_action_chunk(obs, "metaworld_sawyer")
    assert chunk.shape == (policy.config.horizon, 4) and np.all(np.isfinite(chunk))


@pytest.mark.parametrize(
    "recipe, name",
    [("chunk_cpu", "demo"), ("chunk_cpu_4x4", "4x4"), ("chunk_cpu_metaworld", "metaworld_mt50")],
)
def test_each_recipes_policy_config_is_the_shipped_checkpoints(repo_root, recipe, name):
    """configs/policy/<recipe>.yaml, composed as `vla train` does, is exactly the config the
    shipped checkpoint was trained with (read through the format-1 loader): the nested part
    options say what the flat flags said."""
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    from vla.commands.config_store import register
    from vla.policies import checkpoint
    from vla.policies.configuration import PolicyConfig

    register()
    with initialize_config_module("vla.configs", version_base=None):
        cfg = compose("train", overrides=[f"policy={recipe}", "backbone.num_layers=2"])
    composed = PolicyConfig(
        backbone=cfg.backbone.name,
        num_layers=cfg.backbone.num_layers,
        dtype=cfg.backbone.dtype,
        **OmegaConf.to_container(cfg.policy, resolve=True),
    )
    saved, _ = checkpoint.saved_policy(checkpoint.read_config(repo_root / "checkpoints" / name))
    assert composed.to_dict() == saved.to_dict()
