"""`vla demo`: the main job on embedded defaults.

Until a trained checkpoint ships (the evaluation issue), the demo shows the stack's working
parts end to end: versions and the embedded backbone answering, the registered worlds, and one
scripted-expert episode per robot recorded as a video (front and wrist cameras side by side).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vla.commands import info


def record_expert_episode(
    robot: str, task: str, seed: int, size: int, out: Path
) -> tuple[bool, Path]:
    import imageio.v3 as iio

    from vla import rollout
    from vla.envs.tabletop_env import TabletopEnv

    env = TabletopEnv(robot=robot, task=task, image_size=size)
    result = rollout.run_episode(env, env.expert(), seed, record=True)
    frames = result["frames"]["images"]
    video = np.concatenate(
        [np.stack(frames["front"]), np.stack(frames["wrist"])], axis=2
    )  # (T, H, 2W, 3)
    path = out / f"{robot}_{task}_seed{seed}.mp4"
    iio.imwrite(path, video, fps=int(result["fps"]), codec="libx264", macro_block_size=1)
    env.close()
    return result["success"], path


def run(cfg) -> int:
    code = info.run(cfg)
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    print(f"scripted-expert episodes ({cfg.task}), videos in {out}/")
    for robot in cfg.robots:
        success, path = record_expert_episode(robot, cfg.task, cfg.seed, cfg.image_size, out)
        print(f"  {robot:<7} success={success}  {path}")
    return code
