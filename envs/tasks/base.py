"""What a task is: a layout to sample, an instruction to fill in, a success test, an expert plan.

Tasks see the world through `TableView` (positions of cubes, receptacles, the TCP), so one task
works on every robot. A new task is one module plus one line in `vla.envs.tasks.registry`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from vla.envs.scene import CUBE_COLORS

Position = np.ndarray | Callable[[], np.ndarray]


@dataclass
class Waypoint:
    """A TCP target for the scripted expert; `pos` may be re-evaluated every step (closed loop)."""

    pos: Position
    grip: float  # gripper command held on the way (1 = closed)
    yaw: float
    tol: float = 0.012
    hold: int = 0  # steps to stay once reached (e.g. while the fingers close)
    # end the hold as soon as the fingers stop moving: a pause the observation cannot see (same
    # state, frame after frame) is a pause no policy can learn to end
    settle: bool = False
    speed: float | None = None  # m/s; None uses the robot's max_speed
    # a point on the way that the expert may round (ScriptedExpert's blend) instead of
    # stopping at it: nothing is done there and nothing near it needs precision
    corner: bool = False
    # what must hold when the expert moves on from here (the cube between the fingers after a
    # close); with ScriptedExpert's regrasp on, a miss makes it plan the task again from where
    # things are, so the demonstrations show a recovery
    requires: Callable[[], bool] | None = None


@dataclass
class Episode:
    """What `sample` chose for one episode: the target and where everything goes."""

    target: str  # cube colour
    receptacle: str | None = None
    placements: dict[str, tuple[float, float, float]] = field(
        default_factory=dict
    )  # name -> (x, y, yaw)

    @property
    def target_name(self) -> str:
        return f"{self.target} cube"


class Task:
    name: str = ""
    max_steps: int = 100
    relevant: tuple[str, ...] = ("target",)  # objects that must be inside the robot's reach

    def sample(self, rng: np.random.Generator) -> Episode:
        return Episode(target=str(rng.choice(list(CUBE_COLORS))))

    def slots(self, episode: Episode) -> dict[str, str]:
        return {"obj": episode.target_name, "color": episode.target}

    def success(self, view) -> bool:
        raise NotImplementedError

    def plan(self, view) -> list[Waypoint]:
        raise NotImplementedError


def grasp_yaw(cube_yaw: float, home_yaw: float) -> float:
    """The yaw, among the cube's four symmetric ones, closest to the robot's home yaw."""
    k = np.round((home_yaw - cube_yaw) / (np.pi / 2))
    return float(cube_yaw + k * np.pi / 2)


def pick(view, carry_grip: float = 1.0) -> list[Waypoint]:
    """Waypoints that grasp the target cube from above and lift it to carrying height."""
    robot = view.robot
    cube = view.cube_pos(view.episode.target)
    yaw = grasp_yaw(view.cube_yaw(view.episode.target), robot.home_yaw)
    above = cube + [0, 0, robot.home_height - cube[2]]
    grasp = np.array([cube[0], cube[1], view.grasp_height])
    target = view.episode.target

    def held() -> bool:
        return view.grasping(target)

    return [
        Waypoint(above, grip=0.0, yaw=yaw, corner=True),
        Waypoint(grasp, grip=0.0, yaw=yaw, tol=0.006, speed=robot.max_speed * 0.5),
        Waypoint(grasp, grip=carry_grip, yaw=yaw, hold=6, settle=True, requires=held),
        Waypoint(above, grip=carry_grip, yaw=yaw, corner=True, requires=held),
    ]
