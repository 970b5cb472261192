"""Push: slide the named cube onto the orange mark without lifting it."""

import numpy as np

from vla.envs.tasks.base import Task, Waypoint

ON_MARK = 0.03  # cube centre within this of the mark's centre
MARK_PHRASE = "orange mark"


def paddle_yaw(direction: np.ndarray, home_yaw: float, across: bool = True) -> float:
    """Yaw with the closed fingers side by side across the push (a wide paddle) or, if not
    `across`, one behind the other; of the two symmetric choices, the one nearest home."""
    yaw = np.arctan2(direction[1], direction[0]) + (np.pi / 2 if across else 0.0)
    return float(yaw + np.round((home_yaw - yaw) / np.pi) * np.pi)


class Push(Task):
    name = "push"
    max_steps = 150
    relevant = ("target", "mark")

    def slots(self, episode):
        return {**super().slots(episode), "mark": MARK_PHRASE}

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
        low = view.grasp_height - robot.push_drop
        reach = view.index.finger_reach

        def direction():
            d = mark - view.cube_pos(target)[:2]
            return d / max(np.linalg.norm(d), 1e-6)

        d0 = direction()
        yaw = paddle_yaw(d0, robot.home_yaw, robot.push_across)
        # The TCP is the grasp centre; the closed fingers sit tcp_shift from it along +x (the
        # closing axis). Aim the fingers, not the TCP.
        to_tcp = -np.array([np.cos(yaw), np.sin(yaw)]) * robot.tcp_shift
        start = view.cube_pos(target)[:2] - d0 * (robot.cube_half + reach + 0.015) + to_tcp

        state = {"repositioning": False}

        def pushing():
            # Closed loop. Push from behind the cube's current centre, along its line to the
            # mark, a little ahead of contact. If the cube has slid off the fingers sideways,
            # rise, go round behind it again, come down, and resume.
            cube = view.cube_pos(target)[:2]
            d = direction()
            fingers = view.tcp()[:2] - to_tcp
            lateral = abs(d[0] * (fingers - cube)[1] - d[1] * (fingers - cube)[0])
            behind = cube - d * (robot.cube_half + reach + 0.012) + to_tcp
            hover = robot.cube_half * 2 + 0.03
            if lateral > 0.6 * robot.cube_half:
                state["repositioning"] = True
            if state["repositioning"]:
                tcp = view.tcp()
                if np.linalg.norm(tcp[:2] - behind) > 0.012:
                    return np.r_[behind, hover] if tcp[2] > hover - 0.01 else np.r_[tcp[:2], hover]
                if tcp[2] > low + 0.008:
                    return np.r_[behind, low]
                state["repositioning"] = False
            ahead = min(np.linalg.norm(mark - cube), 0.03)
            return np.r_[cube - d * (robot.cube_half + reach) + d * ahead + to_tcp, low]

        return [
            Waypoint(np.r_[start, robot.home_height], grip=1.0, yaw=yaw),
            Waypoint(np.r_[start, low], grip=1.0, yaw=yaw, speed=robot.max_speed * 0.5),
            Waypoint(pushing, grip=1.0, yaw=yaw, tol=-1.0, speed=robot.max_speed * 0.4),
        ]
