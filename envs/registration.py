"""Gymnasium ids `vla/<Task>-<Robot>-v0` for every tabletop task x robot and
`vla/MetaWorld-<task>-v0` for every Meta-World task, registered lazily.

Importing this module registers them (the env classes load only on `gym.make`). Gymnasium can
import it for you: `gym.make("vla.envs.registration:vla/Lift-Panda-v0")`. (`vla.envs` itself is
a namespace portion with no `__init__.py`, see docs/architecture.md, so it cannot register on
import.)
"""

from __future__ import annotations

import gymnasium

from vla.envs.metaworld_language import TASKS as METAWORLD_TASKS
from vla.envs.robots.registry import ROBOTS
from vla.envs.tasks.registry import TASKS

ENTRY_POINT = "vla.envs.tabletop_env:TabletopEnv"
METAWORLD_ENTRY_POINT = "vla.envs.metaworld_env:MetaWorldEnv"
TITLES = {"so101": "SO101", "ur5e": "UR5e"}  # how a robot's name reads inside an env id


def env_id(task: str, robot: str) -> str:
    return f"vla/{task.capitalize()}-{TITLES.get(robot, robot.capitalize())}-v0"


def all_ids() -> dict[str, tuple[str, str]]:
    """env id -> (task, robot)."""
    return {env_id(t, r): (t, r) for t in TASKS for r in ROBOTS}


def check_cells(robots: list[str], tasks: list[str]) -> None:
    """ValueError naming the valid choices for any unknown robot or task."""
    from vla.suggest import unknown

    for r in robots:
        if r not in ROBOTS:
            raise ValueError(unknown("robot", r, ROBOTS))
    for t in tasks:
        if t not in TASKS:
            raise ValueError(unknown("task", t, TASKS))


def metaworld_id(task: str) -> str:
    return f"vla/MetaWorld-{task}-v0"


def register_all() -> list[str]:
    ids = all_ids()
    for id_, (task, robot) in ids.items():
        if id_ not in gymnasium.registry:
            gymnasium.register(
                id=id_, entry_point=ENTRY_POINT, kwargs={"robot": robot, "task": task}
            )
    for task in METAWORLD_TASKS:
        if metaworld_id(task) not in gymnasium.registry:
            gymnasium.register(
                id=metaworld_id(task), entry_point=METAWORLD_ENTRY_POINT, kwargs={"task": task}
            )
    return [*ids, *(metaworld_id(t) for t in METAWORLD_TASKS)]


register_all()
