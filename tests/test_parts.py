"""Conditioning parts behind a checked contract (policies/part.py, policies/parts.py): a new
part is one class plus one registry line, it trains and is saved with its fitted state; a part
that breaks the contract is refused by name; old flat configs read as today's parts."""

import dataclasses

import pytest
import torch
from torch import nn

from tests.test_policy import ROBOTS, batch_of, make_policy, obs_of
from vla.policies import legacy, parts
from vla.policies.configuration import PolicyConfig
from vla.policies.part import Part, register


@dataclasses.dataclass
class BrightnessOptions:
    scale: float = 1.0

    def __post_init__(self):
        if self.scale <= 0:
            raise ValueError("policy.parts.brightness.scale must be > 0")


class Brightness(Part):
    """A toy part: one token from the mean brightness of each camera, and an auxiliary loss
    that asks the token's projection to predict it; `fit` records the dataset's mean."""

    options = BrightnessOptions

    def __init__(self, options, context):
        super().__init__(options, context)
        self.project = nn.Linear(len(context.cameras), context.width)
        self.readback = nn.Linear(context.width, len(context.cameras))
        self.mean = context.fitted.get("mean", 0.5)
        self.needs = ("images",)
        self.provides = {"brightness": len(context.cameras)}

    def forward(self, seen):
        light = seen["images"].float().mean((2, 3, 4)) / 255 - self.mean  # (B, C)
        seen["brightness"] = light
        token = self.project(light * self.opts.scale)[:, None]  # (B, 1, W)
        seen["brightness.token"] = token
        return token, None

    def loss(self, seen, labels):
        guess = self.readback(seen["brightness.token"][:, 0].float())
        return nn.functional.mse_loss(guess, seen["brightness"]), {"brightness_mse": 1.0}

    @classmethod
    def fit(cls, options, episodes, context):
        return {"mean": 0.25, "episodes": len(episodes)}


@pytest.fixture
def with_brightness():
    parts.register("brightness", Brightness)  # the one line a new part adds to parts.py
    yield
    del parts.PARTS["brightness"], parts.DEFAULT_ON["brightness"]


def test_a_registered_toy_part_trains_and_travels_with_its_fitted_state(
    demos, with_brightness, tmp_path
):
    pol = make_policy(
        demos, "chunk", parts={"brightness": {"scale": 2.0}}, fitted={"brightness": {"mean": 0.25}}
    )
    assert list(pol.parts) == ["words", "images", "state", "brightness"]
    assert pol.parts["brightness"].mean == 0.25
    loss, logs = pol(batch_of(demos, list(ROBOTS)))
    assert "brightness_mse" in logs
    loss.backward()
    assert pol.parts["brightness"].project.weight.grad.abs().sum() > 0
    assert pol.parts["brightness"].readback.weight.grad.abs().sum() > 0  # its own loss
    pol.zero_grad()
    pol.save_pretrained(tmp_path / "ckpt")
    loaded = type(pol).from_pretrained(tmp_path / "ckpt")
    assert loaded.fitted["brightness"] == {"mean": 0.25}
    assert loaded.config.parts["brightness"] == BrightnessOptions(2.0)
    obs = obs_of(demos, "panda")
    torch.testing.assert_close(
        torch.as_tensor(loaded.infer(obs, "panda")["actions"]),
        torch.as_tensor(pol.eval().infer(obs, "panda")["actions"]),
    )
    with pytest.raises(ValueError, match="Did you mean 'scale'"):
        PolicyConfig(parts={"brightness": {"scael": 1.0}})
    with pytest.raises(ValueError, match="must be > 0"):
        PolicyConfig(parts={"brightness": {"scale": 0.0}})
    assert PolicyConfig().parts["brightness"] is None  # off unless asked for


