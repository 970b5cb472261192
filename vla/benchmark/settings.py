"""The policy configurations a benchmark times, and inputs of their shapes.

A setting is a policy config on a checkpoint's robots and statistics: `policy: checkpoint` keeps
that checkpoint's own recipe (the demo: what `make demo` evaluates), `policy: defaults` puts
PolicyConfig's defaults (all backbone layers, 128 px patches, LoRA) on the same robots. Weights
stay as initialised: speed does not depend on them, and the fast paths are compared against the
same weights in float32.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
import torch

from vla.embodiment import Embodiment
from vla.policies import checkpoint
from vla.policies.configuration import PolicyConfig

INSTRUCTION = "pick up the red cube"


@dataclass
class Setting:
    name: str
    policy: PolicyConfig
    schemas: dict[str, Embodiment]
    stats: dict
    fitted: dict  # the parts' fitted state (the checkpoint's; none for PolicyConfig's defaults)

    @property
    def instruction(self) -> str:
        """A sentence the policy was fitted on where it has one (a training instruction)."""
        reference = self.fitted.get("sentence", {}).get("reference")
        return reference[0] if reference else INSTRUCTION

    @property
    def robot(self) -> str:
        return next(iter(self.schemas))

    def load_backbone(self):
        """The backbone this setting's policy loads (loaded once, copied for each head)."""
        from vla import backbone as backbone_lib

        p = self.policy
        return backbone_lib.load(
            backbone_lib.BackboneConfig(name=p.backbone, num_layers=p.num_layers, dtype=p.dtype)
        )


def load(name: str, spec: dict, backbone: str) -> Setting:
    """spec: {robots_from: checkpoint dir, policy: checkpoint | defaults, overrides: {...}}."""
    unknown = set(spec) - {"robots_from", "policy", "overrides"}
    if unknown:
        raise ValueError(
            f"benchmark setting {name!r}: unknown keys {sorted(unknown)} "
            "(it takes robots_from, policy, overrides)"
        )
    source = spec.get("policy", "checkpoint")
    if source not in ("checkpoint", "defaults"):
        raise ValueError(
            f"benchmark setting {name!r}: policy must be checkpoint or defaults, got {source!r}"
        )
    config = checkpoint.read_config(spec["robots_from"])
    overrides = {"backbone": backbone, **dict(spec.get("overrides") or {})}
    if source == "checkpoint":
        policy, fitted = checkpoint.saved_policy(config, **overrides)
    else:
        policy, fitted = PolicyConfig.from_dict({**PolicyConfig().to_dict(), **overrides}), {}
    schemas = {r: Embodiment.from_dict(s) for r, s in config["robots"].items()}
    return Setting(name, policy, schemas, config["stats"], fitted)


def with_head(setting: Setting, head: str, horizon: int | None = None) -> PolicyConfig:
    """The setting's policy with another registered head (and chunk length)."""
    horizon = horizon or setting.policy.horizon
    return replace(
        setting.policy,
        head=head,
        horizon=horizon,
        n_action_steps=min(setting.policy.n_action_steps, horizon),
        heads=copy.deepcopy(setting.policy.heads),
    )


def observation(setting: Setting, seed: int = 0) -> dict:
    """One camera frame per camera, a state and an instruction, as an env hands them out."""
    rng = np.random.default_rng(seed)
    size = setting.policy.image_size
    schema = setting.schemas[setting.robot]
    obs = {
        "images": {
            c: rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for c in setting.policy.cameras
        },
        "state": rng.uniform(-0.5, 0.5, schema.state_dim).astype(np.float32),
        "instruction": setting.instruction,
        # a privileged-target policy reads it; the others leave it be
        "target_xy": np.array([0.5, 0.0], np.float32),
    }
    return obs


def training_batch(setting: Setting, config: PolicyConfig, size: int, seed: int = 0) -> dict:
    """A batch of the loader's shapes: robots alternating, every label the recipe trains on."""
    g = torch.Generator().manual_seed(seed)
    robots = [list(setting.schemas)[i % len(setting.schemas)] for i in range(size)]
    state_dim = max(s.state_dim for s in setting.schemas.values())
    dim = max(s.action_dim for s in setting.schemas.values())
    cams, px = len(config.cameras), config.image_size
    mask = torch.zeros(size, dim, dtype=torch.bool)
    for i, r in enumerate(robots):
        mask[i, : setting.schemas[r].action_dim] = True
    instruction = setting.instruction
    return {
        "images": torch.randint(0, 256, (size, cams, 3, px, px), dtype=torch.uint8, generator=g),
        "state": torch.rand(size, state_dim, generator=g) - 0.5,
        "instruction": [instruction] * size,
        "robot": robots,
        "actions": torch.rand(size, config.horizon, dim, generator=g) - 0.5,
        "action_is_pad": torch.zeros(size, config.horizon, dtype=torch.bool),
        "dim_mask": mask,
        "target_xy": torch.rand(size, 2, generator=g) * 0.2 + 0.4,
        "target_uv": torch.rand(size, cams, 2, generator=g) * 2 - 1,
        "goal_xy": torch.rand(size, 2, generator=g) * 0.2 + 0.4,
        "goal_uv": torch.rand(size, cams, 2, generator=g) * 2 - 1,
    }
