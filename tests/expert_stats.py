"""Embodiment schemas and normalisation stats from one scripted-expert episode per robot: what
an untrained test policy needs to be built and saved (the plumbing, not the skill)."""

from vla.datasets.relative_stats import KEY, chunk_deltas
from vla.datasets.statistics import array_stats
from vla.envs.tabletop_env import TabletopEnv
from vla.rollout import run_episode


def schemas_and_stats(robots, control: str = "joint", horizon: int | None = None):
    """(schemas, stats) per robot; with `horizon`, the relative-chunk stats too."""
    schemas, stats = {}, {}
    for robot in robots:
        env = TabletopEnv(robot=robot, task="reach", image_obs=False, control=control)
        rec = run_episode(env, env.expert(), seed=0, record=True)
        schemas[robot] = env.embodiment
        stats[robot] = {
            "observation.state": array_stats(rec["frames"]["state"]),
            "action": array_stats(rec["frames"]["action"]),
        }
        if horizon is not None:
            deltas = chunk_deltas(rec["frames"]["state"], rec["frames"]["action"], horizon)
            stats[robot][KEY] = {**array_stats(deltas), "horizon": horizon}
    return schemas, stats