def test_vla_train_fits_and_trains_a_new_part_it_was_never_told_about(
    dataset, with_brightness, tmp_path
):
    """The trainer knows no part by name: it fits the toy part on the training episodes, trains
    it with its auxiliary loss, and saves both."""
    from tests.test_training import two_step_config
    from tests.tiny import tiny
    from vla.datasets.loader import EpisodeDataset
    from vla.policies.vla_policy import VLAPolicy
    from vla.training import engines

    root, _ = dataset
    cfg = two_step_config(root, tmp_path / "toy")
    last = engines.run(cfg, tiny({"brightness": {"scale": 3.0}}))
    assert "brightness_mse" in last
    policy = VLAPolicy.from_pretrained(tmp_path / "toy" / "policy")
    train = EpisodeDataset(root, split="train", val_fraction=cfg.val_fraction)
    assert policy.fitted["brightness"] == {"mean": 0.25, "episodes": len(train.episodes)}
    assert "words" not in policy.fitted and "sentence" not in policy.fitted  # nothing to fit


def test_parts_that_break_the_contract_are_refused_by_name():
    class NoForward(Part):
        pass

    class NotAPart(nn.Module):
        pass

    class BadOptions(Brightness):
        options = dict

    registry = {}
    with pytest.raises(TypeError, match="part 'x'.*does not implement \\['forward'\\]"):
        register(registry, "x", NoForward)
    with pytest.raises(TypeError, match="must subclass"):
        register(registry, "x", NotAPart)
    with pytest.raises(TypeError, match="options must be a dataclass"):
        register(registry, "x", BadOptions)
    register(registry, "x", Brightness)
    with pytest.raises(ValueError, match="registered already"):
        register(registry, "x", Brightness)
    with pytest.raises(ValueError, match="Did you mean 'localizer'"):
        PolicyConfig(parts={"locaizer": {}})
    with pytest.raises(ValueError, match="cannot be null"):
        PolicyConfig(parts={"images": None})


def test_a_part_returning_the_wrong_tokens_fails_in_the_policy(demos, with_brightness, monkeypatch):
    pol = make_policy(demos, "chunk", parts={"brightness": {}})
    monkeypatch.setattr(
        pol.parts["brightness"], "forward", lambda seen: (torch.zeros(1, 1, 3), None)
    )
    with pytest.raises(TypeError, match="part 'brightness': tokens must be"):
        pol(batch_of(demos, list(ROBOTS)))


def test_a_flat_format_1_config_reads_as_todays_parts_and_fitted_state():
    """What checkpoints saved before the parts owned their options hold (checkpoints/4x4)."""
    old = {
        "head": "chunk",
        "image_encoder": "conv",
        "patch_size": 16,
        "keypoint_stride": 8,
        "film_from": "sentence",
        "word_tokens": False,
        "text_pooling": "attention",
        "text_noise_words": 6,
        "sentence_layer": 29,
        "sentence_span": 8,
        "sentence_readout": "nearest_task",
        "sentence_temperature": 0.05,
        "sentence_reference": ["lift the red cube", "touch the red cube"],
        "sentence_tasks": ["lift", "reach"],
        "target_probe_weight": 1.0,
        "target_token": "predicted",
        "goal_token": True,
        "table_map": "plane",
        "table_planes": {"ur5e": {"target": [1.0] * 9}},
        "anchor_xy": True,
        "anchor_frame": True,
    }
    values, fitted = legacy.split_fitted(old)
    cfg = PolicyConfig.from_dict(values)
    p = cfg.parts
    assert (p["images"].encoder, p["images"].film_from) == ("conv", "sentence")
    assert (p["words"].tokens, p["words"].pooling, p["words"].noise_words) == (
        False,
        "attention",
        6,
    )
    assert (p["sentence"].layer, p["sentence"].span, p["sentence"].readout) == (
        29,
        8,
        "nearest_task",
    )
    assert p["localizer"].goal and p["localizer"].table_map == "plane" and p["anchors"].frame
    assert fitted == {
        "sentence": {"reference": old["sentence_reference"], "tasks": ["lift", "reach"]},
        "localizer": {"planes": {"ur5e": {"target": [1.0] * 9}}},
    }
    plain = PolicyConfig.from_dict(
        legacy.split_fitted({"film_from": "words", "target_probe_weight": 0.0})[0]
    )
    assert plain.parts["images"].film_from == "text"
    assert plain.parts["localizer"] is None and plain.parts["sentence"] is None
    assert plain.parts["anchors"] is None
    assert (
        legacy.tensor_name("target_localizer.late.0.weight") == "parts.localizer.net.late.0.weight"
    )
    assert legacy.tensor_name("head.out.ur5e.weight") == "head.out.ur5e.weight"
