"""Image tokenizer: ViT-style patches of every camera -> tokens of the backbone's width."""

from __future__ import annotations

import torch
from torch import nn

# ImageNet statistics: the usual choice, and what a pretrained encoder would expect.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class ImageTokenizer(nn.Module):
    def __init__(
        self, width: int, image_size: int = 128, patch_size: int = 16, num_cameras: int = 2
    ):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(
                f"image_size {image_size} must be a multiple of patch_size {patch_size}"
            )
        self.image_size, self.patch_size, self.num_cameras = image_size, patch_size, num_cameras
        self.tokens_per_camera = (image_size // patch_size) ** 2
        self.patch = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size)
        self.position = nn.Parameter(torch.randn(1, self.tokens_per_camera, width) * 0.02)
        self.camera = nn.Parameter(torch.randn(num_cameras, 1, width) * 0.02)
        self.norm = nn.LayerNorm(width)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    @property
    def num_tokens(self) -> int:
        return self.num_cameras * self.tokens_per_camera

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (B, C, 3, H, W) -> (B, C * N, width)."""
        b, c, _, h, w = images.shape
        x = images.reshape(b * c, 3, h, w).float().div(255.0)
        x = (x - self.mean) / self.std
        x = self.patch(x.to(self.patch.weight.dtype))  # (B*C, width, h', w')
        x = x.flatten(2).transpose(1, 2) + self.position  # (B*C, N, width)
        x = x.reshape(b, c, self.tokens_per_camera, -1) + self.camera[:c].unsqueeze(0)
        return self.norm(x.reshape(b, c * self.tokens_per_camera, -1))
