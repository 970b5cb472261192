"""Scripted experts: follow the task's waypoints with differential IK, output joint targets.

The expert keeps a commanded TCP position that moves towards the current waypoint at a bounded
speed; IK (seeded with the last command) turns it into joint-position targets, the same action
space a policy uses. With the env's `ee_delta` control it hands out the commanded pose's change
instead (the yaw turned at a bounded rate), with `ee_pose` the commanded pose itself, and the
env runs the same IK. It reads privileged state (object poses) from the env.

With `blend` > 0 the expert rounds the corners where nothing happens (a waypoint its task marks
`corner`, with no hold, no settling and the same gripper command as the next one): it slows
only to the next segment's speed and turns towards the next waypoint once its commanded point
is within `blend` metres, instead of stopping until the arm catches up. A stop is a switch the policy must time from
what it sees (the next move begins once the tool is within a centimetre of the waypoint); a
rounded corner makes the next move a smooth function of where the tool is.

With `regrasp` the expert checks what a waypoint `requires` as it leaves it (the cube between
the fingers after a close, and still there once lifted) and, on a miss, plans the task again
from where everything is now: it opens, rises, and grasps again. Without noise the expert
rarely misses; with `vla collect action_noise=` it does, and then the data show the recovery
that a policy which misses needs (up to MAX_REPLANS times per episode).
"""

from __future__ import annotations

import numpy as np

from vla.envs.ik import DifferentialIK, top_down
from vla.envs.tabletop_env import EE_STEP_YAW, TASK_SPACE

WAYPOINT_TIMEOUT = 25  # steps at one waypoint before moving on regardless
EE_YAW_RATE = 0.5  # of the env's largest yaw step, so turning stays smooth
ACCELERATION = 0.6  # m/s^2: speed ramps up and down, so a held cube is not shaken loose
SETTLED = 0.02  # gripper opening change per step below which the fingers count as still
CLOSED_OR_OPENED = 0.1  # opening change since the hold began that shows the fingers acted
MAX_REPLANS = 3  # fresh plans per episode after a miss; the episode's step limit ends it anyway


class ScriptedExpert:
    def __init__(self, env, blend: float = 0.0, regrasp: bool = False):
        if blend < 0:
            raise ValueError(f"blend is a distance in metres, >= 0; got {blend}")
        self.env = env.unwrapped
        self.ik = DifferentialIK(self.env.model, self.env.index)
        self.blend = blend
        self.regrasp = regrasp
        self._episode_id = None

    def _start(self) -> None:
        env = self.env
        self._episode_id = env.episode_id
        self._plan = env.task.plan(env)
        self._i = 0
        self.replans = 0
        self._held = 0
        self._steps_here = 0
        self._q = env.data.qpos[env.index.arm_qpos].copy()
        self._p = env.tcp()
        self._yaw = env.tcp_yaw()
        self._v = 0.0
        self._opening = env.gripper_opening()

    def __call__(self, obs=None) -> np.ndarray:
        env = self.env
        if self._episode_id != env.episode_id:
            self._start()
        opening = env.gripper_opening()
        moved, self._opening = abs(opening - self._opening), opening
        wp = self._plan[min(self._i, len(self._plan) - 1)]
        # a settling hold ends on the first frame that shows the fingers still after moving
        acted = self._held > 0 and abs(opening - self._hold_opening) > CLOSED_OR_OPENED
        if wp.settle and acted and moved < SETTLED:
            self._next_waypoint()
            wp = self._plan[self._i]
        goal = np.asarray(wp.pos() if callable(wp.pos) else wp.pos, dtype=float)
        hz = env.robot.control_hz
        delta = goal - self._p
        dist = np.linalg.norm(delta)
        # Trapezoidal speed profile: accelerate, cruise, and brake to stop at the waypoint (at
        # a rounded corner, to the next segment's speed where the turn begins).
        top = wp.speed or env.robot.max_speed
        corner = self._corner_speed()
        brake = np.sqrt(corner**2 + 2 * ACCELERATION * max(dist - self.blend * (corner > 0), 0.0))
        self._v = min(top, self._v + ACCELERATION / hz, brake)
        step = self._v / hz
        before = (self._p, self._yaw)
        self._p = goal if dist <= step else self._p + delta * (step / dist)
        if env.control in TASK_SPACE:
            turn = EE_YAW_RATE * EE_STEP_YAW
            self._yaw = self._yaw + float(np.clip(wp.yaw - self._yaw, -turn, turn))
            self._advance(wp, goal, corner)
            if env.control == "ee_pose":
                action = np.r_[self._p, self._yaw, wp.grip]
            else:
                action = np.r_[self._p - before[0], self._yaw - before[1], wp.grip]
            return np.clip(action, env.action_space.low, env.action_space.high).astype(np.float32)
        self._q, _, _ = self.ik.solve(self._q, self._p, top_down(wp.yaw), iters=15)
        self._advance(wp, goal, corner)
        action = np.r_[self._q, wp.grip]
        return np.clip(action, env.action_space.low, env.action_space.high).astype(np.float32)

    def _corner_speed(self) -> float:
        """The speed to pass the current waypoint at: 0 (stop) unless it is a corner to round."""
        if self.blend <= 0 or self._i >= len(self._plan) - 1:
            return 0.0
        wp, after = self._plan[self._i], self._plan[self._i + 1]
        if not wp.corner or wp.hold or wp.settle or wp.grip != after.grip:
            return 0.0  # something happens there, or near it: the arm stops for it
        return min(wp.speed or self.env.robot.max_speed, after.speed or self.env.robot.max_speed)

    def _advance(self, wp, goal, corner: float) -> None:
        if self._i >= len(self._plan) - 1 and wp.tol < 0:
            return  # a closed-loop final waypoint runs until the episode ends
        if corner > 0 and np.linalg.norm(self._p - goal) <= self.blend:
            self._next_waypoint()  # round the corner: no stop, no wait for the arm
            return
        self._steps_here += 1
        reached = np.linalg.norm(self._p - goal) < 1e-9 and np.linalg.norm(
            self.env.tcp() - goal
        ) < max(wp.tol, 0.0)
        if reached or self._steps_here > WAYPOINT_TIMEOUT:
            self._held += 1
            if self._held == 1:
                self._hold_opening = self._opening
            if self._held > wp.hold or self._steps_here > WAYPOINT_TIMEOUT + wp.hold:
                self._next_waypoint()

    def _next_waypoint(self) -> None:
        wp = self._plan[self._i]
        missed = self.regrasp and wp.requires is not None and not wp.requires()
        if missed and self.replans < MAX_REPLANS:
            # the plan from where things are now; the commanded pose carries on from here
            self._plan, self._i = self.env.task.plan(self.env), 0
            self.replans += 1
        else:
            self._i = min(self._i + 1, len(self._plan) - 1)
        self._held = 0
        self._steps_here = 0
