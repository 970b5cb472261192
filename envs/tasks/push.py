"""Push: slide the named cube onto the orange mark without lifting it."""

import numpy as np

from vla.envs.tasks.base import Task, Waypoint

ON_MARK = 0.03  # cube centre within this of the mark's centre
MARK_PHRASE = "orange mark"


class Push(Task):
    name = "push"
    max_steps = 100
    relevant = ("target", "mark")

    def slots(self, episode):
        return {"obj": episode.target_name, "mark": MARK_PHRASE}

    def success(self, view) -> bool:
        cube = view.cube_pos(view.episode.target)
        mark = view.fixture_pos("mark")
        return bool(
            np.linalg.norm(cube[:2] - mark[:2]) < ON_MARK and cube[2] < view.robot.cube_half + 0.01
        )

    def plan(self, view):
        robot = view.robot
        target = view.episode.target
        mark = view.fixture_pos("mark")[:2]
        low = view.push_height
        offset = robot.cube_half + 0.025  # TCP distance behind the cube's centre

        def direction():
            d = mark - view.cube_pos(target)[:2]
            return d / max(np.linalg.norm(d), 1e-6)

        start_cube = view.cube_pos(target)[:2]
        d0 = direction()
        approach = np.r_[start_cube - d0 * offset, robot.home_height]
        touch = np.r_[start_cube - d0 * offset, low]

        def pushing():
            # Aim behind the cube's current centre on the line to the mark, a little ahead:
            # lateral drift is corrected and the cube is driven onto the mark.
            cube = view.cube_pos(target)[:2]
            d = direction()
            ahead = min(np.linalg.norm(mark - cube), 0.03)
            return np.r_[cube - d * (offset - 0.004) + d * ahead, low]

        return [
            Waypoint(approach, grip=1.0, yaw=robot.home_yaw),
            Waypoint(touch, grip=1.0, yaw=robot.home_yaw, speed=robot.max_speed * 0.5),
            Waypoint(pushing, grip=1.0, yaw=robot.home_yaw, tol=-1.0, speed=robot.max_speed * 0.4),
        ]
