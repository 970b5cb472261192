"""Meta-World's 50 Sawyer tasks (Farama `metaworld` v3 envs) as vla envs: the same observation
dict and episode facts as the tabletop, so collection, training and evaluation run them
unchanged (`vla collect suite=metaworld tasks=[mt10]`).

- Observation: `images` {"front": the `corner2` camera where LeRobot puts it (flipped right side
  up: Meta-World's corner cameras render upside down), "wrist": `gripperPOV`}, rendered without
  shadows, reflections or multisampling (cheap on a software renderer); `state` the hand's
  x, y, z (m) and the gripper's opening (Meta-World's own obs[0:4]); `instruction`.
- Action: the hand's x, y, z move in [-1, 1] (Meta-World moves its mocap 1 cm per unit a step)
  and the gripper command in [0, 1] (1 = closed; Meta-World's effort is 2g - 1).
- Episodes are seed-pinned: `reset(seed=s)` draws the object and goal positions from s alone
  (Meta-World's `seeded_rand_vec`), so seed s is the same scene on every machine.
- `expert()` is Meta-World's own scripted policy for the task (`metaworld.policies`).
"""

from __future__ import annotations

from vla.envs import headless  # noqa: F401  (sets MUJOCO_GL before mujoco loads)

# isort: split

import mujoco
import numpy as np
from gymnasium import Env, spaces

from vla.embodiment import Embodiment
from vla.envs import metaworld_language as language
from vla.envs import perturbations, views

ROBOT = "metaworld_sawyer"
CONTROL = "ee_delta"
FPS = 80.0  # Meta-World steps 5 x 2.5 ms of physics per action
START_SHIFT_M = 0.02  # start_pose:k moves the hand's start k x 2 cm (its own start is fixed)
MAX_STEPS = 500  # Meta-World's own limit (max_path_length), as published results use
CORNER2_POSITION = (0.75, 0.075, 0.7)  # as LeRobot's Meta-World env places it
CAMERAS = {"front": "corner2", "wrist": "gripperPOV"}
FLIPPED = {"corner", "corner2", "corner3", "corner4"}  # render upside down in Meta-World v3
STATE_NAMES = ("hand_x", "hand_y", "hand_z", "gripper_opening")
EMBODIMENT = Embodiment(
    name=ROBOT,
    joint_names=("dx", "dy", "dz"),
    gripper_name="gripper",
    action_mode=CONTROL,
    joint_units=("cm", "cm", "cm"),
    action_low=(-1.0, -1.0, -1.0, 0.0),
    action_high=(1.0, 1.0, 1.0, 1.0),
    gripper_sign=1,
    control_hz=FPS,
    cameras=tuple(CAMERAS),
    description="Meta-World's Sawyer (Farama metaworld v3): hand moves of 1 cm per unit, "
    "gripper effort; state = hand position and gripper opening",
    state_names=STATE_NAMES,
)


POLICY_NAMES = {"peg-insert-side": "SawyerPegInsertionSideV3Policy"}  # the one irregular name


def policy_class_name(task: str) -> str:
    """The `metaworld.policies` class of a task's scripted policy."""
    camel = "".join(w.capitalize() for w in task.split("-"))
    return POLICY_NAMES.get(task, f"Sawyer{camel}V3Policy")


