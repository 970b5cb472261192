"""The policy's configuration: a typed dataclass, validated on construction.

What the policy is made of beyond the backbone and the head lives in its parts' own options
(`parts`, {part: options or None}, each dataclass defined and checked in its part's file) and in
the head's (`heads`, likewise): this file knows none of their flags.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

MODES = ("frozen", "lora", "full")
ACTION_MODES = ("absolute", "relative")
# options that configs saved before the heads owned them carry at the top level
LEGACY_HEAD_OPTIONS = {
    "num_bins": ("bins", "num_bins"),
    "flow_steps": ("flow", "steps"),
    "flow_seed": ("flow", "seed"),
}


@dataclass
class PolicyConfig:
    head: str = "chunk"  # an action head registered in vla.policies.heads: bins | chunk | flow
    horizon: int = 8  # actions predicted per call (the chunk)
    n_action_steps: int = 8  # of those, how many select_action hands out before predicting again
    # temporal ensembling (ACT): predict at every step and run the weighted mean of the chunks
    # that cover it, the i-th newest weighted exp(-m i) against the oldest; null: off
    temporal_ensemble: float | None = None
    backbone: str = "smollm2-135m"  # embedded name, local HF directory or hub id
    num_layers: int | None = None  # keep the first N decoder layers
    dtype: str = "float32"
    backbone_init: str = "pretrained"  # pretrained | random (backbone.init: an ablation)
    mode: str = "lora"  # frozen | lora | full
    lora_rank: int = 16  # mode=lora: the adapters' rank and scale
    lora_alpha: int = 32
    image_size: int = 128  # square camera images, pixels
    cameras: tuple[str, ...] = field(default_factory=lambda: ("front", "wrist"))
    max_text_tokens: int = 64  # the prompt is cut to this many tokens
    # absolute: predict the robot's targets; relative: predict them minus the state measured
    # when the chunk starts (the gripper command stays absolute)
    action_mode: str = "absolute"
    # quantile: the 1st..99th percentile range onto [-1, 1]; meanstd: (x - mean) / std
    # (vla/tokenizers/normalize.py); the bins head discretises [-1, 1] and takes quantile only
    action_norm: str = "quantile"
    # each head's own options ({head: {option: value}}, set as policy.heads.flow.steps=3)
    heads: dict = field(default_factory=dict)
    # the conditioning parts (policies/parts.py), each its options or null, set as
    # policy.parts.localizer.weight=2.0 or policy.parts.sentence=null
    parts: dict = field(default_factory=dict)

    def __post_init__(self):
        from vla.policies import heads, parts
        from vla.suggest import unknown

        self.cameras = tuple(self.cameras)
        if self.head not in heads.HEADS:
            raise ValueError(unknown("policy.head", self.head, heads.HEADS))
        self.heads = heads.head_options(self.heads)
        self.parts = parts.part_options(self.parts)
        if self.action_mode not in ACTION_MODES:
            raise ValueError(unknown("policy.action_mode", self.action_mode, ACTION_MODES))
        from vla.tokenizers.normalize import ACTION_NORMS

        if self.action_norm not in ACTION_NORMS:
            raise ValueError(unknown("policy.action_norm", self.action_norm, ACTION_NORMS))
        if self.action_norm != "quantile" and self.head == "bins":
            raise ValueError(
                "policy.head=bins discretises actions on [-1, 1]: use policy.action_norm=quantile"
            )
        if self.mode not in MODES:
            raise ValueError(unknown("policy.mode", self.mode, MODES))
        if self.backbone_init == "random" and self.mode != "full":
            raise ValueError(
                f"backbone.init=random draws the backbone's layers afresh, and policy.mode="
                f"{self.mode} would leave them untrained: add policy.mode=full"
            )
        if self.horizon < 1 or not 1 <= self.n_action_steps <= self.horizon:
            raise ValueError(
                f"need 1 <= n_action_steps ({self.n_action_steps}) <= horizon ({self.horizon})"
            )
        if not self.cameras:
            raise ValueError("policy.cameras needs at least one camera")
        from vla.serving.chunking import check_ensemble

        check_ensemble(self.temporal_ensemble)

    @classmethod
    def from_dict(cls, values: dict) -> PolicyConfig:
        """A saved config, including those written before each head owned its options (flat
        num_bins, flow_steps, flow_seed) and before the parts did (see legacy.py)."""
        from vla.policies import legacy

        values, _ = legacy.split_fitted(values)
        values = dict(values)
        given = {k: dict(v) for k, v in values.pop("heads", {}).items()}
        for old, (head, option) in LEGACY_HEAD_OPTIONS.items():
            if old in values:
                given.setdefault(head, {})[option] = values.pop(old)
        return cls(**values, heads=given)

    @property
    def options(self):
        """The chosen head's options (its dataclass)."""
        return self.heads[self.head]

    def to_dict(self) -> dict:
        # tuples as lists: the form JSON and Hydra give back
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
