"""`vla run`: one episode from an instruction, with a video and the success printed."""

from __future__ import annotations

from pathlib import Path

from vla.envs.language import parse_instruction
from vla.video import write_video


def run(cfg) -> int:
    from vla import rollout
    from vla.envs.tabletop_env import TabletopEnv

    parsed = parse_instruction(cfg.instruction)
    policy = None
    if str(cfg.policy.path) != "expert":
        from vla.policies.vla_policy import VLAPolicy

        policy = VLAPolicy.from_pretrained(cfg.policy.path)
    size = cfg.image_size or (policy.config.image_size if policy else 128)
    control = "joint"
    if policy is not None and cfg.robot in policy.schemas:  # drive the arm as it was trained to
        from vla.embodiment import control_of

        control = control_of(policy.schemas[cfg.robot].to_dict())
    env = TabletopEnv(robot=cfg.robot, task=parsed["task"], image_size=size, control=control)
    options = {"instruction": cfg.instruction, "target": parsed["target"]}
    if parsed["receptacle"]:
        options["receptacle"] = parsed["receptacle"]
    if policy is None:
        act = env.expert()
    else:
        policy.check_embodiment(env.embodiment)
        policy.reset()

        def act(obs):
            return policy.select_action(obs, cfg.robot)

    result = rollout.run_episode(env, act, cfg.seed, options, record=True)
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    path = write_video(
        result["frames"]["images"],
        result["fps"],
        out / f"{cfg.robot}_{parsed['task']}_seed{cfg.seed}.mp4",
    )
    env.close()
    print(
        f"{cfg.robot} | {parsed['task']} ({parsed['target']} cube{', ' + parsed['receptacle'] if parsed['receptacle'] else ''}) | "
        f'"{cfg.instruction}" | success={result["success"]} after {result["length"]} steps'
    )
    print(f"video: {path}")
    return 0 if result["success"] else 1
