"""Differential inverse kinematics on MuJoCo Jacobians (damped least squares).

Used by the scripted experts and to find each robot's home pose. Works on a scratch MjData so
the simulation itself is never disturbed.
"""

from __future__ import annotations

from vla.envs import headless  # noqa: F401  (sets MUJOCO_GL before mujoco loads)

# isort: split

import mujoco
import numpy as np


def top_down(yaw: float) -> np.ndarray:
    """TCP orientation (3x3) pointing straight down, fingers closing along `yaw` in the table plane."""
    x = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    z = np.array([0.0, 0.0, -1.0])
    return np.stack([x, np.cross(z, x), z], axis=1)


def rotation_error(current: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Axis-angle-like error (3,) that rotates `current` towards `target` (small-angle form)."""
    return 0.5 * sum(np.cross(current[:, i], target[:, i]) for i in range(3))


class DifferentialIK:
    """Solve arm joint angles that put the TCP site at a position and orientation."""

    def __init__(
        self, model: mujoco.MjModel, index, damping: float = 0.03, rot_weight: float = 0.3
    ):
        self.model = model
        self.index = index
        self.data = mujoco.MjData(model)
        self.damping = damping
        self.rot_weight = rot_weight
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))

    def forward(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """TCP position (3,) and rotation (3, 3) at arm angles q."""
        self.data.qpos[self.index.arm_qpos] = q
        mujoco.mj_kinematics(self.model, self.data)
        site = self.index.tcp_site
        return self.data.site_xpos[site].copy(), self.data.site_xmat[site].reshape(3, 3).copy()

    def solve(self, q0, pos, rot=None, iters: int = 30, max_step: float = 0.2):
        """Arm angles near q0 reaching (pos, rot); rot None solves position only.

        Returns (q, position error in m, rotation error in rad).
        """
        q = np.array(q0, dtype=float)
        lo, hi = self.index.arm_range[:, 0], self.index.arm_range[:, 1]
        dof = self.index.arm_dof
        for _ in range(iters):
            p, r = self.forward(q)
            err_p = pos - p
            err_r = rotation_error(r, rot) if rot is not None else np.zeros(3)
            if np.linalg.norm(err_p) < 1e-4 and np.linalg.norm(err_r) < 1e-3:
                break
            mujoco.mj_comPos(self.model, self.data)
            mujoco.mj_jacSite(self.model, self.data, self._jacp, self._jacr, self.index.tcp_site)
            if rot is None:
                jac, err = self._jacp[:, dof], err_p
            else:
                jac = np.vstack([self._jacp[:, dof], self.rot_weight * self._jacr[:, dof]])
                err = np.concatenate([err_p, self.rot_weight * err_r])
            dq = jac.T @ np.linalg.solve(jac @ jac.T + self.damping**2 * np.eye(len(err)), err)
            scale = np.max(np.abs(dq)) / max_step
            q = np.clip(q + (dq / scale if scale > 1 else dq), lo, hi)
        p, r = self.forward(q)
        return (
            q,
            float(np.linalg.norm(pos - p)),
            float(np.linalg.norm(rotation_error(r, rot))) if rot is not None else 0.0,
        )


def home_pose(model: mujoco.MjModel, index) -> np.ndarray:
    """Arm angles with the TCP above the workspace centre, pointing down."""
    robot = index.robot
    solver = DifferentialIK(model, index)
    target = np.array([0.0, 0.0, robot.home_height])
    q, err_p, err_r = solver.solve(
        np.array(robot.seed_qpos), target, top_down(robot.home_yaw), iters=300
    )
    if err_p > 0.01 or err_r > 0.05:
        raise RuntimeError(
            f"{robot.name}: no home pose found (position error {err_p:.3f} m, rotation {err_r:.3f})"
        )
    return q
