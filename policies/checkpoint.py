"""Checkpoints: only what was trained, plus everything needed to refuse a wrong load.

    DIR/config.json         policy config, backbone id + content hash, robots' schemas, stats,
                            and each part's fitted state
    DIR/model.safetensors   trained tensors only (LoRA adapters, tokenizers, heads; the whole
                            backbone only when it was fully fine-tuned)
    DIR/golden.safetensors  fixed inputs per robot and the outputs they gave at save time

Written atomically (built aside, then renamed). Loading rebuilds the policy around the same
backbone, checks the hash, the tensor names and shapes, and that the golden inputs give the
golden outputs again; any mismatch is an error that says what differs. No pickle anywhere.
Format 1 (before the parts owned their options) loads through policies/legacy.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from vla import atomic
from vla.embodiment import Embodiment

FORMAT_VERSION = 2
READABLE = (1, 2)  # 1: flat part flags and old tensor names (policies/legacy.py)
GOLDEN_INSTRUCTION = "put the red cube in the bowl"
GOLDEN_TOLERANCE = 1e-4


def trained_state(policy) -> dict[str, torch.Tensor]:
    return {
        n: p.detach().cpu().contiguous() for n, p in policy.named_parameters() if p.requires_grad
    }


def golden_inputs(policy) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    size, cams = policy.config.image_size, len(policy.config.cameras)
    out = {}
    for robot in policy.robots:
        mean = torch.zeros(policy.max_state_dim)
        st = policy.stats[robot]["observation.state"]["mean"]
        mean[: len(st)] = torch.tensor(st)
        out[f"{robot}.images"] = torch.randint(
            0, 256, (1, cams, 3, size, size), generator=g, dtype=torch.uint8
        )
        out[f"{robot}.state"] = mean[None] + 0.05 * torch.randn(
            1, policy.max_state_dim, generator=g
        )
        if "target_xy" in policy.observes:
            out[f"{robot}.target_xy"] = torch.tensor([[0.45, 0.1]])  # metres, on the table
        if policy.state_history:  # the arm a little way back along its path
            out[f"{robot}.past_states"] = out[f"{robot}.state"][:, None] - 0.01 * torch.arange(
                1, policy.state_history + 1
            ).view(1, -1, 1)
    return out


def golden_outputs(policy, inputs) -> dict[str, torch.Tensor]:
    was_training = policy.training
    policy.eval()
    out = {}
    for robot in policy.robots:
        images = inputs[f"{robot}.images"].to(policy.device)
        state = inputs[f"{robot}.state"].to(policy.device)
        target = inputs.get(f"{robot}.target_xy")
        past = inputs.get(f"{robot}.past_states")
        past = None if past is None else past.to(policy.device)
        batch = policy.pre.tensors(
            images, state, [GOLDEN_INSTRUCTION], [robot], target, past_states=past
        )
        out[f"{robot}.output"] = policy.sample_actions(batch).float().cpu()
    policy.train(was_training)
    return out


def save(policy, directory) -> None:
    inputs = golden_inputs(policy)
    golden = inputs | golden_outputs(policy, inputs)
    config = {
        "format_version": FORMAT_VERSION,
        "policy": policy.config.to_dict(),
        "backbone": policy.backbone_info,
        "robots": {r: s.to_dict() for r, s in policy.schemas.items()},
        "stats": policy.stats,
        "fitted": policy.fitted,
    }
    with atomic.replace_directory(directory) as tmp:
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
        save_file(trained_state(policy), str(tmp / "model.safetensors"))
        save_file(golden, str(tmp / "golden.safetensors"))


def read_config(directory) -> dict:
    path = Path(directory) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{directory} is not a vla checkpoint: no config.json (train one with `vla train`)"
        )
    config = json.loads(path.read_text())
    if config.get("format_version") not in READABLE:
        raise ValueError(
            f"{directory}: checkpoint format {config.get('format_version')}, this code reads {FORMAT_VERSION}"
        )
    return config


def saved_policy(config: dict, **overrides):
    """A checkpoint's config.json -> (PolicyConfig with `overrides`, {part: fitted state})."""
    from vla.policies import legacy
    from vla.policies.configuration import PolicyConfig

    values, fitted = legacy.split_fitted(config["policy"])  # format 1 kept it in the config
    return PolicyConfig.from_dict({**values, **overrides}), config.get("fitted", fitted)


def load(directory, device="cpu", backbone=None):
    from vla.policies import legacy
    from vla.policies.vla_policy import VLAPolicy

    directory = Path(directory)
    config = read_config(directory)
    schemas = {r: Embodiment.from_dict(s) for r, s in config["robots"].items()}
    policy_config, fitted = saved_policy(config)
    policy = VLAPolicy(policy_config, schemas, config["stats"], backbone=backbone, fitted=fitted)
    saved_hash = config["backbone"].get("content_hash")
    loaded_hash = policy.backbone_info.get("content_hash")
    if saved_hash and loaded_hash and saved_hash != loaded_hash:
        raise ValueError(
            f"{directory} was trained on backbone weights {saved_hash[:12]}..., but "
            f"{config['backbone']['name']!r} now loads {loaded_hash[:12]}...; install the backbone it was trained with"
        )
    state = load_file(str(directory / "model.safetensors"))
    if config["format_version"] == 1:
        state = {legacy.tensor_name(k): v for k, v in state.items()}
    expected = trained_state(policy)
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{directory}: tensors missing {missing[:5]} / unexpected {unexpected[:5]} for this config"
        )
    wrong = [k for k in state if state[k].shape != expected[k].shape]
    if wrong:
        raise ValueError(f"{directory}: tensor shapes differ for {wrong[:5]}")
    policy.load_state_dict(state, strict=False)
    policy.to(device)
    golden = load_file(str(directory / "golden.safetensors"))
    now = golden_outputs(policy, golden)
    for key, value in now.items():
        if not torch.allclose(value, golden[key], atol=GOLDEN_TOLERANCE):
            err = (value - golden[key]).abs().max().item()
            raise ValueError(
                f"{directory}: golden outputs differ for {key.split('.')[0]} (max error {err:.2e}); the "
                "backbone, code or weights are not the ones this checkpoint was saved with"
            )
    policy.eval()
    return policy
