"""The policy's configuration: a typed dataclass, validated on construction."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

MODES = ("frozen", "lora", "full")
ACTION_MODES = ("absolute", "relative")
TARGET_TOKENS = ("none", "privileged", "predicted")


@dataclass
class PolicyConfig:
    head: str = "chunk"  # an action head registered in vla.policies.heads: bins | chunk
    horizon: int = 8  # actions predicted per call (the chunk)
    n_action_steps: int = 8  # of those, how many select_action hands out before predicting again
    backbone: str = "smollm2-135m"  # embedded name, local HF directory or hub id
    num_layers: int | None = None  # keep the first N decoder layers
    dtype: str = "float32"
    mode: str = "lora"  # frozen | lora | full
    lora_rank: int = 16
    lora_alpha: int = 32
    image_size: int = 128
    patch_size: int = 16
    cameras: tuple[str, ...] = field(default_factory=lambda: ("front", "wrist"))
    max_text_tokens: int = 64
    num_bins: int = 256
    image_encoder: str = "patch"  # patch (ViT-style) | conv (conv stem + spatial-softmax keypoints)
    # absolute: predict the robot's joint targets; relative: predict them minus the joint
    # positions measured when the chunk starts (the gripper command stays absolute)
    action_mode: str = "absolute"
    # > 0: train the target localizer (policies/target_localizer.py: where the named cube is,
    # from the first camera's pixels and the instruction) with this weight on its loss. Its
    # labels (the cube's pixel and table position) come from simulation at training time only
    target_probe_weight: float = 0.0
    # one more token holding the named cube's table position: `privileged` reads the true one
    # (a diagnosis: acting needs obs["target_xy"], which only a simulator gives); `predicted`
    # reads the localizer's estimate when acting (trained on the true position plus noise), so
    # the policy acts from pixels and words alone (needs target_probe_weight > 0)
    target_token: str = "none"
    # how the instruction becomes the one vector that conditions the conv encoder (FiLM):
    # mean of the prompt's word embeddings | attention (a learned query picks the words)
    text_pooling: str = "mean"
    # conv encoder: the stride of the feature map that FiLM modulates and keypoints are read
    # from (8, or 4 for twice the resolution)
    keypoint_stride: int = 8

    def __post_init__(self):
        from vla.policies import heads
        from vla.suggest import unknown

        self.cameras = tuple(self.cameras)
        if self.head not in heads.HEADS:
            raise ValueError(unknown("policy.head", self.head, heads.HEADS))
        from vla.tokenizers.image import ENCODERS

        if self.image_encoder not in ENCODERS:
            raise ValueError(unknown("policy.image_encoder", self.image_encoder, ENCODERS))
        from vla.policies.text_pooling import POOLINGS

        if self.text_pooling not in POOLINGS:
            raise ValueError(unknown("policy.text_pooling", self.text_pooling, POOLINGS))
        if self.action_mode not in ACTION_MODES:
            raise ValueError(unknown("policy.action_mode", self.action_mode, ACTION_MODES))
        if self.target_probe_weight < 0:
            raise ValueError(
                f"policy.target_probe_weight must be >= 0, got {self.target_probe_weight}"
            )
        if self.target_token not in TARGET_TOKENS:
            raise ValueError(unknown("policy.target_token", self.target_token, TARGET_TOKENS))
        if self.target_token == "predicted" and self.target_probe_weight <= 0:
            raise ValueError(
                "policy.target_token=predicted learns the position from the target probe: "
                "set policy.target_probe_weight > 0 (e.g. 1.0)"
            )
        if self.keypoint_stride not in (4, 8):
            raise ValueError(f"policy.keypoint_stride must be 4 or 8, got {self.keypoint_stride}")
        if self.mode not in MODES:
            raise ValueError(unknown("policy.mode", self.mode, MODES))
        if self.horizon < 1 or not 1 <= self.n_action_steps <= self.horizon:
            raise ValueError(
                f"need 1 <= n_action_steps ({self.n_action_steps}) <= horizon ({self.horizon})"
            )
        if self.image_size % self.patch_size:
            raise ValueError(
                f"image_size {self.image_size} must be a multiple of patch_size {self.patch_size}"
            )
        if not self.cameras:
            raise ValueError("policy.cameras needs at least one camera")

    @property
    def reads_true_target(self) -> bool:
        """Acting needs obs["target_xy"] (the privileged diagnosis): only simulation has it."""
        return self.target_token == "privileged"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["cameras"] = list(self.cameras)
        return d
