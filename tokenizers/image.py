"""Image tokenizers: every camera -> tokens of the backbone's width.

Two encoders, picked by `policy.image_encoder`:
- `patch`: ViT-style linear patches (one token per patch_size x patch_size square).
- `conv`: a small convolutional stem (translation-equivariant, so it learns where things are
  from far fewer images than patches do) whose last feature map gives one token per cell,
  plus one keypoint token per camera from a spatial softmax: the expected (x, y) image
  position of each feature channel, the classic way to hand a policy precise positions
  (Levine et al. 2016; robomimic). The instruction modulates the stem's features (FiLM, as
  RT-1 conditions its EfficientNet), so keypoints can follow the object the sentence names.
  Its first layers can instead be a frozen pretrained trunk (vla.tokenizers.pretrained_trunk).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from vla.tokenizers.pretrained_trunk import PretrainedTrunk

# ImageNet statistics: the usual choice, and what a pretrained encoder would expect.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
ENCODERS = ("patch", "conv")
KEYPOINTS = 32  # spatial-softmax keypoints per camera (conv encoder)


class ConvStem(nn.Module):
    """(N, 3, H, W) -> (N, width, H/p, W/p) feature grid and (N, 2 * KEYPOINTS) keypoints.

    Stride-2 3x3 convolutions with GroupNorm until the grid is p times smaller. The
    instruction's FiLM and the keypoints act on the map of stride `keypoint_stride` (8, or
    4 for twice the resolution: at 64 px a cube is 2-3 pixels wide, a third of a stride-8
    cell)."""

    channels = 128  # of the stride-8 map
    widths = {2: 32, 4: 64, 8: 128}  # channels of the map at each stride

    def __init__(
        self, width: int, patch_size: int, keypoint_stride: int = 8, trunk: nn.Module | None = None
    ):
        super().__init__()
        if patch_size < 8 or patch_size & (patch_size - 1):
            raise ValueError(
                f"the conv encoder needs a power-of-two patch_size >= 8, got {patch_size}"
            )
        if keypoint_stride not in (4, 8):
            raise ValueError(f"keypoint_stride must be 4 or 8, got {keypoint_stride}")
        channels = [3, 32, 64, self.channels]
        layers = []
        for cin, cout in zip(channels[:-1], channels[1:], strict=True):
            layers += [
                nn.Conv2d(cin, cout, 3, stride=2, padding=1),
                nn.GroupNorm(8, cout),
                nn.GELU(),
            ]
        self.split = 3 * (keypoint_stride.bit_length() - 1)  # layers up to keypoint_stride
        # a pretrained trunk (vla.tokenizers.pretrained_trunk) replaces the layers up to
        # keypoint_stride; placeholders keep the later layers' names those of the plain stem
        self.trunk = trunk
        if trunk is not None:
            layers[: self.split] = [nn.Identity() for _ in range(self.split)]
        self.fine = nn.Sequential(*layers)  # stride 8; three layers per stride-2 step
        self.film_channels = self.widths[keypoint_stride]
        coarse = []
        for _ in range(patch_size.bit_length() - 4):  # further stride-2 steps to reach p
            c = self.channels
            coarse += [nn.Conv2d(c, c, 3, stride=2, padding=1), nn.GroupNorm(8, c), nn.GELU()]
        self.coarse = nn.Sequential(*coarse)
        self.to_width = nn.Conv2d(self.channels, width, 1)
        self.keypoint_logits = nn.Conv2d(self.film_channels, KEYPOINTS, 1)

    def forward(self, x: torch.Tensor, film=None) -> tuple[torch.Tensor, torch.Tensor]:
        first = self.fine[: self.split] if self.trunk is None else self.trunk
        early = first(x)  # (N, film_channels, H/s, W/s), s = keypoint_stride
        if film is not None:  # (N, 2 * film_channels): scale and shift per channel
            gamma, beta = film.to(early.dtype)[:, :, None, None].chunk(2, dim=1)
            early = early * (1 + gamma) + beta
        fine = self.fine[self.split :](early)  # (N, 128, H/8, W/8)
        grid = self.to_width(self.coarse(fine))  # (N, width, H/p, W/p)
        logits = self.keypoint_logits(early)  # (N, K, h, w)
        n, k, h, w = logits.shape
        attn = logits.flatten(2).softmax(-1).view(n, k, h, w)
        ys = torch.linspace(-1, 1, h, device=x.device, dtype=attn.dtype)
        xs = torch.linspace(-1, 1, w, device=x.device, dtype=attn.dtype)
        kx = (attn.sum(2) * xs).sum(-1)  # (N, K)
        ky = (attn.sum(3) * ys).sum(-1)  # (N, K)
        return grid, torch.cat([kx, ky], dim=1)  # (N, 2K)


class ImageTokenizer(nn.Module):
    def __init__(
        self,
        width: int,
        image_size: int = 128,
        patch_size: int = 16,
        num_cameras: int = 2,
        encoder: str = "patch",
        keypoint_stride: int = 8,
        trunk: str | None = None,
        trunk_weights: str | None = None,
    ):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(
                f"image_size {image_size} must be a multiple of patch_size {patch_size}"
            )
        if encoder not in ENCODERS:
            raise ValueError(f"image encoder must be one of {ENCODERS}, got {encoder!r}")
        if trunk is not None and encoder != "conv":
            raise ValueError(
                f"a pretrained trunk replaces the conv encoder's first layers; "
                f"encoder={encoder!r} has none (set encoder=conv or trunk=null)"
            )
        self.image_size, self.patch_size, self.num_cameras = image_size, patch_size, num_cameras
        self.encoder = encoder
        grid_tokens = (image_size // patch_size) ** 2
        if encoder == "patch":
            self.patch = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size)
            self.tokens_per_camera = grid_tokens
        else:
            pretrained = None
            if trunk is not None:
                pretrained = PretrainedTrunk(
                    trunk, keypoint_stride, ConvStem.widths[keypoint_stride], image_size,
                    trunk_weights, mean=MEAN, std=STD,
                )  # fmt: skip
            self.stem = ConvStem(width, patch_size, keypoint_stride, pretrained)
            self.keypoints = nn.Linear(2 * KEYPOINTS, width)
            self.film = nn.Sequential(
                nn.LayerNorm(width), nn.Linear(width, 2 * self.stem.film_channels)
            )
            nn.init.zeros_(self.film[1].weight)  # starts as the identity: no modulation
            nn.init.zeros_(self.film[1].bias)
            self.tokens_per_camera = grid_tokens + 1
        self.position = nn.Parameter(torch.randn(1, self.tokens_per_camera, width) * 0.02)
        self.camera = nn.Parameter(torch.randn(num_cameras, 1, width) * 0.02)
        self.norm = nn.LayerNorm(width)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    @property
    def num_tokens(self) -> int:
        return self.num_cameras * self.tokens_per_camera

    def forward(
        self, images: torch.Tensor, text: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """uint8 (B, C, 3, H, W) -> (B, C * N, width) tokens and the conv encoder's (B, C * 2K)
        spatial-softmax keypoints (None for patches). `text` (B, width): the instruction's
        pooled embedding, which conditions the conv encoder (the patch encoder ignores it)."""
        b, c, _, h, w = images.shape
        x = images.reshape(b * c, 3, h, w).float().div(255.0)
        x = (x - self.mean) / self.std
        points = None
        if self.encoder == "patch":
            x = self.patch(x.to(self.patch.weight.dtype))  # (B*C, width, h', w')
            x = x.flatten(2).transpose(1, 2)  # (B*C, N, width)
        else:
            film = None
            if text is not None:
                film = self.film(text.to(self.keypoints.weight.dtype)).repeat_interleave(c, dim=0)
            grid, points = self.stem(x.to(self.keypoints.weight.dtype), film)
            x = torch.cat(
                [grid.flatten(2).transpose(1, 2), F.gelu(self.keypoints(points))[:, None]], dim=1
            )  # (B*C, N, width): grid cells, then the keypoint token
        x = x + self.position
        x = x.reshape(b, c, self.tokens_per_camera, -1) + self.camera[:c].unsqueeze(0)
        tokens = self.norm(x.reshape(b, c * self.tokens_per_camera, -1))
        return tokens, None if points is None else points.reshape(b, -1)