class MetaWorldEnv(Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": FPS}

    def __init__(
        self,
        task: str = "reach",
        image_size: int | tuple[int, int] = 128,
        cameras: tuple[str, ...] | None = None,
        image_obs: bool = True,
        instruction_set: str = "train",
        max_steps: int | None = None,
        render_mode: str | None = None,
        control: str = CONTROL,
        robot: str = ROBOT,
    ):
        import metaworld

        if task not in language.PHRASES:
            from vla.suggest import unknown

            raise ValueError(unknown("Meta-World task", task, language.TASKS))
        if control != CONTROL or robot != ROBOT:
            raise ValueError(f"Meta-World has one robot ({ROBOT}) and one control ({CONTROL})")
        language.templates(task, instruction_set)  # validates the set name
        self.task_name, self.instruction_set = task, instruction_set
        name = f"{task}-v3"
        benchmark = metaworld.MT1(name, seed=0)
        self.sim = benchmark.train_classes[name]()
        self.sim.set_task(benchmark.train_tasks[0])
        self.sim._freeze_rand_vec = False  # a new scene every reset ...
        self.sim.seeded_rand_vec = True  # ... drawn from the env's own seeded generator
        self.model, self.data = self.sim.model, self.sim.data
        self.model.cam_pos[self.model.camera("corner2").id] = CORNER2_POSITION
        self.model.vis.quality.offsamples = 0  # no multisampling: 2x faster on llvmpipe
        self.changer = perturbations.SceneChanger(
            self.model, [self.model.camera(CAMERAS["front"]).id], range(self.model.nmat), []
        )
        self._hand_home = np.array(self.sim.hand_init_pos, np.float64)
        self.perturbation: dict = {}
        self.embodiment = EMBODIMENT
        self.cameras = tuple(cameras) if cameras is not None else tuple(CAMERAS)
        unknown_cams = set(self.cameras) - set(CAMERAS)
        if unknown_cams:
            raise ValueError(
                f"unknown camera(s) {sorted(unknown_cams)}; choose from {list(CAMERAS)}"
            )
        self.image_hw = views.image_hw(image_size)
        self.image_obs = image_obs
        self.max_steps = min(max_steps or MAX_STEPS, self.sim.max_path_length)
        self.render_mode = render_mode
        self.action_space = spaces.Box(
            np.array(EMBODIMENT.action_low, np.float32),
            np.array(EMBODIMENT.action_high, np.float32),
        )
        hand = spaces.Box(  # Meta-World's own bounds on the hand and gripper
            self.sim.observation_space.low[:4].astype(np.float32),
            self.sim.observation_space.high[:4].astype(np.float32),
        )
        self.observation_space = views.observation_space(
            hand, self.cameras, self.image_hw, image_obs
        )
        self._cameras = views.Cameras(self.model, self.data)
        self._raw = None
        self.instruction = ""
        self.elapsed_steps = 0
        self._set_used = instruction_set

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        # drawn by the caller from its own seed (envs/perturbations.py); the scene stays the seed's
        self.perturbation = options.pop("perturb", None) or {}
        if "distractor" in self.perturbation:
            raise ValueError("the distractor perturbation is the tabletop's: Meta-World has none")
        self.changer.apply(self.perturbation)
        start = self.perturbation.get("start_pose")
        shift = START_SHIFT_M * start["factor"] * np.asarray(start["direction"]) if start else 0.0
        self.sim.hand_init_pos = self._hand_home + shift
        self.sim.seed(int(self.np_random.integers(2**31 - 1)) if seed is None else seed)
        self._raw, _ = self.sim.reset()
        # Meta-World moves its goal site after its last forward pass: recompute everything
        # derived from the state, so that what is drawn depends on the seed alone
        mujoco.mj_forward(self.model, self.data)
        self._set_used = options.pop("instruction_set", self.instruction_set)
        choices = language.templates(self.task_name, self._set_used)
        phrase = choices[int(self.np_random.integers(len(choices)))]
        self.instruction = options.pop("instruction", None) or phrase
        if options:
            raise ValueError(
                f"unknown reset option(s) {sorted(options)}; known: instruction, instruction_set, perturb"
            )
        self.elapsed_steps = 0
        return self._observation(), {
            "is_success": False,
            "elapsed_steps": 0,
            "episode": self._episode_facts(),
            "world_now": self.world_now(),
        }

    def step(self, action):
        a = np.asarray(action, np.float64)
        if a.shape != (4,) or not np.isfinite(a).all():
            raise ValueError(f"a Meta-World action is 4 finite numbers, got {action!r}")
        a = np.clip(a, self.action_space.low, self.action_space.high)
        effort = np.r_[a[:3], 2.0 * a[3] - 1.0]
        self._raw, _, _, _, info = self.sim.step(effort)
        self.elapsed_steps += 1
        success = bool(info["success"])
        truncated = self.elapsed_steps >= self.max_steps and not success
        out = {
            "is_success": success,
            "elapsed_steps": self.elapsed_steps,
            "world_now": self.world_now(),
        }
        return self._observation(), float(success), success, truncated, out

    def _episode_facts(self) -> dict:
        return {
            "robot": ROBOT,
            "task": self.task_name,
            "instruction": self.instruction,
            "instruction_set": self._set_used,
            # the same scene, asked to do another task (the shuffled-instruction control)
            "shuffled_instruction": language.templates(language.other_task(self.task_name))[0],
            "fps": FPS,
            "embodiment": EMBODIMENT.to_dict(),
            "cameras": list(self.cameras) if self.image_obs else [],
            "image_size": list(self.image_hw),
            "max_steps": self.max_steps,
            "layout": {
                "object": self._raw[4:7].tolist(),
                "goal": self._raw[36:39].tolist(),
                "hand": self._raw[0:3].tolist(),
            },
            "group": language.difficulty_of(self.task_name),  # results are reported per group
            "perturbation": self.perturbation,  # what changed in the scene
        }

    def world_now(self) -> dict:
        """A training label, never an observation: the task's main object (Meta-World's
        obs[4:7]) and its goal (the env's target, which its observation may hide) in world
        x, y, z (m) at this moment."""
        goal = np.asarray(self.sim._get_pos_goal(), np.float64)
        return {"object": self._raw[4:7].tolist(), "goal": goal.tolist()}

    def _observation(self) -> dict:
        obs = {"state": self._raw[:4].astype(np.float32), "instruction": self.instruction}
        if self.image_obs:
            obs["images"] = {c: self.render_camera(CAMERAS[c]) for c in self.cameras}
        return obs

    def render_camera(self, camera: str, size: tuple[int, int] | None = None) -> np.ndarray:
        image = self._cameras.render(camera, tuple(size or self.image_hw))
        return np.ascontiguousarray(image[::-1, ::-1]) if camera in FLIPPED else image

    def render(self):
        return self.render_camera(CAMERAS["front"], (240, 320)) if self.render_mode else None

    def hold(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass under the current commands (latency in the loop)."""
        views.hold(self.model, self.data, seconds)

    def close(self):
        self._cameras.close()
        self.sim.close()

    def expert(self, blend: float = 0.0, regrasp: bool = False):
        """Meta-World's scripted policy for the task, reading the full 39-number state. It has
        no waypoints to round or plan again: `blend` and `regrasp` (the tabletop expert's) are
        taken so that one collection setting serves every suite, and change nothing here."""
        import metaworld.policies as policies

        policy = getattr(policies, policy_class_name(self.task_name))()

        def act(obs):
            a = np.clip(policy.get_action(self._raw), -1.0, 1.0)
            return np.r_[a[:3], (a[3] + 1.0) / 2.0].astype(np.float32)

        return act
