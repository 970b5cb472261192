"""Lift: pick the named cube up off the table."""

from vla.envs.tasks.base import Task, pick

LIFT_HEIGHT = 0.04  # the cube's bottom at least this far above the table


class Lift(Task):
    name = "lift"
    max_steps = 60

    def success(self, view) -> bool:
        cube = view.cube_pos(view.episode.target)
        return bool(
            cube[2] - view.robot.cube_half > LIFT_HEIGHT and view.grasping(view.episode.target)
        )

    def plan(self, view):
        return pick(view)
