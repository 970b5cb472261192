"""`vla train`: one policy across robots on a collected dataset."""

from __future__ import annotations

import sys

from omegaconf import OmegaConf

from vla.datasets import collection_record
from vla.policies.configuration import PolicyConfig
from vla.training import engines
from vla.training.config import TrainConfig


def configs(cfg) -> tuple[TrainConfig, PolicyConfig]:
    train = TrainConfig(
        dataset=cfg.dataset, output=cfg.output, **OmegaConf.to_container(cfg.train, resolve=True)
    )
    policy = PolicyConfig(
        backbone=cfg.backbone.name,
        num_layers=cfg.backbone.num_layers,
        dtype=cfg.backbone.dtype,
        backbone_init=cfg.backbone.get("init", "pretrained"),
        **OmegaConf.to_container(cfg.policy, resolve=True),
    )
    return train, policy


def run(cfg) -> int:
    import torch

    train, policy = configs(cfg)
    mismatch = collection_record.recipe_mismatch(train.dataset, cfg)
    if mismatch:
        print(f"vla train: note: {mismatch}", file=sys.stderr)
    try:
        metrics = engines.run(train, policy)
    except torch.OutOfMemoryError:
        micro = train.batch_size // train.grad_accum
        raise ValueError(
            f"out of memory at {micro} samples per micro-batch: lower train.batch_size, or keep it and "
            f"raise train.grad_accum (e.g. train.grad_accum={train.grad_accum * 2}); backbone.num_layers "
            "and policy.image_size also cut memory"
        ) from None
    print(f"checkpoint: {train.output}/policy  (metrics in {train.output}/metrics.jsonl)")
    if "val_loss" in metrics:
        print(f"final val_loss {metrics['val_loss']:.4f}")
    return 0
