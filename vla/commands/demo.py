"""`vla demo`: the main job on embedded defaults.

Until a trained checkpoint ships (the evaluation issue), the demo shows the stack's working
parts end to end: versions and the embedded backbone answering, the registered worlds, and one
scripted-expert episode per robot recorded as a video (front and wrist cameras side by side).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vla.commands import info


def write_video(images: dict, fps: float, path: Path) -> Path:
    """Cameras side by side (sorted by name: front, wrist) as an mp4."""
    import imageio.v3 as iio

    video = np.concatenate(
        [np.stack(images[c]) for c in sorted(images)], axis=2
    )  # (T, H, cams*W, 3)
    iio.imwrite(path, video, fps=int(fps), codec="libx264", macro_block_size=1)
    return path


def record_expert_episode(
    robot: str, task: str, seed: int, size: int, out: Path
) -> tuple[bool, Path]:
    from vla import rollout
    from vla.envs.tabletop_env import TabletopEnv

    env = TabletopEnv(robot=robot, task=task, image_size=size)
    result = rollout.run_episode(env, env.expert(), seed, record=True)
    path = write_video(
        result["frames"]["images"], result["fps"], out / f"{robot}_{task}_seed{seed}.mp4"
    )
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
