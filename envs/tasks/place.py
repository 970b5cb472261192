"""Place: put the named cube in the bowl or on the plate, and let go of it."""

import numpy as np

from vla.envs.scene import BOWL_RADIUS, BOWL_WALL, PLATE_RADIUS
from vla.envs.tasks.base import Episode, Task, Waypoint, pick

PHRASE = {"bowl": "in the bowl", "plate": "on the plate"}
RADIUS = {"bowl": BOWL_RADIUS, "plate": PLATE_RADIUS}


class Place(Task):
    name = "place"
    max_steps = 100
    relevant = ("target", "receptacle")

    def sample(self, rng):
        episode = super().sample(rng)
        return Episode(target=episode.target, receptacle=str(rng.choice(list(PHRASE))))

    def slots(self, episode):
        return {**super().slots(episode), "place": PHRASE[episode.receptacle]}

    def success(self, view) -> bool:
        ep = view.episode
        cube = view.cube_pos(ep.target)
        centre = view.fixture_pos(ep.receptacle)
        inside = np.linalg.norm(cube[:2] - centre[:2]) < RADIUS[ep.receptacle] - 0.01
        resting = cube[2] < view.robot.cube_half + 0.03
        return bool(inside and resting and not view.touching(ep.target))

    def plan(self, view):
        robot, ep = view.robot, view.episode
        steps = pick(view)
        yaw = steps[-1].yaw
        centre = view.fixture_pos(ep.receptacle)
        rim = BOWL_WALL if ep.receptacle == "bowl" else 0.008
        over = np.array([centre[0], centre[1], robot.home_height])
        release = np.array([centre[0], centre[1], rim + view.grasp_height + 0.01])
        return steps + [
            Waypoint(
                over, grip=1.0, yaw=yaw, speed=robot.max_speed * robot.carry_speed, corner=True
            ),
            Waypoint(release, grip=1.0, yaw=yaw, speed=robot.max_speed * 0.5),
            Waypoint(release, grip=0.0, yaw=yaw, hold=4, settle=True),
            Waypoint(over, grip=0.0, yaw=yaw),
        ]
