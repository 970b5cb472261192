"""The VLA policy on every head x robot: shapes, bins round trip, checkpoints, bad input, overfit."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from tests import golden_policy
from tests.conftest import POLICY_DEMO_SIZE as SIZE
from vla.datasets.statistics import array_stats
from vla.envs.robots.registry import ROBOTS
from vla.policies.bins_head import BinsOptions
from vla.policies.configuration import PolicyConfig
from vla.policies.heads import HEADS
from vla.policies.processor import Observation
from vla.policies.vla_policy import VLAPolicy
from vla.tokenizers.action import BinTokenizer

HORIZON = 4
STEPS_TO_OVERFIT = 80


def stats_of(demos):
    return {
        r: {
            "observation.state": array_stats(rec["frames"]["state"]),
            "action": array_stats(rec["frames"]["action"]),
        }
        for r, (_, rec) in demos.items()
    }


def make_policy(demos, head, parts=None, fitted=None, stats=None, **over):
    """A small policy on the demos' robots; `parts` {part: options} on top of 16 px patches;
    `stats` the normalisation statistics (default: the demos')."""
    torch.manual_seed(0)
    parts = dict(parts or {})
    parts["images"] = {"patch_size": 16, **(parts.get("images") or {})}
    cfg = PolicyConfig(
        head=head,
        horizon=HORIZON,
        n_action_steps=2,
        num_layers=2,
        image_size=SIZE,
        parts=parts,
        **over,
    )
    schemas = {r: s for r, (s, _) in demos.items()}
    return VLAPolicy(cfg, schemas, stats or stats_of(demos), fitted=fitted)


def obs_of(demos, robot, t=0):
    rec = demos[robot][1]
    return {
        "images": {c: rec["frames"]["images"][c][t] for c in ("front", "wrist")},
        "state": rec["frames"]["state"][t],
        "instruction": rec["instruction"],
    }


@torch.no_grad()
def seen_of(policy, obs, robot):
    """What the policy's parts saw and provided for one observation (its public steps)."""
    batch = policy.pre.observations([Observation.of(obs, robot)], policy.device)
    return policy.embed_prefix(batch)[2]


def batch_of(demos, robots, t=0):
    """A training batch in the loader's layout, padded to the widest robot (8)."""
    rows = []
    for r in robots:
        rec = demos[r][1]
        n, d = rec["frames"]["action"].shape
        steps = np.arange(t, t + HORIZON)
        actions = np.zeros((HORIZON, 8), np.float32)
        actions[:, :d] = rec["frames"]["action"][np.minimum(steps, n - 1)]
        state = np.zeros(8, np.float32)
        state[:d] = rec["frames"]["state"][t]
        images = np.stack([rec["frames"]["images"][c][t] for c in ("front", "wrist")])
        rows.append((images, state, actions, steps >= n, np.arange(8) < d, r, rec["instruction"]))
    images, state, actions, pad, dim, robot, text = zip(*rows, strict=True)
    return {
        "images": torch.from_numpy(np.stack(images)).permute(0, 1, 4, 2, 3),
        "state": torch.from_numpy(np.stack(state)),
        "actions": torch.from_numpy(np.stack(actions)),
        "action_is_pad": torch.from_numpy(np.stack(pad)),
        "dim_mask": torch.from_numpy(np.stack(dim)),
        "robot": list(robot),
        "instruction": list(text),
    }


@pytest.fixture(scope="module", params=sorted(HEADS))
def policy(request, demos):
    return make_policy(demos, request.param)


@pytest.mark.parametrize("robot", list(ROBOTS))
def test_chunk_shapes_and_values_on_every_robot(policy, demos, robot):
    chunk = policy.predict_action_chunk(obs_of(demos, robot), robot=robot)
    schema = demos[robot][0]
    assert chunk.shape == (HORIZON, schema.action_dim) and np.isfinite(chunk).all()
    lo, hi = np.array(schema.action_low), np.array(schema.action_high)
    assert np.all(chunk >= lo - 1e-5) and np.all(chunk <= hi + 1e-5)


def test_training_loss_is_finite_for_a_mixed_batch(policy, demos):
    loss, logs = policy(batch_of(demos, list(ROBOTS)))
    assert torch.isfinite(loss) and logs["loss"] > 0
    loss.backward()
    grads = [p.grad for p in policy.parameters() if p.requires_grad and p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    policy.zero_grad()


def test_bins_round_trip_within_half_a_bin(demos):
    tok = BinTokenizer(vocab_size=49152, num_bins=BinsOptions().num_bins)
    x = torch.rand(1000, 8) * 2 - 1
    ids = tok.encode(x)
    assert ids.min() >= 49152 - 256 and ids.max() < 49152
    assert (tok.decode(ids) - x).abs().max() <= tok.bin_width / 2 + 1e-6
    # Through the per-robot normaliser: half a bin in the robot's own units.
    pol = make_policy(demos, "bins")
    for robot in ROBOTS:
        actions = torch.from_numpy(demos[robot][1]["frames"]["action"])
        d = actions.shape[1]
        padded = torch.zeros(len(actions), 8)
        padded[:, :d] = actions
        inside = pol.normalizer.action(padded, [robot] * len(actions))
        back = pol.normalizer.unaction(tok.decode(tok.encode(inside)), [robot] * len(actions))[
            :, :d
        ]
        lo = torch.tensor(pol.stats[robot]["action"]["q01"])
        hi = torch.tensor(pol.stats[robot]["action"]["q99"])
        within = (actions >= lo) & (actions <= hi)
        half_bin = (hi - lo) / 256 / 2
        assert torch.all(
            (back - actions).abs()[within] <= (half_bin.expand_as(actions)[within] + 1e-5)
        )


@pytest.mark.parametrize("head", sorted(HEADS))
def test_save_load_is_bit_identical_and_golden(demos, head, tmp_path):
    pol = make_policy(demos, head)
    with torch.no_grad():  # move off the initial weights so a load that ignored them would show
        for p in pol.parameters():
            if p.requires_grad:
                p.add_(0.01 * torch.randn_like(p))
    pol.save_pretrained(tmp_path / "ckpt")
    files = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert files == ["config.json", "golden.safetensors", "model.safetensors"]
    saved = load_file(str(tmp_path / "ckpt" / "model.safetensors"))
    assert not any(k.startswith("lm.") and "lora_" not in k for k in saved), (
        "frozen backbone weights were saved"
    )
    loaded = VLAPolicy.from_pretrained(tmp_path / "ckpt")
    for robot in ROBOTS:
        obs = obs_of(demos, robot, t=3)
        np.testing.assert_array_equal(
            pol.predict_action_chunk(obs, robot), loaded.predict_action_chunk(obs, robot)
        )


def test_load_refuses_tampered_weights_and_other_backbones(demos, tmp_path):
    pol = make_policy(demos, "chunk")
    pol.save_pretrained(tmp_path / "ckpt")
    weights = load_file(str(tmp_path / "ckpt" / "model.safetensors"))
    key = next(k for k in weights if k.startswith("head.out"))
    weights[key] = weights[key] + 0.5
    save_file(weights, str(tmp_path / "ckpt" / "model.safetensors"))
    with pytest.raises(ValueError, match="golden outputs differ"):
        VLAPolicy.from_pretrained(tmp_path / "ckpt")
    pol.save_pretrained(tmp_path / "ckpt")
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    config["backbone"]["content_hash"] = "0" * 64
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="trained on backbone weights"):
        VLAPolicy.from_pretrained(tmp_path / "ckpt")
    with pytest.raises(FileNotFoundError, match="not a vla checkpoint"):
        VLAPolicy.from_pretrained(tmp_path / "nothing")


def test_bad_observations_get_clear_errors(demos):
    pol = make_policy(demos, "chunk")
    good = obs_of(demos, "panda")
    with pytest.raises(ValueError, match=r"must be \(H, W, 3\)"):
        pol.infer(good | {"images": {"front": np.zeros((32, 32), np.uint8)}}, "panda")
    with pytest.raises(ValueError, match="no 'wrist' image"):
        pol.infer(good | {"images": {"front": good["images"]["front"]}}, "panda")
    with pytest.raises(ValueError, match="uint8"):
        pol.predict_action_chunk(
            good | {"images": {c: v.astype(np.float32) for c, v in good["images"].items()}}, "panda"
        )
    with pytest.raises(ValueError, match="instruction"):
        pol.predict_action_chunk({k: v for k, v in good.items() if k != "instruction"}, "panda")
    with pytest.raises(ValueError, match="NaN"):
        pol.predict_action_chunk(good | {"state": np.full(8, np.nan, np.float32)}, "panda")
    with pytest.raises(ValueError, match=r"shape \(8,\)"):
        pol.predict_action_chunk(good | {"state": np.zeros(6, np.float32)}, "panda")
    with pytest.raises(KeyError, match="not trained for it"):
        pol.predict_action_chunk(good, "kuka")
    with pytest.raises(ValueError, match="which robot"):
        pol.predict_action_chunk(good)


def test_images_of_another_size_are_resized_to_the_policys(demos):
    """An image twice the size (each pixel a 2x2 block) averages back to the same pixels, so
    it acts exactly as the original; a smaller one is scaled up and still acts."""
    pol = make_policy(demos, "chunk").eval()
    obs = obs_of(demos, "panda")
    double = {c: v.repeat(2, 0).repeat(2, 1) for c, v in obs["images"].items()}
    assert double["front"].shape == (2 * SIZE, 2 * SIZE, 3)
    want = pol.infer(obs, "panda")["actions"]
    np.testing.assert_array_equal(pol.infer(obs | {"images": double}, "panda")["actions"], want)
    half = {c: v[::2, ::2] for c, v in obs["images"].items()}
    assert pol.infer(obs | {"images": half}, "panda")["actions"].shape == want.shape


def test_infer_batch_acts_as_one_call_each_for_a_mix_of_robots(demos):
    pol = make_policy(demos, "chunk").eval()
    robots = ["panda", "so101", "ur5e"]
    together = pol.infer_batch([obs_of(demos, r) for r in robots], robots)
    for r, result in zip(robots, together, strict=True):
        alone = pol.infer(obs_of(demos, r) | {"robot": r})["actions"]
        np.testing.assert_allclose(result["actions"], alone, atol=1e-5)


def test_checkpoint_for_other_robots_is_refused(demos):
    only_panda = {"panda": demos["panda"]}
    pol = make_policy(only_panda, "chunk")
    with pytest.raises(KeyError, match="not trained for it"):
        pol.check_embodiment(demos["sawyer"][0])
    changed = demos["panda"][0].to_dict() | {"control_hz": 20.0}
    from vla.embodiment import Embodiment

    with pytest.raises(ValueError, match="control_hz"):
        pol.check_embodiment(Embodiment.from_dict(changed))
    pol.check_embodiment(demos["panda"][0])  # the right one passes


def test_select_action_hands_out_the_chunk_step_by_step(demos, monkeypatch):
    pol = make_policy(demos, "chunk")
    calls = []
    real = pol.predict_action_chunk
    monkeypatch.setattr(
        pol, "predict_action_chunk", lambda obs, robot=None: calls.append(1) or real(obs, robot)
    )
    obs = obs_of(demos, "ur5e")
    first = [pol.select_action(obs, "ur5e") for _ in range(4)]
    assert len(calls) == 2 and all(a.shape == (7,) for a in first)  # n_action_steps = 2
    pol.reset()
    pol.select_action(obs, "ur5e")
    assert len(calls) == 3
    # temporal ensembling replans at every step; the first step has only its own chunk
    pol.config.temporal_ensemble = 0.01
    pol.reset()
    ensembled = [pol.select_action(obs, "ur5e") for _ in range(3)]
    assert len(calls) == 6
    np.testing.assert_allclose(ensembled[0], real(obs, "ur5e")[0], atol=1e-6)


@pytest.mark.parametrize("mode", ["frozen", "lora", "full"])
def test_backbone_modes_train_what_they_say(demos, mode):
    pol = make_policy(demos, "chunk", mode=mode)
    backbone = {n: p.requires_grad for n, p in pol.lm.named_parameters()}
    if mode == "frozen":
        assert not any(backbone.values())
    elif mode == "lora":
        assert any(backbone.values()) and all(("lora_" in n) == g for n, g in backbone.items())
    else:
        assert all(backbone.values())
    assert len(pol.lm.get_decoder().layers) == 2
    assert all(p.requires_grad for p in pol.head.parameters())


def chunk_error(pol, demos, robots, t) -> float:
    """Mean |predicted - demonstrated| over the robots' action chunks at frame t (raw units)."""
    errs = []
    for r in robots:
        want = demos[r][1]["frames"]["action"][t : t + pol.config.horizon]
        got = pol.predict_action_chunk(obs_of(demos, r, t), r)[: len(want)]
        errs.append(np.abs(got - want).mean())
    return float(np.mean(errs))


@pytest.mark.parametrize("head", sorted(HEADS))
def test_a_small_policy_overfits_a_handful_of_samples(demos, head):
    """Judged on what the policy does (its acted chunk against the demonstration), so a head
    whose loss is not a distance (bins' cross-entropy, flow's velocity error) is held to the
    same bar as one whose loss is."""
    pol = make_policy(demos, head)
    robots = ["panda", "so101", "ur5e", "sawyer"]
    batch = batch_of(demos, robots, t=5)
    before = chunk_error(pol.eval(), demos, robots, t=5)
    opt = torch.optim.AdamW([p for p in pol.parameters() if p.requires_grad], lr=3e-3)
    pol.train()
    for _ in range(STEPS_TO_OVERFIT):
        loss, _ = pol(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = chunk_error(pol.eval(), demos, robots, t=5)
    assert after < 0.2 * before, (head, before, after)


@pytest.mark.parametrize("variant", sorted(golden_policy.VARIANTS))
def test_committed_golden_outputs_still_come_out(variant):
    """Silent numerical drift (tokenizers, heads, normalisation, backbone loading) shows here."""
    expected = load_file(str(golden_policy.ARTIFACT))[variant]
    torch.testing.assert_close(golden_policy.outputs(variant), expected, atol=1e-4, rtol=0)


def test_normaliser_round_trips_and_handles_a_dimension_that_never_moved():
    from vla.tokenizers.normalize import Normalizer

    flat = {
        "mean": [0.0, 1.0],
        "std": [1.0, 0.0],
        "min": [-1.0, 1.0],
        "max": [1.0, 1.0],
        "q01": [-1.0, 1.0],
        "q99": [1.0, 1.0],
        "count": [10],
    }
    norm = Normalizer({"arm": {"observation.state": flat, "action": flat}}, max_dim=3)
    x = torch.tensor([[0.5, 1.0, 0.0]])
    y = norm.action(x, ["arm"])
    assert torch.isfinite(y).all() and torch.isfinite(norm.state(x, ["arm"])).all()
    torch.testing.assert_close(norm.unaction(y, ["arm"])[:, :2], x[:, :2])
    with pytest.raises(KeyError, match="no normalisation stats"):
        norm.action(x, ["other"])


def test_meanstd_action_norm_scales_by_the_spread_and_round_trips():
    from vla.policies.configuration import PolicyConfig
    from vla.tokenizers.normalize import Normalizer

    a = {
        "mean": [0.0, 0.5],
        "std": [0.5, 0.0],  # the second never moved: a unit scale, no division by zero
        "min": [-1.0, 0.5],
        "max": [2.0, 0.5],
        "q01": [-1.0, 0.5],
        "q99": [1.0, 0.5],
    }
    stats = {"arm": {"observation.state": a, "action": a}}
    norm = Normalizer(stats, max_dim=3, action_norm="meanstd")
    x = torch.tensor([[[0.5, 0.5, 0.0], [3.0, 0.5, 0.0]]])  # (B, H, D); 3.0 beyond the max
    y = norm.action(x, ["arm"])
    # (0.5 - 0) / 0.5 = 1; 3.0 clipped to the max's place (2 - 0) / 0.5 = 4, not to 1
    torch.testing.assert_close(y[0, :, 0], torch.tensor([1.0, 4.0]))
    back = norm.unaction(y, ["arm"])
    torch.testing.assert_close(back[0, 0, :2], x[0, 0, :2])
    assert back[0, 1, 0] == 2.0  # the clip's inverse: the data's max
    # the quantile way: [-1, 1] is the 1st..99th percentile, so 0.5 stays and 3.0 clips to 1
    q = Normalizer(stats, max_dim=3).action(x, ["arm"])
    torch.testing.assert_close(q[0, :, 0], torch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError, match="meanstd, quantile"):
        Normalizer(stats, max_dim=3, action_norm="minmax")
    with pytest.raises(ValueError, match="action_norm=quantile"):
        PolicyConfig(head="bins", action_norm="meanstd")


def test_relative_normaliser_measures_arm_targets_from_the_state():
    from vla.datasets.relative_stats import chunk_deltas
    from vla.tokenizers.normalize import Normalizer

    state = np.array([[0.0, 0.0, 1.0], [0.1, 0.2, 0.5], [0.2, 0.4, 0.0]], np.float32)
    action = np.array([[0.1, 0.2, 0.0], [0.2, 0.4, 1.0], [0.3, 0.5, 1.0]], np.float32)
    deltas = chunk_deltas(state, action, horizon=2)
    # k=0: a[t]-s[t] for 3 frames; k=1: a[t+1]-s[t] for 2; the gripper stays absolute
    np.testing.assert_allclose(deltas[:3, :2], action[:, :2] - state[:, :2])
    np.testing.assert_allclose(deltas[3:, :2], action[1:, :2] - state[:2, :2])
    np.testing.assert_allclose(deltas[:, 2], [0, 1, 1, 1, 1])

    s = {
        "mean": [0.0] * 3,
        "std": [1.0] * 3,
        "q01": [-1.0, -1.0, 0.0],
        "q99": [1.0, 1.0, 1.0],
    }
    rel = {**s, "q01": [-0.5, -0.5, 0.0], "q99": [0.5, 0.5, 1.0]}
    norm = Normalizer(
        {"arm": {"observation.state": s, "action": s, "action.relative": rel}}, 3, relative=True
    )
    st = torch.tensor([[1.0, -1.0, 0.3]])
    x = torch.tensor([[[1.25, -1.0, 1.0]]])  # (B, H, D): +0.25 on the first joint, gripper closed
    y = norm.action(x, ["arm"], state=st)
    torch.testing.assert_close(y, torch.tensor([[[0.5, 0.0, 1.0]]]))
    torch.testing.assert_close(norm.unaction(y, ["arm"], state=st), x)
    with pytest.raises(ValueError, match="measured state"):
        norm.action(x, ["arm"])
    with pytest.raises(ValueError, match="action.relative"):
        Normalizer({"arm": {"observation.state": s, "action": s}}, 3, relative=True)
    # relative for the robots named: another robot's actions (changes already) need no
    # relative stats and are normalised as they are, in the same batch
    mixed = Normalizer(
        {"arm": {"observation.state": s, "action": s, "action.relative": rel},
         "hand": {"observation.state": s, "action": s}},
        3, relative=["arm"],
    )  # fmt: skip
    both = torch.cat([x, x])
    y = mixed.action(both, ["arm", "hand"], state=torch.cat([st, st]))
    torch.testing.assert_close(y[0], torch.tensor([[0.5, 0.0, 1.0]]))
    torch.testing.assert_close(y[1], torch.tensor([[1.0, -1.0, 1.0]]))
