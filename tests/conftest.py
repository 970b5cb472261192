"""Shared test settings: headless rendering, no hub access, a repo-root path for subprocess tests."""

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def vla_exe() -> str:
    exe = VENV_BIN / "vla"
    assert exe.exists(), (
        f"the vla console script is not installed beside {sys.executable}; run `make setup`"
    )
    return str(exe)


DATASET_ROBOTS, DATASET_TASKS, DATASET_EPISODES = ["sawyer", "ur5e"], ["reach", "lift"], 10


@pytest.fixture(scope="session")
def dataset(tmp_path_factory):
    """2 robots x 2 tasks x 10 expert episodes at 32 px, collected once with Ray."""
    import ray

    from vla.datasets.collect import CollectConfig, collect

    root = tmp_path_factory.mktemp("ds") / "demo"
    cfg = CollectConfig(
        robots=DATASET_ROBOTS,
        tasks=DATASET_TASKS,
        episodes=DATASET_EPISODES,
        output=str(root),
        workers=2,
        image_size=32,
        progress=False,
    )
    summary = collect(cfg)
    ray.shutdown()
    return root, summary


POLICY_DEMO_SIZE = 32


@pytest.fixture(scope="session")
def demos():
    """One expert lift episode per robot at 32 px, recorded in memory: schemas, stats and real
    frames for the policy tests."""
    from vla.envs.robots.registry import ROBOTS
    from vla.envs.tabletop_env import TabletopEnv
    from vla.rollout import run_episode

    out = {}
    for robot in ROBOTS:
        env = TabletopEnv(robot=robot, task="lift", image_size=POLICY_DEMO_SIZE)
        record = run_episode(env, env.expert(), seed=0, record=True)
        out[robot] = (env.embodiment, record)
        env.close()
    return out
