"""Where the training loop runs: in this process, or scaled out by Ray Train (TorchTrainer,
DDP over gloo on CPUs or NCCL on GPUs). Same loop either way; one config switch."""

from __future__ import annotations

from pathlib import Path

from vla.training.config import TrainConfig
from vla.training.trainer import train_loop


def run(cfg: TrainConfig, policy_cfg) -> dict:
    if cfg.engine == "single":
        return train_loop(cfg, policy_cfg)
    return run_ray(cfg, policy_cfg)


def run_ray(cfg: TrainConfig, policy_cfg) -> dict:
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    def worker(config: dict) -> None:
        import ray.train
        import ray.train.torch

        context = ray.train.get_context()

        def wrap(model):
            # Robots absent from a batch leave their heads without gradients: allow that.
            return ray.train.torch.prepare_model(
                model, parallel_strategy_kwargs={"find_unused_parameters": True}
            )

        def report(metrics, step):
            ray.train.report(
                {"step": step, **{k: v for k, v in metrics.items() if isinstance(v, (int, float))}}
            )

        train_loop(
            config["cfg"],
            config["policy_cfg"],
            rank=context.get_world_rank(),
            world_size=context.get_world_size(),
            wrap=wrap,
            report=report,
        )

    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=True)
    trainer = TorchTrainer(
        worker,
        train_loop_config={"cfg": cfg, "policy_cfg": policy_cfg},
        scaling_config=ScalingConfig(num_workers=cfg.num_workers, use_gpu=cfg.use_gpu),
        run_config=RunConfig(
            storage_path=str((Path(cfg.output) / "ray").resolve()),
            name="train",
        ),
    )
    result = trainer.fit()
    return dict(result.metrics or {})
