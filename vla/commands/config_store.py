"""One definition per setting: every option of every command is defined once, in its dataclass,
with its default and its comment. Hydra gets those defaults from here, as ConfigStore nodes, and
the YAML files in configs/ hold only what a command or a choice changes on top of them:

  node                     built from                                      read by
  policy/base              PolicyConfig (policies/configuration.py),       configs/policy/*.yaml
                           less the backbone group's fields
  train/base               TrainConfig (vla/training/config.py), less      configs/train/*.yaml
                           dataset and output (train.yaml's top level)
  collect_base             CollectConfig (vla/datasets/collect.py)         configs/collect.yaml
  eval_base                EvalConfig (vla/evaluation/evaluate.py)         configs/eval.yaml
  run_base                 RunConfig (vla/commands/run.py)                 configs/run.yaml
  serve_base               ServeConfig (vla/commands/serve.py)             configs/serve.yaml
  info_base, demo_base     InfoConfig, DemoConfig (vla/commands/info.py,   configs/info.yaml,
                           vla/commands/demo.py)                           configs/demo.yaml
  benchmark_base           BenchmarkConfig (vla/commands/benchmark.py)     configs/benchmark.yaml

A field without a default (what a Python caller must name, such as CollectConfig.tasks) is not
in its node: the command's YAML gives the command line's value. A field named in `NESTED` is
written under another key on the command line (`policy.path=` is EvalConfig.policy_path).
"""

from __future__ import annotations

import dataclasses

# options the backbone group sets (configs/backbone/), not the policy group
BACKBONE_FIELDS = ("backbone", "num_layers", "dtype", "backbone_init")

# dataclass field -> (key, subkey): where the command line writes it
NESTED = {"policy_path": ("policy", "path")}


def policy_defaults() -> dict:
    from vla.policies.configuration import PolicyConfig

    values = PolicyConfig().to_dict()  # the form a saved config has: lists, plain dicts
    return {k: v for k, v in values.items() if k not in BACKBONE_FIELDS}


def _plain(value):
    if dataclasses.is_dataclass(value):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def field_defaults(cls) -> dict:
    """The defaults of a dataclass's init fields as a plain dict (nested dataclasses as dicts),
    fields in `NESTED` under their command-line key; fields without a default are left out."""
    out: dict = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            continue  # required: the command's YAML names it
        if f.name in NESTED:
            root, leaf = NESTED[f.name]
            out.setdefault(root, {})[leaf] = _plain(value)
        else:
            out[f.name] = _plain(value)
    return out


# What a recipe (configs/recipe/) gives `vla train`; `vla collect recipe=X` composes them too
# and leaves them alone.
TRAINING_PARTS = ("policy", "train", "backbone")


def build(cls, cfg, ignore: tuple[str, ...] = (), **given):
    """`cls` from a composed command config: fields in `NESTED` read from their command-line
    key, `given` on top. A key that is neither a field nor in `ignore` is refused, so that a
    mistyped key in a YAML file cannot pass unread."""
    from omegaconf import DictConfig, OmegaConf

    values = dict(OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    kwargs = {}
    for name in names:
        if name in NESTED:
            root, leaf = NESTED[name]
            node = values.pop(root, {})
            if leaf in node:
                kwargs[name] = node.pop(leaf)
            if node:
                raise ValueError(f"{root} has no {sorted(node)}: it takes {root}.{leaf} only")
        elif name in values:
            kwargs[name] = values.pop(name)
    extra = sorted(k for k in values if k not in ignore and k not in given)
    if extra:
        from vla.suggest import did_you_mean

        raise ValueError(
            f"{cls.__name__} has no setting {extra[0]!r}.{did_you_mean(extra[0], names)}"
        )
    kwargs.update(given)
    return cls(**kwargs)


def command_configs() -> dict:
    """Command name -> the dataclass that defines its settings."""
    from vla.commands.benchmark import BenchmarkConfig
    from vla.commands.demo import DemoConfig
    from vla.commands.info import InfoConfig
    from vla.commands.run import RunConfig
    from vla.commands.serve import ServeConfig
    from vla.datasets.collect import CollectConfig
    from vla.evaluation.evaluate import EvalConfig

    return {
        "collect": CollectConfig,
        "eval": EvalConfig,
        "run": RunConfig,
        "serve": ServeConfig,
        "info": InfoConfig,
        "demo": DemoConfig,
        "benchmark": BenchmarkConfig,
    }


def train_defaults() -> dict:
    from vla.training.config import TrainConfig

    return field_defaults(TrainConfig)  # dataset and output have none: train.yaml's top level


def register() -> None:
    """Stores every node above in Hydra's ConfigStore; call before composing (idempotent)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    store.store(group="policy", name="base", node=policy_defaults())
    store.store(group="train", name="base", node=train_defaults())
    for command, cls in command_configs().items():
        store.store(name=f"{command}_base", node=field_defaults(cls))
