"""The contract every action head keeps, checked in code: the policy and the trainer rely on
exactly this and nothing else, so a new head is one module plus one registry line (heads.py)."""

from __future__ import annotations

import abc
import dataclasses

import torch
from torch import nn

from vla.policies import plugins


@dataclasses.dataclass
class NoOptions:
    """The options of a head that has none of its own."""


class ActionHead(nn.Module, metaclass=abc.ABCMeta):
    """Turns the backbone's view of the prefix into a normalised action chunk.

    __init__(config, width, action_dims, vocab_size, inputs): `config` the PolicyConfig (a head
    reads its horizon and its own options, never a part's), `width` the backbone's hidden size,
    `action_dims` {robot: its action dimensions}, `vocab_size` the backbone's, `inputs` {name:
    size} of the `conditioning` values the policy's parts provide (policies/part.py). `run` below is the BackboneRunner: `run(embeds, mask)` for a full pass,
    `run.start` / `run.step` to reuse a cached prefix, `run.embed` and `run.lm_head`.
    `conditioning` names any extra inputs the head can read (e.g. the chunk head's "anchors",
    which the anchors part provides); a head that declares none gets none.

    `options` is the head's own configuration: a dataclass whose fields are its options with
    their defaults, checked in its __post_init__. The policy's config holds one per registered
    head (PolicyConfig.heads, set as policy.heads.<head>.<option>=...), and the head reads its
    own as `config.options`."""

    conditioning: tuple[str, ...] = ()
    options: type = NoOptions

    @abc.abstractmethod
    def loss(self, run, prefix, mask, targets, valid, robots, **conditioning):
        """prefix (B, L, W), mask (B, L), targets (B, H, D) normalised, valid (B, H, D) 0/1
        -> (scalar loss, logs): logs["per_sample"] (B,) the loss of each sample (the trainer
        reports it per robot), the other entries floats to log."""

    @abc.abstractmethod
    def predict(self, run, prefix, mask, robots, **conditioning) -> torch.Tensor:
        """-> (B, H, D) normalised actions in [-1, 1], zero past each robot's own D; the same
        inputs must give the same outputs (the checkpoint's golden check)."""


def checked_loss(name: str, out, batch: int):
    """What a head's loss returned, or an error that names the head and the broken promise."""
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)):
        raise TypeError(f"head {name!r}: loss() must return (loss, logs), got {type(out).__name__}")
    loss, logs = out
    if not (torch.is_tensor(loss) and loss.dim() == 0):
        raise TypeError(f"head {name!r}: loss() must return a scalar tensor first")
    per_sample = logs.get("per_sample")
    if not torch.is_tensor(per_sample) or tuple(per_sample.shape) != (batch,):
        raise TypeError(
            f"head {name!r}: loss() logs must hold 'per_sample', a ({batch},) tensor of each "
            "sample's loss (the trainer reports it per robot)"
        )
    return loss, logs


def register(registry: dict, name: str, cls: type) -> None:
    """Adds a head class to the registry, refusing one that does not keep the contract."""
    plugins.register(registry, "head", name, cls, ActionHead)
