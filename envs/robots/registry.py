"""Name -> robot definition. A new robot is one module plus one line here."""

from vla.envs.robots.base import RobotDefinition
from vla.envs.robots.panda import PANDA
from vla.envs.robots.sawyer import SAWYER
from vla.envs.robots.so101 import SO101
from vla.envs.robots.ur5e import UR5E
from vla.suggest import unknown

ROBOTS: dict[str, RobotDefinition] = {r.name: r for r in (SO101, PANDA, UR5E, SAWYER)}


def get(name: str) -> RobotDefinition:
    if name not in ROBOTS:
        raise KeyError(unknown("robot", name, ROBOTS))
    return ROBOTS[name]
