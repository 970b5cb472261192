"""`vla info`: what is installed, which device, the backbone as loaded, registered robots and tasks."""

from __future__ import annotations

import importlib.metadata
import platform
from dataclasses import dataclass

from omegaconf import OmegaConf

from vla import backbone as backbone_lib


@dataclass
class InfoConfig:
    """`vla info`'s settings; the backbone is the `backbone` config group's (configs/backbone/)."""

    prompt: str = "What is a robot arm? Answer in one sentence."  # asked of the backbone
    max_new_tokens: int = 32
    load_backbone: bool = True  # false skips the model (fast listing of versions, robots and tasks)


PACKAGES = (
    "torch",
    "transformers",
    "tokenizers",
    "gymnasium",
    "mujoco",
    "ray",
    "hydra-core",
    "peft",
)


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def device_line() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)}, {torch.cuda.device_count()} device(s))"
    return f"cpu ({torch.get_num_threads()} threads)"


def registered_envs() -> list[str]:
    """Gymnasium ids in the `vla/` namespace, with what each robot is."""
    import gymnasium

    from vla import suites
    from vla.envs import registration
    from vla.envs.robots.registry import ROBOTS
    from vla.envs.tasks.registry import TASKS

    registration.register_all()
    lines = [
        f"suite {name}: robots {', '.join(suite.robots)}; {len(suite.tasks)} tasks"
        + (f"; groups {', '.join(suite.groups)}" if suite.groups else "")
        for name, suite in ((n, suites.get(n)) for n in suites.FACTORIES)
    ]
    lines += [f"tasks: {', '.join(TASKS)}", f"robots: {', '.join(ROBOTS)}"]
    lines += [f"  {name:<7} {robot.description}" for name, robot in ROBOTS.items()]
    lines += sorted(env_id for env_id in gymnasium.registry if env_id.startswith("vla/"))
    return lines


def describe_backbone(cfg) -> list[str]:
    bb = backbone_lib.load(backbone_lib.BackboneConfig(**OmegaConf.to_container(cfg.backbone)))
    conf = bb.model.config
    params = sum(p.numel() for p in bb.model.parameters())
    answer = backbone_lib.chat(bb, cfg.prompt, max_new_tokens=cfg.max_new_tokens)
    return [
        f"  name          {cfg.backbone.name}",
        f"  loaded from   {bb.source}",
        f"  load time     {bb.load_seconds:.2f} s",
        f"  architecture  {conf.model_type}, hidden size {conf.hidden_size}, {conf.num_hidden_layers} layers, "
        f"{params / 1e6:.1f}M parameters, {bb.model.dtype}",
        f"  content hash  {bb.content_hash or 'unknown (not an embedded backbone)'}",
        f"  prompt        {cfg.prompt}",
        f"  answer        {answer}",
    ]


def run(cfg) -> int:
    print("vla info")
    for name, version in versions().items():
        print(f"  {name:<13} {version}")
    print(f"  device        {device_line()}")
    if cfg.load_backbone:
        print("backbone")
        for line in describe_backbone(cfg):
            print(line)
    lines = registered_envs()
    ids = [line for line in lines if line.startswith("vla/")]
    print(f"environments ({len(ids)} registered: vla/<Task>-<Robot>-v0, vla/MetaWorld-<task>-v0)")
    for line in lines:
        print(f"  {line}")
    return 0
