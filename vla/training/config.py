"""Training settings: a typed dataclass, validated on construction. Each setting's default is
defined here only: vla/commands/config_store.py stores them as Hydra's `train/base`, and the choices in
configs/train/ list only what they change."""

from __future__ import annotations

from dataclasses import dataclass

ENGINES = ("single", "ray")


@dataclass
class TrainConfig:
    dataset: str
    output: str
    steps: int = 1000
    batch_size: int = 32  # global batch per optimiser step (split over processes)
    grad_accum: int = 1  # micro-batches per optimiser step
    lr: float = 3e-4
    weight_decay: float = 0.01
    warmup_steps: int = 50
    min_lr_ratio: float = 0.1  # cosine decays to lr x this
    clip_grad: float = 1.0
    val_fraction: float = 0.1
    val_every: int = 100
    val_batches: int = 4
    log_every: int = 10
    save_every: int = 200
    keep_last: int = 3
    seed: int = 0
    workers: int = 2  # DataLoader worker processes (per training process)
    augment: bool = True
    # train on only the first N demonstrations (by seed) of each robot and task: the
    # number-of-demonstrations lever; None: all of them
    episodes_per_task: int | None = None
    device: str = "auto"  # auto | cpu | cuda
    # bf16 autocast on CUDA and on CPUs that multiply bf16 natively (avx512_bf16, AMX): on the
    # 2-core EPYC `vla train` ran 1.34x faster and reached a lower validation loss in the same
    # wall time (docs/results.md, "bf16 autocast for CPU training")
    amp: bool = True
    compile: bool = False  # torch.compile the backbone
    engine: str = "single"  # single | ray (Ray Train TorchTrainer, DDP)
    num_workers: int = 2  # training processes with engine=ray
    use_gpu: bool = False  # Ray Train workers on GPUs
    resume: bool = True  # continue from output/checkpoints/LATEST when present
    tensorboard: bool = True

    def __post_init__(self):
        from vla.suggest import unknown

        if self.engine not in ENGINES:
            raise ValueError(unknown("train.engine", self.engine, ENGINES))
        for name in (
            "steps",
            "batch_size",
            "grad_accum",
            "log_every",
            "save_every",
            "keep_last",
            "val_every",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be at least 1, got {getattr(self, name)}")
        if self.episodes_per_task is not None and self.episodes_per_task < 1:
            raise ValueError(
                f"train.episodes_per_task must be at least 1 (or null for all), got {self.episodes_per_task}"
            )
        if self.batch_size % self.grad_accum:
            raise ValueError(
                f"train.batch_size {self.batch_size} must be a multiple of train.grad_accum {self.grad_accum}"
            )
        if not 0 < self.val_fraction < 1:
            raise ValueError("train.val_fraction must be between 0 and 1")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"train.device must be auto, cpu or cuda, got {self.device!r}")
