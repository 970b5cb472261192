"""`vla demo`: the main job on embedded defaults, end to end.

1. versions, device, the embedded backbone answering, the registered worlds (`vla info`);
2. the policy: the checkpoint that ships in the repo, or, when none does, a small dataset
   collected with Ray and a small policy trained on it here;
3. `vla eval` of that policy across robots with Ray (report, chart, videos), and the scripted
   expert through the same path as the reference rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vla.commands import info


@dataclass
class DemoConfig(info.InfoConfig):
    """`vla demo`'s settings: `vla info`'s, then the policy evaluated (or trained first)."""

    # a shipped policy (adapters and heads); collected for and trained when missing
    checkpoint: str = "checkpoints/demo"
    output: str = "outputs/demo"
    robots: list[str] = field(default_factory=lambda: ["ur5e", "sawyer"])
    tasks: list[str] = field(default_factory=lambda: ["reach", "lift"])
    image_size: int = 64  # camera images collected, trained on and evaluated
    workers: int = 2  # Ray actors
    # used only when no checkpoint ships: a recipe (configs/recipe/) collected and trained as
    # `vla collect recipe=...` and `vla train recipe=...` do, smaller
    fallback_recipe: str = "chunk_cpu"
    collect_episodes: int = 20  # expert episodes per robot x task
    train_steps: int = 300
    train_batch_size: int = 16
    num_layers: int | None = None  # backbone layers kept; None: the recipe's
    # evaluation:
    eval_episodes: int = 20  # per robot x task and condition
    expert_episodes: int = 5  # the scripted-expert reference rows


def train_small_policy(cfg, out: Path) -> Path:
    """No shipped checkpoint: collect a small dataset and train `fallback_recipe` on it, composed
    from the one file `vla collect recipe=...` and `vla train recipe=...` read."""
    from hydra import compose

    from vla.commands import train as train_cmd
    from vla.commands.config_store import TRAINING_PARTS, build
    from vla.datasets.collect import CollectConfig, collect
    from vla.training import engines

    data = out / "dataset"
    print(
        f"no checkpoint at {cfg.checkpoint}: collecting {cfg.collect_episodes} expert episodes per robot x task"
    )
    collected = compose(  # the recipe's data, as `vla collect recipe=...` collects it
        "collect",
        overrides=[
            f"recipe={cfg.fallback_recipe}",
            f"robots=[{','.join(cfg.robots)}]",
            f"tasks=[{','.join(cfg.tasks)}]",
            f"episodes={cfg.collect_episodes}",
            f"output={data}",
            f"workers={cfg.workers}",
            f"image_size={cfg.image_size}",
            "progress=false",
        ],
    )
    collect(build(CollectConfig, collected, ignore=TRAINING_PARTS))
    import ray

    ray.shutdown()  # training runs in this process; evaluation starts its own Ray
    layers = [] if cfg.num_layers is None else [f"backbone.num_layers={cfg.num_layers}"]
    composed = compose(  # the recipe's policy, training settings and backbone layers
        "train",
        overrides=[
            f"recipe={cfg.fallback_recipe}",
            f"backbone.name={cfg.backbone.name}",
            *layers,
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
    print(
        f"training recipe={cfg.fallback_recipe} ({policy.num_layers} backbone layers) for "
        f"{cfg.train_steps} steps on {data}"
    )
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
