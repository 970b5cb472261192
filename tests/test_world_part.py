"""The general recipe's pieces (issue 30): every suite records where the task's object and goal
are in each frame; the world part learns them from the image tokens and never reads them while
acting; the backbone's layers can be drawn afresh or left out (the pretraining ablation)."""

import numpy as np
import pytest
import torch

from tests.test_policy import ROBOTS, batch_of, make_policy, obs_of
from vla.datasets.loader import world_labels
from vla.envs.metaworld_env import MetaWorldEnv
from vla.policies.configuration import PolicyConfig
from vla.policies.world_part import WorldOptions, WorldPart
from vla.rollout import run_episode


def labelled_batch(demos, robots, t=0):
    """A training batch with the world labels the loader adds (world_labels)."""
    batch = batch_of(demos, robots, t)
    for key in ("object_xyz", "goal_xyz"):
        batch[key] = torch.from_numpy(np.stack([world_labels(demos[r][1])[key][t] for r in robots]))
    return batch


def world_policy(demos, **options):
    records = [rec for _, rec in demos.values()]
    fitted = {"world": WorldPart.fit(WorldOptions(**options), records, {})}
    return make_policy(demos, "chunk", parts={"world": options}, fitted=fitted)


def test_the_tabletop_records_the_named_cube_in_every_frame(demos):
    """A lift raises the named cube: its recorded height climbs; a lift names no goal (NaN)."""
    _, record = demos["panda"]
    track = record["world_track"]
    assert len(track["object"]) == len(track["goal"]) == record["length"]
    heights = np.array(track["object"])[:, 2]
    assert heights[-1] > heights[0] + 0.02  # lifted (success is judged at 4 cm up)
    assert track["goal"] == [None] * record["length"]


def test_metaworld_records_its_object_and_goal_in_every_frame():
    """pick-place: the puck moves with the hand, the goal stays where reset put it."""
    env = MetaWorldEnv("pick-place", image_obs=False)
    record = run_episode(env, env.expert(), seed=3, record=True)
    env.close()
    assert record["success"]
    obj, goal = (np.array(record["world_track"][k]) for k in ("object", "goal"))
    assert obj.shape == goal.shape == (record["length"], 3)
    np.testing.assert_allclose(obj[0], record["initial_state"]["layout"]["object"], atol=1e-6)
    assert np.linalg.norm(obj[-1] - obj[0]) > 0.05  # carried
    np.testing.assert_allclose(goal, goal[:1].repeat(len(goal), 0))  # fixed
    start, end = (np.linalg.norm(o - goal[0]) for o in (obj[0], obj[-1]))
    assert end < 0.5 * start  # it ended near the goal (success is judged within 7 cm)


def test_episodes_without_a_track_give_nan_labels_not_made_up_ones():
    labels = world_labels({"length": 5})
    assert labels["object_xyz"].shape == (5, 3) and np.isnan(labels["object_xyz"]).all()


def test_the_world_part_learns_positions_from_the_images_alone(demos):
    torch.manual_seed(0)
    policy = world_policy(demos)
    assert policy.observes == ()  # acting reads images, state and words only
    robots = list(ROBOTS)
    batch = labelled_batch(demos, robots, t=10)
    loss, logs = policy(batch)
    assert {"world/loss", "world/object_error_cm"} <= set(logs)
    assert "world/goal_error_cm" not in logs  # a lift names no goal: no label, no error
    # its loss alone reaches the image encoder: the target shapes what the images say
    part_loss, _ = policy.parts["world"].loss(
        policy.embed_prefix(policy.pre.training(batch))[2], policy.pre.training(batch).labels
    )
    part_loss.backward()
    encoder_grad = sum(
        p.grad.abs().sum() for p in policy.parts["images"].parameters() if p.grad is not None
    )
    assert encoder_grad > 0
    policy.zero_grad()
    trainable = [p for p in policy.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=3e-3)
    first = None
    for _ in range(60):
        loss, logs = policy(batch)
        first = first if first is not None else logs["world/loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert logs["world/loss"] < 0.5 * first, (first, logs["world/loss"])
    policy.eval()
    seen_world = policy.infer(obs_of(demos, "panda"), "panda")  # no positions given
    assert seen_world["actions"].shape[0] == policy.config.horizon


def test_the_world_part_refuses_data_without_positions_and_travels_with_its_scale(demos, tmp_path):
    policy = world_policy(demos, token=False)
    with pytest.raises(KeyError, match="recollect it with vla collect"):
        policy(batch_of(demos, list(ROBOTS)))  # no object_xyz in the batch
    with pytest.raises(ValueError, match="world_track"):
        WorldPart.fit(WorldOptions(), [{"length": 3}], {})
    with pytest.raises(ValueError, match="weight must be > 0"):
        PolicyConfig(parts={"world": {"weight": 0.0}})
    policy.save_pretrained(tmp_path / "ckpt")
    loaded = type(policy).from_pretrained(tmp_path / "ckpt")
    assert loaded.fitted["world"] == policy.fitted["world"]
    assert loaded.config.parts["world"] == WorldOptions(token=False)


def test_random_backbone_layers_are_drawn_afresh_and_reproducibly():
    from vla import backbone

    def layer0(init):
        cfg = backbone.BackboneConfig(num_layers=1, init=init)
        return backbone.load(cfg).model.get_decoder().layers[0].mlp.up_proj.weight

    pretrained, a, b = layer0("pretrained"), layer0("random"), layer0("random")
    assert torch.equal(a, b) and not torch.allclose(a, pretrained)
    assert abs(float(a.std()) - 0.02) < 0.002  # the architecture's initializer_range
    with pytest.raises(ValueError, match="policy.mode=full"):
        PolicyConfig(backbone_init="random", mode="lora")
    with pytest.raises(ValueError, match="Did you mean 'random'"):
        backbone.BackboneConfig(init="randm")


def test_no_backbone_layers_still_act_on_what_was_seen(demos):
    """num_layers=0: the chunk head's attention read-out is all that carries the prefix."""
    from tests.test_policy import stats_of
    from vla.policies.vla_policy import VLAPolicy

    torch.manual_seed(0)
    cfg = PolicyConfig(head="chunk", horizon=4, n_action_steps=2, num_layers=0, image_size=32,
                       mode="frozen", parts={"images": {"patch_size": 16}})  # fmt: skip
    policy = VLAPolicy(cfg, {r: s for r, (s, _) in demos.items()}, stats_of(demos))
    assert len(policy.lm.get_decoder().layers) == 0
    loss, _ = policy(batch_of(demos, list(ROBOTS)))
    loss.backward()
    assert policy.head.read_prefix.in_proj_weight.grad.abs().sum() > 0
    policy.eval()
    obs = obs_of(demos, "panda")
    other = dict(obs, images={c: 255 - im for c, im in obs["images"].items()})
    a, b = (policy.infer(o, "panda")["actions"] for o in (obs, other))
    assert not np.allclose(a, b)  # the images reach the actions
