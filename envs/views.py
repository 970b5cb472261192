"""What every MuJoCo env here does the same way: the observation space, camera images without shadows or reflections
(3-5x cheaper on a software renderer, and training images need neither), one renderer per
image size, image sizes given as one number or (height, width), and simulated time that
passes under the current commands (latency in the loop)."""

from __future__ import annotations

from vla.envs import headless  # noqa: F401  (sets MUJOCO_GL before mujoco loads)

# isort: split

import mujoco
import numpy as np
from gymnasium import spaces

from vla.envs import language


def observation_space(
    state: spaces.Box, cameras: tuple[str, ...], hw: tuple[int, int], images: bool
) -> spaces.Dict:
    """{"state", "instruction"[, "images": {camera: (H, W, 3) uint8}]}: every env's observation."""
    obs = {
        "state": state,
        "instruction": spaces.Text(language.MAX_LENGTH, charset=language.CHARSET),
    }
    if images:
        obs["images"] = spaces.Dict({c: spaces.Box(0, 255, (*hw, 3), np.uint8) for c in cameras})
    return spaces.Dict(obs)


def image_hw(image_size: int | tuple[int, int]) -> tuple[int, int]:
    return (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)


class Cameras:
    """Renders `model`'s cameras from `data`, keeping one renderer per (height, width)."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData):
        self.model, self.data = model, data
        self.renderers: dict[tuple[int, int], mujoco.Renderer] = {}

    def render(self, camera: str, size: tuple[int, int]) -> np.ndarray:
        renderer = self.renderers.get(tuple(size))
        if renderer is None:
            renderer = mujoco.Renderer(self.model, *size)
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
            self.renderers[tuple(size)] = renderer
        renderer.update_scene(self.data, camera=camera)
        return renderer.render()

    def close(self) -> None:
        for renderer in self.renderers.values():
            renderer.close()
        self.renderers.clear()


def hold(model: mujoco.MjModel, data: mujoco.MjData, seconds: float) -> None:
    """Let `seconds` of simulated time pass under the current commands."""
    for _ in range(round(seconds / model.opt.timestep)):
        mujoco.mj_step(model, data)
