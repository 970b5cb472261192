"""Reach: touch the named cube from above with the closed gripper."""

import numpy as np

from vla.envs.tasks.base import Task, Waypoint

TOUCH_RADIUS = 0.03  # TCP distance from the point just above the cube's top face


class Reach(Task):
    name = "reach"
    max_steps = 40

    def _touch_point(self, view) -> np.ndarray:
        return view.cube_pos(view.episode.target) + [0, 0, view.robot.cube_half + 0.012]

    def success(self, view) -> bool:
        return bool(np.linalg.norm(view.tcp() - self._touch_point(view)) < TOUCH_RADIUS)

    def plan(self, view):
        robot = view.robot
        touch = self._touch_point(view)
        above = touch + [0, 0, robot.home_height - touch[2]]
        return [
            Waypoint(above, grip=1.0, yaw=robot.home_yaw, corner=True),
            Waypoint(touch, grip=1.0, yaw=robot.home_yaw, tol=0.008, hold=3),
        ]
