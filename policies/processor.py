"""The policy's input and output processing, apart from the model.

    observations --PreProcessor--> Batch --model--> normalised chunk --PostProcessor--> actions

The pre-processor validates each observation, resizes its images to the policy's size, pads the
state to the widest robot, normalises it per robot and tokenises the instruction; for training it
also normalises the action targets. The post-processor un-normalises a chunk per robot (adding
the measured state back for relative actions), keeps each robot's own dimensions and clips them
to the robot's bounds. Both are plain objects built from the checkpoint's schemas and stats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from vla.suggest import unknown

LABELS = (
    "target_uv",
    "target_xy",
    "goal_uv",
    "goal_xy",
    "object_xyz",
    "goal_xyz",
)  # simulation's, training only


@dataclass
class Observation:
    """One observation as an env returns it, checked: images {camera: uint8 (H, W, 3)}, the
    robot's state in its own units, the instruction, and which robot it is."""

    images: dict[str, np.ndarray]
    state: np.ndarray  # (state_dim,) float32
    instruction: str
    robot: str
    target_xy: np.ndarray | None = None  # (2,) metres: only simulation has it
    # (k, state_dim) earlier states, newest first, for a policy with a state history
    past_states: np.ndarray | None = None

    @classmethod
    def of(cls, obs: dict, robot: str | None = None) -> Observation:
        if isinstance(obs, Observation):  # checked already (e.g. by vla serve, per request)
            return obs
        if not isinstance(obs, dict):
            raise ValueError(f"an observation is a dict, got {type(obs).__name__}")
        robot = robot or obs.get("robot")
        if robot is None:
            raise ValueError("say which robot acts: obs['robot'] or infer(obs, robot='panda')")
        instruction = obs.get("instruction")
        if not isinstance(instruction, str) or not instruction.strip():
            raise ValueError("the observation has no 'instruction' (a non-empty string)")
        target, past = obs.get("target_xy"), obs.get("past_states")
        return cls(
            images=dict(obs.get("images") or {}),
            state=np.asarray(obs.get("state"), dtype=np.float32),
            instruction=instruction,
            robot=robot,
            target_xy=None if target is None else np.asarray(target, np.float32).reshape(2),
            past_states=None if past is None else np.asarray(past, np.float32),
        )


@dataclass
class Batch:
    """What the model reads, one row per observation."""

    images: torch.Tensor  # (B, C, 3, H, W) uint8, the policy's cameras in order
    raw_state: torch.Tensor  # (B, S) the robot's units, padded to the widest robot
    state: torch.Tensor  # (B, S) normalised per robot
    word_ids: torch.Tensor  # (B, T) the prompt, left-padded
    word_mask: torch.Tensor  # (B, T)
    instructions: list[str]
    robots: list[str]
    target_xy: torch.Tensor | None = None  # (B, 2) metres, where the observations have it
    crop_box: torch.Tensor | None = None  # (B, 4) the loader's augmentation crop
    past_states: torch.Tensor | None = None  # (B, k, S) robot's units, padded, newest first
    targets: torch.Tensor | None = None  # training: (B, H, D) normalised actions
    valid: torch.Tensor | None = None  # training: (B, H, D) 1 where an action is real
    labels: dict | None = None  # training: simulation's labels (LABELS)


