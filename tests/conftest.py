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


# CPUs the shared Ray claims: evaluation's 2 env workers plus its policy server's slot (a
# 2-core box oversubscribes a little, as `vla eval workers=2` does there).
RAY_CPUS = 3


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray for the whole run, started by the first test that needs it and stopped at
    the end: collection, evaluation and the actor pool find it running (they start their own
    only when none is), instead of each module paying a start and a stop (~5 s on 2 cores).
    Tests that need a Ray of their own run it in a subprocess (the `vla` CLI tests)."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=RAY_CPUS, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


DATASET_ROBOTS, DATASET_TASKS, DATASET_EPISODES = ["sawyer", "ur5e"], ["reach", "lift"], 10


@pytest.fixture(scope="session")
def dataset(tmp_path_factory, ray_cluster):
    """2 robots x 2 tasks x 10 expert episodes at 32 px, collected once with the shared Ray."""
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
    return root, summary


@pytest.fixture(scope="session")
def sentence_encoders():
    """`get(layers, span=1)`: the SentenceEncoder over smollm2-135m's first `layers` layers, built
    once per arguments for the whole run and kept with its cache of encoded sentences, so tests
    that read the deep layers' vectors of the same sentences encode each once (through 28 layers
    a sentence costs ~0.1-0.2 s on 2 cores). A test that counts encodings needs its own encoder."""
    from vla.policies.sentence_encoder import SentenceEncoder

    made = {}

    def get(layers: int, span: int = 1):
        if (layers, span) not in made:
            made[layers, span] = SentenceEncoder("smollm2-135m", layers=layers, span=span)
        return made[layers, span]

    return get


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
