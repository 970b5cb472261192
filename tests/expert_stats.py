"""Embodiment schemas and normalisation stats from one scripted-expert episode per robot: what
an untrained test policy needs to be built and saved (the plumbing, not the skill)."""

from vla.datasets.meta import array_stats
from vla.envs.tabletop_env import TabletopEnv
from vla.rollout import run_episode


def schemas_and_stats(robots, control: str = "joint") -> tuple[dict, dict]:
    schemas, stats = {}, {}
    for robot in robots:
        env = TabletopEnv(robot=robot, task="reach", image_obs=False, control=control)
        rec = run_episode(env, env.expert(), seed=0, record=True)
        schemas[robot] = env.embodiment
        stats[robot] = {
            "observation.state": array_stats(rec["frames"]["state"]),
            "action": array_stats(rec["frames"]["action"]),
        }
    return schemas, stats