class PreProcessor:
    def __init__(self, config, schemas: dict, normalizer, text_tokenizer):
        self.config, self.schemas = config, schemas
        self.normalizer, self.text = normalizer, text_tokenizer
        self.max_state_dim = max(s.state_dim for s in schemas.values())
        self.history = config.parts["state"].history  # earlier states acting reads

    def check(self, obs: Observation) -> Observation:
        """Everything `observations` would refuse about one observation, refused now."""
        self.check_robots([obs.robot])
        self.frames(obs)
        self.padded_state(obs)
        if self.history:
            self.padded_past(obs)
        return obs

    def check_robots(self, robots: list[str]) -> None:
        for r in set(robots):
            if r not in self.schemas:
                raise KeyError(
                    unknown("robot (this checkpoint was not trained for it)", r, list(self.schemas))
                )

    def tensors(self, images, raw_state, instructions, robots, target_xy=None, **extra) -> Batch:
        """Batched tensors (images (B, C, 3, H, W) uint8, raw state (B, S)) -> a Batch."""
        self.check_robots(robots)
        ids, mask = self.text(list(instructions), device=raw_state.device)
        state = self.normalizer.state(raw_state.float(), robots)
        return Batch(
            images,
            raw_state,
            state,
            ids,
            mask,
            list(instructions),
            list(robots),
            target_xy,
            **extra,
        )

    def observations(self, observations: list[Observation], device) -> Batch:
        """Checked observations (any mix of robots) -> one Batch on `device`."""
        self.check_robots([o.robot for o in observations])
        images = torch.stack([self.frames(o) for o in observations]).to(device)
        state = torch.stack([self.padded_state(o) for o in observations]).to(device)
        target = past = None
        if all(o.target_xy is not None for o in observations):
            target = torch.from_numpy(np.stack([o.target_xy for o in observations])).to(device)
        if self.history:
            past = torch.stack([self.padded_past(o) for o in observations]).to(device)
        return self.tensors(
            images,
            state,
            [o.instruction for o in observations],
            [o.robot for o in observations],
            target,
            past_states=past,
        )

    def training(self, batch: dict) -> Batch:
        """A loader batch (vla.datasets.loader) -> a Batch with normalised targets and labels."""
        actions = batch["actions"].float()  # (B, H, D)
        if actions.shape[1] != self.config.horizon:
            raise ValueError(
                f"batch has action chunks of {actions.shape[1]} steps; the policy predicts "
                f"{self.config.horizon}"
            )
        robots = list(batch["robot"])
        self.check_robots(robots)
        valid = (~batch["action_is_pad"])[:, :, None] & batch["dim_mask"][:, None, :]
        return self.tensors(
            batch["images"],
            batch["state"],
            list(batch["instruction"]),
            robots,
            batch.get("target_xy"),
            crop_box=batch.get("crop_box"),
            past_states=batch.get("past_states"),
            targets=self.normalizer.action(actions, robots, state=batch["state"]),
            valid=valid.float(),
            labels={k: batch[k] for k in LABELS if k in batch},
        )

    def padded_state(self, obs: Observation) -> torch.Tensor:
        schema = self.schemas[obs.robot]
        if obs.state.shape != (schema.state_dim,):
            raise ValueError(
                f"{obs.robot} state must have shape ({schema.state_dim},), got {obs.state.shape}"
            )
        if not np.isfinite(obs.state).all():
            raise ValueError("the observation's state holds NaN or inf")
        padded = torch.zeros(self.max_state_dim)
        padded[: schema.state_dim] = torch.from_numpy(obs.state)
        return padded

    def padded_past(self, obs: Observation) -> torch.Tensor:
        """obs.past_states (k, state_dim) -> (k, S) padded to the widest robot."""
        dim, past, k = self.schemas[obs.robot].state_dim, obs.past_states, self.history
        if past is None or len(past) != k:
            raise ValueError(
                f"this policy reads the last {k} states: send past_states ({k}, state_dim), "
                "newest first, in the robot's units"
            )
        if past.ndim != 2 or past.shape[1] != dim or not np.isfinite(past).all():
            raise ValueError(
                f"{obs.robot} past_states must be finite, (k, {dim}) newest first, got {past.shape}"
            )
        padded = torch.zeros(past.shape[0], self.max_state_dim)
        padded[:, :dim] = torch.from_numpy(past)
        return padded

    def frames(self, obs: Observation) -> torch.Tensor:
        """-> (C, 3, size, size) uint8, each camera resized to the policy's size if need be."""
        cameras, size = self.config.cameras, self.config.image_size
        out = []
        for cam in cameras:
            image = obs.images.get(cam)
            if image is None:
                raise ValueError(
                    f"the observation has no '{cam}' image; the policy uses cameras {list(cameras)}"
                )
            image = np.asarray(image)
            if image.dtype != np.uint8:
                raise ValueError(f"'{cam}' image must be uint8 (0..255), got {image.dtype}")
            if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
                raise ValueError(f"'{cam}' image must be (H, W, 3) uint8, got {image.shape}")
            out.append(resized(torch.from_numpy(image).permute(2, 0, 1), size))
        return torch.stack(out)


def resized(image: torch.Tensor, size: int) -> torch.Tensor:
    """(3, H, W) uint8 -> (3, size, size): area averaging down (an exact 2x2 block mean, so an
    image upsampled by an integer factor comes back exactly), bilinear up."""
    if tuple(image.shape[1:]) == (size, size):
        return image
    x = image[None].float()
    shrink = image.shape[1] >= size and image.shape[2] >= size
    x = F.interpolate(
        x,
        size=(size, size),
        mode="area" if shrink else "bilinear",
        align_corners=None if shrink else False,
    )
    return x[0].round().clamp(0, 255).to(torch.uint8)


class PostProcessor:
    def __init__(self, schemas: dict, normalizer):
        self.schemas, self.normalizer = schemas, normalizer

    def __call__(self, normalised: torch.Tensor, batch: Batch) -> list[np.ndarray]:
        """(B, H, D) in [-1, 1] -> a (H, action_dim) chunk per row, in each robot's units,
        within its bounds."""
        chunks = self.normalizer.unaction(normalised, batch.robots, state=batch.raw_state)
        out = []
        for i, r in enumerate(batch.robots):
            s = self.schemas[r]
            out.append(
                np.clip(chunks[i, :, : s.action_dim].cpu().numpy(), s.action_low, s.action_high)
            )
        return out
