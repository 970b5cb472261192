"""A small, fully seeded policy and fixed inputs, for the committed golden outputs.

Regenerate after an intended numerical change (and say why in the commit):
    .venv/bin/python -m tests.golden_policy
"""

from __future__ import annotations

from pathlib import Path

import torch

from vla.embodiment import Embodiment
from vla.policies.configuration import PolicyConfig
from vla.policies.vla_policy import VLAPolicy

ARTIFACT = Path(__file__).parent / "artifacts" / "policy_golden.safetensors"
INSTRUCTION = "put the green cube on the plate"


def schema(name: str, joints: int) -> Embodiment:
    return Embodiment(
        name=name,
        joint_names=tuple(f"j{i}" for i in range(joints)),
        gripper_name="gripper",
        action_mode="joint_position",
        joint_units=("rad",) * joints,
        action_low=(-3.0,) * joints + (0.0,),
        action_high=(3.0,) * joints + (1.0,),
        gripper_sign=1,
        control_hz=10.0,
        cameras=("front", "wrist"),
    )


def stats(dim: int) -> dict:
    s = {
        "mean": [0.1] * dim,
        "std": [0.5] * dim,
        "min": [-2.0] * dim,
        "max": [2.0] * dim,
        "q01": [-1.5] * dim,
        "q99": [1.5] * dim,
        "count": [100],
    }
    return {"observation.state": s, "action": s, "action.relative": s}


# name -> policy options: every head with the patch encoder, and the CPU recipe's encoder and
# relative actions (conv stem, FiLM, keypoints)
VARIANTS = {
    "chunk": {"head": "chunk"},
    "bins": {"head": "bins"},
    "flow": {"head": "flow", "heads": {"flow": {"steps": 3}}},
    "chunk_conv_relative": {
        "head": "chunk",
        "action_mode": "relative",
        "parts": {"images": {"encoder": "conv", "patch_size": 8}},
    },
}


def build(variant: str) -> VLAPolicy:
    torch.manual_seed(1234)
    options = {"parts": {"images": {"patch_size": 16}}, **VARIANTS[variant]}
    cfg = PolicyConfig(horizon=3, n_action_steps=3, num_layers=2, image_size=32, **options)
    schemas = {"six": schema("six", 5), "eight": schema("eight", 7)}
    return VLAPolicy(cfg, schemas, {"six": stats(6), "eight": stats(8)}).eval()


def inputs() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    return {
        "images": torch.randint(0, 256, (2, 2, 3, 32, 32), generator=g, dtype=torch.uint8),
        "state": torch.randn(2, 8, generator=g) * 0.3,
    }


def outputs(variant: str) -> torch.Tensor:
    x = inputs()
    policy = build(variant)
    batch = policy.pre.tensors(x["images"], x["state"], [INSTRUCTION] * 2, ["six", "eight"])
    return policy.sample_actions(batch).float()


if __name__ == "__main__":
    from safetensors.torch import save_file

    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    save_file({name: outputs(name).contiguous() for name in VARIANTS}, str(ARTIFACT))
    print(f"wrote {ARTIFACT}")
