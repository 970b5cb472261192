"""The contract every conditioning part keeps, checked in code, as `ActionHead` is for heads.

A part turns what the policy observed into tokens of the backbone's sequence, and may hand named
values on to the parts after it and to the action head. It owns three things no other file
knows about: its options (a dataclass, checked in its __post_init__ and set as
`policy.<part>.<option>=...`, or `policy.<part>=null` to leave it out), its fitted state (what
`fit` computes from the training set, saved in the checkpoint beside the normalisation stats),
and its auxiliary loss. A new part is one module plus one `register` line in parts.py.

What flows between parts is a `Seen` dict: the inputs every part may read (INPUTS below) and
whatever earlier parts `provide`. A part declares what it `needs` and what it `provides`
({name: width of the value's last dimension}); the policy refuses a part whose needs nothing
provides, and hands the head the provided values it declares in `ActionHead.conditioning`.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from vla.policies import plugins

# what every part may read from `Seen` without another part providing it
INPUTS = (
    "images",  # (B, C, 3, H, W) uint8, the policy's cameras in order
    "state",  # (B, S) the normalised state, padded to the widest robot
    "raw_state",  # (B, S) the same in the robot's own units
    "past_states",  # (B, k, S) or None: earlier states, robot's units, newest first
    "words",  # (B, T, W) the prompt's word embeddings, left-padded
    "word_mask",  # (B, T) 1 where a word is real
    "instructions",  # B sentences
    "robots",  # B robot names
    "target_xy",  # (B, 2) metres or None: the true target, where the observation has it
    "crop_box",  # (B, 4) or None: the loader's augmentation crop
    "labels",  # training only, else None: simulation's labels (target_uv, goal_xy, ...)
)


@dataclass
class PolicyContext:
    """What a part is built from besides its own options: the policy's shape, never another
    part's options. `fitted` is this part's own fitted state (from `fit`, or a checkpoint)."""

    width: int  # the backbone's hidden size
    robots: list[str]
    schemas: dict  # {robot: Embodiment}
    image_size: int
    cameras: tuple[str, ...]
    backbone: str  # name, path or hub id (a part may load its own frozen copy)
    dtype: str
    max_text_tokens: int
    action_mode: str  # absolute | relative
    normalizer: object  # vla.tokenizers.normalize.Normalizer
    embeddings: nn.Module  # the backbone's input embeddings (read, never trained by a part)
    fitted: dict = dataclasses.field(default_factory=dict)
    provided: dict = dataclasses.field(default_factory=dict)  # what earlier parts provide


class Seen(dict):
    """Named values of one batch: the INPUTS, then what each part provides, in order."""

    def need(self, name: str, part: str):
        if name not in self:
            raise KeyError(f"part {part!r} needs {name!r}, which nothing provided")
        return self[name]


@dataclass
class NoOptions:
    """The options of a part that has none of its own."""


class Part(nn.Module, metaclass=abc.ABCMeta):
    """One source of conditioning tokens. Subclasses set `options` (their dataclass) and
    implement `forward`; `needs` and `provides` may depend on the options (set them in
    __init__); `loss` and `fit` are optional."""

    options: type = NoOptions
    for_head = False  # True: what it provides is for the action head alone (checked)

    def __init__(self, options, context: PolicyContext):
        super().__init__()
        self.opts = options
        self.needs: tuple[str, ...] = ()
        self.provides: dict[str, int] = {}
        self.observes: tuple[str, ...] = ()  # observation keys it reads while acting, if any
        self.hears = False  # whether its tokens depend on the instruction (one part must)

    @abc.abstractmethod
    def forward(self, seen: Seen) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Read `seen`, add what this part provides to it, and return its tokens (B, N, W) (N
        may be 0) with their (B, N) mask, or None when every token is real."""

    def loss(self, seen: Seen, labels: dict) -> tuple[torch.Tensor, dict] | None:
        """The part's auxiliary loss from the batch's `labels` (simulation's, never read while
        acting) -> (scalar, already weighted by the part's own options, logs), or None."""
        return None

    @classmethod
    def fit(cls, options, episodes: list[dict], context: dict) -> dict:
        """Fitted state from the training episodes' records (JSON-able, saved with the
        checkpoint). `context`: the policy's cameras. Default: nothing to fit."""
        return {}


def register(registry: dict, name: str, cls: type) -> None:
    """Adds a part class to the registry, refusing one that does not keep the contract."""
    plugins.register(registry, "part", name, cls, Part)


def checked_part_loss(name: str, out):
    """What a part's loss returned, or an error that names the part and the broken promise."""
    if out is None:
        return None
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)):
        raise TypeError(f"part {name!r}: loss() must return (loss, logs) or None")
    if not (torch.is_tensor(out[0]) and out[0].dim() == 0):
        raise TypeError(f"part {name!r}: loss() must return a scalar tensor first")
    return out


def checked_tokens(name: str, out, batch: int, width: int):
    """A part's (tokens, mask), or an error that says which promise it broke."""
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(f"part {name!r}: forward() must return (tokens, mask or None)")
    tokens, mask = out
    if not (torch.is_tensor(tokens) and tokens.dim() == 3 and tokens.shape[0] == batch):
        raise TypeError(f"part {name!r}: tokens must be (B={batch}, N, W)")
    if tokens.shape[1] and tokens.shape[2] != width:
        raise TypeError(f"part {name!r}: tokens must be {width} wide, got {tokens.shape[2]}")
    if mask is not None and tuple(mask.shape) != tuple(tokens.shape[:2]):
        raise TypeError(f"part {name!r}: mask must be (B, N) like its tokens")
    return tokens, mask
