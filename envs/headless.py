"""Import before `mujoco`: picks EGL (GPU or Mesa llvmpipe) when there is no display.

MuJoCo chooses its OpenGL backend when it is first imported, from MUJOCO_GL. A user's own
choice is kept; without one and without a display, EGL is the only backend that renders.
"""

import os

if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
