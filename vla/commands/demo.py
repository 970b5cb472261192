"""`vla demo`: the main job on embedded defaults, end to end.

1. versions, device, the embedded backbone answering, the registered worlds (`vla info`);
2. the policy: the checkpoint that ships in the repo, or, when none does, a small dataset
   collected with Ray and a small policy trained on it here;
3. `vla eval` of that policy across robots with Ray (report, chart, videos), and the scripted
   expert through the same path as the reference rows.
"""

from __future__ import annotations

from pathlib import Path

from vla.commands import info


def train_small_policy(cfg, out: Path) -> Path:
    """No shipped checkpoint: collect a small dataset and train the CPU recipe on it, composed
    from the same configs `vla train policy=chunk_cpu train=cpu` reads (one definition)."""
    from hydra import compose
    from omegaconf import OmegaConf

    from vla.commands import train as train_cmd
    from vla.datasets.collect import CollectConfig, collect
    from vla.training import engines

    data = out / "dataset"
    print(
        f"no checkpoint at {cfg.checkpoint}: collecting {cfg.collect_episodes} expert episodes per robot x task"
    )
    collected = compose(  # the recipe's data, as `vla collect recipe=chunk_cpu` collects it
        "collect",
        overrides=[
            "recipe=chunk_cpu",
            f"robots=[{','.join(cfg.robots)}]",
            f"tasks=[{','.join(cfg.tasks)}]",
            f"episodes={cfg.collect_episodes}",
            f"output={data}",
            f"workers={cfg.workers}",
            f"image_size={cfg.image_size}",
            "progress=false",
        ],
    )
    collect(CollectConfig(**OmegaConf.to_container(collected, resolve=True)))
    import ray

    ray.shutdown()  # training runs in this process; evaluation starts its own Ray
    composed = compose(
        "train",
        overrides=[
            "policy=chunk_cpu",
            "train=cpu",
            f"backbone.name={cfg.backbone.name}",
            f"backbone.num_layers={cfg.num_layers}",
            f"policy.image_size={cfg.image_size}",
            f"train.steps={cfg.train_steps}",
            f"train.batch_size={cfg.train_batch_size}",
            f"train.val_every={max(1, cfg.train_steps // 2)}",
            f"train.save_every={cfg.train_steps}",
            f"train.log_every={max(1, cfg.train_steps // 10)}",
            f"dataset={data}",
            f"output={out / 'train'}",
        ],
    )
    train, policy = train_cmd.configs(composed)
    print(f"training a {cfg.num_layers}-layer policy for {cfg.train_steps} steps on {data}")
    engines.run(train, policy)
    return out / "train" / "policy"


def run(cfg) -> int:
    import ray

    from vla.evaluation.evaluate import EvalConfig, evaluate

    info.run(cfg)
    out = Path(cfg.output)
    checkpoint = Path(cfg.checkpoint)
    if not (checkpoint / "config.json").is_file():
        checkpoint = train_small_policy(cfg, out)
    print(f"evaluating {checkpoint} on {list(cfg.robots)} x {list(cfg.tasks)} with Ray")
    common = dict(
        robots=list(cfg.robots), tasks=list(cfg.tasks), workers=cfg.workers, progress=False
    )
    policy = evaluate(
        EvalConfig(
            policy_path=str(checkpoint),
            episodes=cfg.eval_episodes,
            output=str(out / "eval"),
            image_size=cfg.image_size,
            **common,
        )
    )
    expert = evaluate(
        EvalConfig(
            policy_path="expert",
            episodes=cfg.expert_episodes,
            output=str(out / "eval_expert"),
            language_checks=False,
            videos=1,
            image_size=cfg.image_size,
            **common,
        )
    )
    ray.shutdown()
    print("success (mean over robot x task cells):")
    for condition, block in policy["conditions"].items():
        print(
            f"  policy  {condition:<9} {100 * block['mean_success']:5.1f}%  ({block['episodes']} episodes)"
        )
    print(
        f"  expert  {'train':<9} {100 * expert['conditions']['train']['mean_success']:5.1f}%  "
        f"({expert['conditions']['train']['episodes']} episodes)"
    )
    print(
        f"results: {out / 'eval'}/results.md, results.json, chart.png, videos/  (expert: {out / 'eval_expert'})"
    )
    return 0
