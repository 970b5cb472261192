"""The policy's configuration: a typed dataclass, validated on construction."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

MODES = ("frozen", "lora", "full")
ACTION_MODES = ("absolute", "relative")
TARGET_TOKENS = ("none", "privileged", "predicted")
FILM_SOURCES = ("words", "sentence")
SENTENCE_READOUTS = ("vector", "tasks", "nearest_task")
TABLE_MAPS = ("mlp", "plane")
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
    backbone: str = "smollm2-135m"  # embedded name, local HF directory or hub id
    num_layers: int | None = None  # keep the first N decoder layers
    dtype: str = "float32"
    mode: str = "lora"  # frozen | lora | full
    lora_rank: int = 16  # mode=lora: the adapters' rank and scale
    lora_alpha: int = 32
    image_size: int = 128  # square camera images, pixels
    patch_size: int = 16  # image_encoder=patch: ViT-style patch side, pixels
    cameras: tuple[str, ...] = field(default_factory=lambda: ("front", "wrist"))
    max_text_tokens: int = 64  # the prompt is cut to this many tokens
    # each head's own options, defined by the head (its `options` dataclass, e.g. FlowOptions
    # in policies/flow_head.py): {head: {option: value}}, set as policy.heads.flow.steps=3
    heads: dict = field(default_factory=dict)
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
    # with the localizer: a second heatmap finds where the named cube should go (the bowl, the
    # plate, the mark; place and push) and its estimate becomes one more token, trained on the
    # true position plus noise where the episode has a goal (needs target_token=predicted)
    goal_token: bool = False
    # how the instruction becomes the one vector that conditions the conv encoder (FiLM):
    # mean of the prompt's word embeddings | attention (a learned query picks the words)
    text_pooling: str = "mean"
    # while training, 0..N random vocabulary words (N drawn per batch) join the prompt's words
    # before pooling: a held-out paraphrase brings words no demonstration used, and the pooled
    # vector must not move the localizer's heatmap for them (offline, docs/results.md: with
    # attention pooling and N=6 held-out lifts are found within 0.7 cm, as the training
    # phrasings are, against 1.6-2.1 cm with the plain mean)
    text_noise_words: int = 0
    # conv encoder: the stride of the feature map that FiLM modulates and keypoints are read
    # from (8, or 4 for twice the resolution)
    keypoint_stride: int = 8
    # > 0: one more token, what the instruction asks for as read by the first N layers of the
    # full pretrained backbone (policies/sentence_encoder.py: frozen, cached per sentence), so
    # paraphrases the kept layers never saw still name their task. None: no such token
    sentence_layer: int | None = None
    # how many layers, ending at sentence_layer, give the sentence vector (each centred and unit
    # length, side by side): layers 22-29 together name the task of held-out paraphrases that
    # any one of them misreads (docs/results.md)
    sentence_span: int = 1
    # what the sentence token reads: "vector", the whole (centred) vector, whose every direction
    # the token can fit to the training phrasings; "tasks", only how close the sentence lies to
    # each training task's mean vector (sentence_tasks), so a paraphrase counts by the task it
    # resembles, not by the wording the demonstrations happened to use; "nearest_task", those
    # likenesses through a softmax at sentence_temperature: about one-hot on the task the
    # sentence lies nearest, so a held-out paraphrase that names its task reads exactly as the
    # training phrasings do, and one that lies between two tasks reads as a mix, not as a
    # pattern of likenesses no training phrasing showed
    sentence_readout: str = "vector"
    # nearest_task's softmax temperature on cosines: training phrasings lie 0.2-0.5 nearer their
    # own task than any other, so 0.05 makes them one-hot (e^4 or more)
    sentence_temperature: float = 0.05
    # the prompt's word embeddings as tokens of the sequence (they also condition the image
    # encoder either way); false leaves the verb to the sentence token alone
    word_tokens: bool = True
    # what conditions the conv image encoder (FiLM): "words", the pooled prompt (text_pooling),
    # or "sentence", the sentence token (needs sentence_layer). Image features conditioned on
    # the words carry the verb as the words spell it, and the action head reads it from them
    film_from: str = "words"
    # the instructions whose sentence vectors set the sentence token's centre (vla train fills
    # in the training set's distinct instructions): deep vectors of any two prompts point the
    # same way (cosine >= 0.98), what tells tasks apart is the difference from their mean
    sentence_reference: tuple[str, ...] = ()
    # the task of each reference instruction (vla train fills it in): the groups whose mean
    # vectors sentence_readout=tasks compares with
    sentence_tasks: tuple[str, ...] = ()
    # how the localizer turns the pixel it found into a table position: "mlp", a small network
    # per robot fitted on the labels while training; "plane", the fixed camera's exact
    # pixel-to-table homography (policies/table_plane.py), which vla train fits from the
    # dataset's labelled points into `table_planes` ({robot: {thing: 9 numbers}})
    table_map: str = "mlp"
    table_planes: dict = field(default_factory=dict)
    # the chunk head's TCP x, y as a learnt blend of anchors, the target's and the goal's
    # position (their tokens' values) and the TCP's own, plus a learnt correction: going exactly
    # to the cube is picking an anchor, not regressing its coordinates back out of a token
    # (task-space robots, control=ee_pose; needs head=chunk, absolute actions, a target token)
    anchor_xy: bool = False
    # with anchor_xy and a goal token: a second correction, learnt in the frame that runs from
    # the target to the goal (along, across) and turned into table x, y by it. "Behind the cube,
    # seen from the mark" (push) or "over the bowl" is then one fixed offset in that frame, where
    # in table x, y it turns with every scene's layout
    anchor_frame: bool = False

    def __post_init__(self):
        from vla.policies import heads
        from vla.suggest import unknown

        self.cameras = tuple(self.cameras)
        self.sentence_reference = tuple(self.sentence_reference)
        self.sentence_tasks = tuple(self.sentence_tasks)
        if self.head not in heads.HEADS:
            raise ValueError(unknown("policy.head", self.head, heads.HEADS))
        self.heads = heads.head_options(self.heads)
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
        if self.goal_token and self.target_token != "predicted":
            raise ValueError(
                "policy.goal_token=true is a second map of the target localizer: set "
                "policy.target_token=predicted and policy.target_probe_weight > 0"
            )
        if self.table_map not in TABLE_MAPS:
            raise ValueError(unknown("policy.table_map", self.table_map, TABLE_MAPS))
        if self.table_map == "plane" and self.target_probe_weight <= 0:
            raise ValueError(
                "policy.table_map=plane maps the target localizer's pixel to the table: set "
                "policy.target_probe_weight > 0 (e.g. 1.0)"
            )
        if self.anchor_xy and (
            self.head != "chunk" or self.action_mode != "absolute" or self.target_token == "none"
        ):
            raise ValueError(
                "policy.anchor_xy=true blends the target's (and goal's) position into the chunk "
                "head's absolute TCP x, y: it needs policy.head=chunk, policy.action_mode=absolute "
                "and a target token (policy.target_token=predicted)"
            )
        if self.anchor_frame and not (self.anchor_xy and self.goal_token):
            raise ValueError(
                "policy.anchor_frame=true corrects the anchored TCP x, y in the frame from the "
                "target to the goal: set policy.anchor_xy=true and policy.goal_token=true"
            )
        if self.keypoint_stride not in (4, 8):
            raise ValueError(f"policy.keypoint_stride must be 4 or 8, got {self.keypoint_stride}")
        if self.sentence_layer is not None and self.sentence_layer < 1:
            raise ValueError(
                f"policy.sentence_layer must be >= 1 (a layer of the backbone) or null, got {self.sentence_layer}"
            )
        if self.sentence_readout not in SENTENCE_READOUTS:
            raise ValueError(
                unknown("policy.sentence_readout", self.sentence_readout, SENTENCE_READOUTS)
            )
        if self.sentence_layer is None and (
            self.sentence_span != 1 or self.sentence_readout != "vector"
        ):
            raise ValueError(
                "policy.sentence_span and policy.sentence_readout shape the sentence token: set "
                "policy.sentence_layer (e.g. 29) too"
            )
        if self.text_noise_words < 0:
            raise ValueError(f"policy.text_noise_words must be >= 0, got {self.text_noise_words}")
        if not self.sentence_temperature > 0:
            raise ValueError(
                f"policy.sentence_temperature must be > 0, got {self.sentence_temperature}"
            )
        if self.sentence_layer is not None and not 1 <= self.sentence_span <= self.sentence_layer:
            raise ValueError(
                f"policy.sentence_span must be between 1 and sentence_layer "
                f"({self.sentence_layer}), got {self.sentence_span}"
            )
        if self.sentence_tasks and len(self.sentence_tasks) != len(self.sentence_reference):
            raise ValueError(
                f"policy.sentence_tasks names the task of each reference sentence: got "
                f"{len(self.sentence_tasks)} tasks for {len(self.sentence_reference)} sentences"
            )
        if not self.word_tokens and self.sentence_layer is None:
            raise ValueError(
                "policy.word_tokens=false leaves the instruction out of the sequence: set "
                "policy.sentence_layer (e.g. 28) so a sentence token says what to do"
            )
        if self.film_from not in FILM_SOURCES:
            raise ValueError(unknown("policy.film_from", self.film_from, FILM_SOURCES))
        if self.film_from == "sentence" and self.sentence_layer is None:
            raise ValueError(
                "policy.film_from=sentence conditions the image encoder on the sentence token: "
                "set policy.sentence_layer (e.g. 28)"
            )
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

    @classmethod
    def from_dict(cls, values: dict) -> PolicyConfig:
        """A saved config, including those written before each head owned its options (flat
        num_bins, flow_steps, flow_seed)."""
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

    @property
    def localized_things(self) -> tuple[str, ...]:
        """What the target localizer finds, one heatmap each: the named cube, and with the goal
        token where it should go."""
        return ("target", "goal") if self.goal_token else ("target",)

    @property
    def reads_true_target(self) -> bool:
        """Acting needs obs["target_xy"] (the privileged diagnosis): only simulation has it."""
        return self.target_token == "privileged"

    def to_dict(self) -> dict:
        # tuples as lists: the form JSON and Hydra give back
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
