"""The VLA policy: tokenizers + pretrained backbone + an action head, for every robot at once.

Contract (as LeRobot's): `forward(batch) -> (loss, logs)` for training, `predict_action_chunk(obs)`
and `select_action(obs)` (hands a chunk out one step at a time) for acting, `reset()` between
episodes, `save_pretrained(dir)` / `VLAPolicy.from_pretrained(dir)` for checkpoints.

The order of operations is spelled out in `_prefix`: raw observation -> normalise (per robot)
-> tokens -> backbone -> head -> un-normalise (per robot) -> action in the robot's own units.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch
from torch import nn

from vla import backbone as backbone_lib
from vla.embodiment import Embodiment
from vla.policies.action_head import checked_loss
from vla.policies.backbone_runner import BackboneRunner
from vla.policies.configuration import PolicyConfig
from vla.policies.heads import HEADS
from vla.policies.sentence_encoder import SentenceEncoder
from vla.policies.target_localizer import TargetLocalizer
from vla.policies.text_pooling import TextPool
from vla.suggest import unknown
from vla.tokenizers.image import ImageTokenizer
from vla.tokenizers.normalize import Normalizer
from vla.tokenizers.state import StateTokenizer
from vla.tokenizers.text import TextTokenizer

TARGET_SCALE_M = 0.25  # table positions are within about +-0.5 m: bring them near unit scale
# target_token=predicted trains the token on the true position plus this much noise (the
# localizer's own error on new scenes is 0.5-1.6 cm, docs/results.md), so that acting on the
# estimate is acting on what training looked like
TEACHER_NOISE_M = 0.01
FRAME_UNIT_M = 0.1  # one unit of the anchor frame's offset: offsets are a few cm, outputs ~0.3
RELATIVE_ACTION_MODES = ("joint_position", "ee_pose")
TCP_XY = ("tcp_x", "tcp_y")  # task-space robots name their first two action dimensions so
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class VLAPolicy(nn.Module):
    def __init__(
        self, config: PolicyConfig, schemas: dict[str, Embodiment], stats: dict, backbone=None
    ):
        super().__init__()
        missing = set(schemas) - set(stats)
        if missing:
            raise ValueError(f"no normalisation stats for robot(s) {sorted(missing)}")
        self.config = config
        self.schemas = dict(sorted(schemas.items()))
        self.stats = {r: stats[r] for r in self.schemas}
        self.robots = list(self.schemas)
        # relative = target minus the measured state: only where the action is a target in the
        # state's own coordinates (joint positions, or the TCP pose)
        not_targets = [
            r for r, s in self.schemas.items() if s.action_mode not in RELATIVE_ACTION_MODES
        ]
        if config.action_mode == "relative" and not_targets:
            raise ValueError(
                f"policy.action_mode=relative subtracts the measured state from target actions, but "
                f"{not_targets} act in another mode ({self.schemas[not_targets[0]].action_mode}): "
                "use policy.action_mode=absolute"
            )
        dims = {r: s.action_dim for r, s in self.schemas.items()}
        self.max_dim = max(dims.values())
        self.max_state_dim = max(s.state_dim for s in self.schemas.values())
        if config.action_mode == "relative" and any(
            s.state_dim != s.action_dim for s in self.schemas.values()
        ):
            raise ValueError("policy.action_mode=relative needs states as wide as the actions")
        bb = backbone or backbone_lib.load(
            backbone_lib.BackboneConfig(
                name=config.backbone, num_layers=config.num_layers, dtype=config.dtype
            )
        )
        self.backbone_info = {
            "name": config.backbone,
            "source": bb.source,
            "content_hash": bb.content_hash,
        }
        self.lm = bb.model
        width = self.lm.config.hidden_size
        self.normalizer = Normalizer(
            self.stats,
            self.max_dim,
            relative=config.action_mode == "relative",
            max_state_dim=self.max_state_dim,
        )
        not_tcp = [r for r, s in self.schemas.items() if tuple(s.joint_names[:2]) != TCP_XY]
        if config.anchor_xy and not_tcp:
            raise ValueError(
                f"policy.anchor_xy=true blends table positions into the TCP's x, y, but "
                f"{not_tcp} act in joints: collect with control=ee_pose"
            )
        self.text = TextTokenizer(bb.tokenizer, config.max_text_tokens)
        self.text_pool = TextPool(width, config.text_pooling)
        self.images = ImageTokenizer(
            width,
            config.image_size,
            config.patch_size,
            len(config.cameras),
            encoder=config.image_encoder,
            keypoint_stride=config.keypoint_stride,
        )
        self.state_tokens = StateTokenizer(width, {r: s.state_dim for r, s in self.schemas.items()})
        self.head = HEADS[config.head](config, width, dims, self.lm.config.vocab_size)
        self.target_localizer = (
            TargetLocalizer(
                self.robots,
                width,
                config.image_size,
                things=config.localized_things,
                planes=config.table_planes if config.table_map == "plane" else None,
            )
            if config.target_probe_weight > 0
            else None
        )
        self.target_token = position_token(width) if config.target_token != "none" else None
        self.goal_token = position_token(width) if config.goal_token else None
        self.sentences = None  # frozen pretrained weights: not a submodule, never saved
        self.sentence_token = None
        if config.sentence_layer is not None:
            if not config.sentence_reference:
                raise ValueError(
                    "policy.sentence_layer centres the sentence vectors on reference sentences: "
                    "set policy.sentence_reference to the training instructions (vla train "
                    "fills it in from the dataset)"
                )
            self.sentences = SentenceEncoder(
                config.backbone,
                config.sentence_layer,
                config.dtype,
                config.max_text_tokens,
                span=config.sentence_span,
            )
            reference = self.sentences(list(config.sentence_reference))
            centre = reference.mean(0)
            self.register_buffer("sentence_centre", centre, persistent=False)
            read = config.sentence_span * self.sentences.width
            if config.sentence_readout in ("tasks", "nearest_task"):
                means = self._task_means(self._unit_sentence(reference - centre))
                self.register_buffer("sentence_task_means", means, persistent=False)
                read = means.shape[0]
            self.sentence_token = nn.Sequential(nn.LayerNorm(read), nn.Linear(read, width))
        self._set_mode()
        self.run = BackboneRunner(self.lm)
        self._queue: deque = deque()
        self._queue_robot = None

    def _set_mode(self) -> None:
        if self.config.mode == "lora":
            from peft import LoraConfig, inject_adapter_in_model

            lora = LoraConfig(
                r=self.config.lora_rank,
                lora_alpha=self.config.lora_alpha,
                target_modules=list(LORA_TARGETS),
            )
            self.lm = inject_adapter_in_model(lora, self.lm)
        for name, p in self.lm.named_parameters():
            p.requires_grad = self.config.mode == "full" or (
                self.config.mode == "lora" and "lora_" in name
            )

    # ----- prefix: text, images, state, embodiment -------------------------------------------
    def _prefix(
        self, images, state, instructions, robots, target_xy=None, crop_box=None, goal_xy=None
    ):
        """Normalised tokens of everything observed: (B, L, W) embeddings, (B, L) mask, and what
        the encoders saw: the instruction's pooled (B, W) "text" and, with the target
        localizer, its (B, 2) "target" (and "goal") estimates, all of them (B, K, 2) as
        "estimates", and the (B, K, h, w) "heatmap". `target_xy` (B, 2) metres: the true target
        position, read with target_token=privileged, and in training with
        target_token=predicted (teacher forcing); `goal_xy` the same for the goal token (NaN
        where an episode has none: its estimate stands in). `crop_box`: the loader's
        augmentation crop (see TargetLocalizer.forward)."""
        tcp_xy = state[:, :2].float()  # with anchor_xy (task-space robots): the TCP's x, y
        state = self.normalizer.state(state.float(), robots)
        ids, text_mask = self.text(instructions, device=state.device)
        dtype = self.lm.get_input_embeddings().weight.dtype
        words = self.run.embed(ids)  # (B, T, W), left-padded
        pooled = self.text_pool(*self._with_noise_words(words, text_mask))  # what it says
        parts = [words] if self.config.word_tokens else []
        film = pooled
        if self.sentence_token is not None:
            what = self._sentence_features(
                self.sentences(instructions, device=state.device) - self.sentence_centre
            )
            sentence = self.sentence_token(what.to(self.sentence_token[1].weight.dtype))
            parts.append(sentence[:, None])
            if self.config.film_from == "sentence":
                film = sentence
        image_tokens, _ = self.images(images, film)
        parts += [
            image_tokens,  # (B, C*N, W)
            self.state_tokens(state, robots),  # (B, 2, W)
        ]
        seen = {"text": pooled}
        if self.target_localizer is not None:  # from the first camera (a world-fixed one)
            seen["estimates"], seen["heatmap"] = self.target_localizer(
                images[:, 0], pooled, robots, crop_box
            )
            things = self.target_localizer.things
            seen.update(zip(things, seen["estimates"].unbind(1), strict=True))
        if self.target_token is not None:
            if self.config.reads_true_target:
                xy = _checked_target(target_xy)
            elif self.training and target_xy is not None:
                xy = _checked_target(target_xy).to(state.device).float()
                xy = xy + torch.randn_like(xy) * TEACHER_NOISE_M
            else:
                xy = seen["target"].detach()  # acting: pixels and words only
            parts.append(self._position(self.target_token, xy))
            anchors = [xy.float()]
        if self.goal_token is not None:
            xy = seen["goal"].detach().float()
            if self.training and goal_xy is not None:  # teacher forcing where there is a goal
                true = torch.as_tensor(goal_xy, device=xy.device).float()
                known = torch.isfinite(true).all(-1, keepdim=True)
                noisy = true.nan_to_num() + torch.randn_like(xy) * TEACHER_NOISE_M
                xy = torch.where(known, noisy, xy)
            parts.append(self._position(self.goal_token, xy))
            anchors.append(xy.float())
        if self.config.anchor_xy:
            anchors.append(tcp_xy.to(anchors[0].device))
            seen["anchors"] = self._normalised_xy(torch.stack(anchors, 1), robots)
        if self.config.anchor_frame:
            seen["frame"] = self._frame(anchors[0], anchors[1], robots)
        parts = [p.to(dtype) for p in parts]
        # the words are left-padded; every other token is real
        masks = [text_mask] if self.config.word_tokens else []
        n_words = words.shape[1] if self.config.word_tokens else 0
        masks.append(text_mask.new_ones(state.shape[0], sum(p.shape[1] for p in parts) - n_words))
        mask = torch.cat(masks, dim=1)
        return torch.cat(parts, dim=1), mask, seen

    def _with_noise_words(self, words: torch.Tensor, mask: torch.Tensor) -> tuple:
        """While training with text_noise_words=N: 0..N random vocabulary embeddings appended
        to every prompt's (B, T, W) words (real, in the mask), so that pooling learns to ignore
        words no demonstration used; unchanged when acting."""
        n = self.config.text_noise_words
        k = int(torch.randint(0, n + 1, ())) if self.training and n else 0
        if not k:
            return words, mask
        table = self.lm.get_input_embeddings().weight
        extra = table[torch.randint(0, table.shape[0], (words.shape[0], k), device=words.device)]
        return torch.cat([words, extra.to(words.dtype)], 1), torch.cat(
            [mask, mask.new_ones(mask.shape[0], k)], 1
        )

    def _unit_sentence(self, centred: torch.Tensor) -> torch.Tensor:
        """(B, span x W) centred sentence vectors -> unit length, each layer's part weighing
        the same."""
        if self.config.sentence_span > 1:
            layers = centred.unflatten(-1, (self.config.sentence_span, -1))
            centred = nn.functional.normalize(layers, dim=-1).flatten(1)
        return nn.functional.normalize(centred, dim=-1)

    def _task_means(self, unit: torch.Tensor) -> torch.Tensor:
        """(K, span x W): the unit mean vector of each task's reference sentences, tasks sorted."""
        tasks = self.config.sentence_tasks  # PolicyConfig checked: one per reference sentence
        readout = f"policy.sentence_readout={self.config.sentence_readout}"
        if not tasks:
            raise ValueError(
                f"{readout} compares a sentence with each training task's reference "
                "sentences: set policy.sentence_tasks to the task of each one (vla train fills "
                "it in from the dataset)"
            )
        names = sorted(set(tasks))
        if len(names) < 2:
            raise ValueError(
                f"{readout} tells tasks apart, and the training set has only {names}: use "
                "policy.sentence_readout=vector"
            )
        index = torch.tensor([names.index(t) for t in tasks])
        return torch.stack(
            [nn.functional.normalize(unit[index == k].mean(0), dim=-1) for k in range(len(names))]
        )

    def _sentence_features(self, centred: torch.Tensor) -> torch.Tensor:
        """What the sentence token reads (sentence_readout): the unit vector at about unit scale
        per channel, as a LayerNorm would give, its cosine to each task's mean, or those
        cosines as a sharp softmax (nearest_task)."""
        unit = self._unit_sentence(centred)
        if self.config.sentence_readout == "tasks":
            return unit @ self.sentence_task_means.T
        if self.config.sentence_readout == "nearest_task":
            likeness = unit @ self.sentence_task_means.T
            return (likeness / self.config.sentence_temperature).softmax(-1)
        return unit * unit.shape[-1] ** 0.5

    def _normalised_xy(self, xy: torch.Tensor, robots: list[str]) -> torch.Tensor:
        """(B, K, 2) table positions, metres -> the same in the TCP x, y action units [-1, 1]."""
        full = xy.new_zeros(*xy.shape[:2], self.max_dim)
        full[..., :2] = xy
        return self.normalizer.action(full, robots)[..., :2]

    def _frame(self, target: torch.Tensor, goal: torch.Tensor, robots: list[str]) -> torch.Tensor:
        """(B, 2, 2): the unit direction from target to goal and its left normal, both
        FRAME_UNIT_M long, in TCP x, y action units (the normalisation is affine: axes are
        differences of normalised points)."""
        along = nn.functional.normalize(goal - target, dim=-1, eps=1e-6)
        across = torch.stack([-along[:, 1], along[:, 0]], -1)
        axes = torch.stack([along, across], 1) * FRAME_UNIT_M  # (B, 2, 2) metres
        origin = self._normalised_xy(torch.zeros_like(axes), robots)
        return self._normalised_xy(axes, robots) - origin

    def _position(self, token: nn.Module, xy: torch.Tensor) -> torch.Tensor:
        """(B, 2) table position, metres -> (B, 1, W) token."""
        xy = xy.to(token[0].weight.device, token[0].weight.dtype)
        return token(xy / TARGET_SCALE_M)[:, None]

    # ----- training ----------------------------------------------------------------------
    def forward(self, batch: dict) -> tuple[torch.Tensor, dict]:
        robots = list(batch["robot"])
        for r in set(robots):
            if r not in self.schemas:
                raise KeyError(unknown("robot", r, self.robots))
        actions = batch["actions"].float()  # (B, H, D)
        if actions.shape[1] != self.config.horizon:
            raise ValueError(
                f"batch has action chunks of {actions.shape[1]} steps; the policy predicts {self.config.horizon}"
            )
        prefix, mask, seen = self._prefix(
            batch["images"],
            batch["state"],
            list(batch["instruction"]),
            robots,
            self._teacher_target(batch, robots),
            batch.get("crop_box"),
            batch.get("goal_xy"),
        )
        targets = self.normalizer.action(actions, robots, state=batch["state"])
        valid = (~batch["action_is_pad"])[:, :, None] & batch["dim_mask"][:, None, :]  # (B, H, D)
        loss, logs = checked_loss(
            self.config.head,
            self.head.loss(
                self.run, prefix, mask, targets, valid.float(), robots, **self._conditioning(seen)
            ),
            len(robots),
        )
        if self.target_localizer is not None:
            uv = batch.get("target_uv")
            if uv is None or "target_xy" not in batch or not torch.isfinite(uv[:, 0]).any():
                raise KeyError(
                    "policy.target_probe_weight > 0 trains the target localizer on where the named "
                    f"cube appears in the first camera ({self.config.cameras[0]!r}), which this "
                    "batch does not hold: recollect the data with vla collect (it records the "
                    "cubes' pixels in world-fixed cameras) and put a fixed camera first in "
                    "policy.cameras"
                )
            labels = [(uv[:, 0], batch["target_xy"])]
            if self.goal_token is not None:
                if "goal_uv" not in batch:
                    raise KeyError(
                        "policy.goal_token=true trains the localizer on where the goal (bowl, "
                        "plate, mark) appears: recollect the data with vla collect, which "
                        "records it"
                    )
                labels.append((batch["goal_uv"][:, 0], batch["goal_xy"]))
            probe_loss, probe_logs = self.target_localizer.loss(
                seen["heatmap"],
                seen["estimates"],
                robots,
                torch.stack([u.to(uv.device) for u, _ in labels], 1),
                torch.stack([torch.as_tensor(x).to(uv.device) for _, x in labels], 1),
                batch.get("crop_box"),
            )
            loss = loss + self.config.target_probe_weight * probe_loss
            logs.update(probe_logs)
        logs["loss"] = float(loss.detach())
        return loss, logs

    def _conditioning(self, seen: dict) -> dict:
        """The extra inputs the head declares (ActionHead.conditioning) that this policy has."""
        return {k: seen[k] for k in self.head.conditioning if k in seen}

    def _teacher_target(self, batch: dict, robots: list[str]):
        """What the target token is teacher-forced with: the true position, or, with the plane
        map, what the map makes of the true pixel. The two agree while the cube is on the
        table; once it is lifted the map reads it further along the camera's ray, and that is
        what the token will hold when acting, so it trains on the same."""
        xy = batch.get("target_xy")
        uv = batch.get("target_uv")
        plane = self.config.table_map == "plane" and self.config.target_token == "predicted"
        if not plane or xy is None or uv is None:
            return xy
        uv = torch.as_tensor(uv)[:, 0].to(self.device)
        mapped = self.target_localizer.table_position(uv.nan_to_num(), robots, 0)
        known = torch.isfinite(uv).all(-1, keepdim=True)
        return torch.where(known, mapped, torch.as_tensor(xy).to(mapped.device).float())

    # ----- acting ------------------------------------------------------------------------
    def _batch_from_obs(self, obs: dict, robot: str):
        if robot not in self.schemas:
            raise KeyError(
                unknown("robot (this checkpoint was not trained for it)", robot, self.robots)
            )
        schema = self.schemas[robot]
        if not isinstance(obs.get("instruction"), str) or not obs["instruction"].strip():
            raise ValueError("the observation has no 'instruction' (a non-empty string)")
        state = np.asarray(obs.get("state"), dtype=np.float32)
        if state.shape != (schema.state_dim,):
            raise ValueError(
                f"{robot} state must have shape ({schema.state_dim},), got {state.shape}"
            )
        if not np.isfinite(state).all():
            raise ValueError("the observation's state holds NaN or inf")
        frames = []
        for cam in self.config.cameras:
            image = obs.get("images", {}).get(cam)
            if image is None:
                raise ValueError(
                    f"the observation has no '{cam}' image; the policy uses cameras {list(self.config.cameras)}"
                )
            image = np.asarray(image)
            size = self.config.image_size
            if image.dtype != np.uint8:
                raise ValueError(f"'{cam}' image must be uint8 (0..255), got {image.dtype}")
            if image.shape != (size, size, 3):
                raise ValueError(
                    f"'{cam}' image must be ({size}, {size}, 3), got {image.shape}; set the env's image_size={size}"
                )
            frames.append(image)
        device = self.device
        images = (
            torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)[None].to(device)
        )  # (1, C, 3, H, W)
        padded = np.zeros(self.max_state_dim, np.float32)
        padded[: schema.state_dim] = state
        target = None
        if self.config.reads_true_target:
            if "target_xy" not in obs:
                raise ValueError(
                    "this policy was trained with policy.target_token=privileged: the observation needs "
                    "'target_xy' (the named cube's table position, metres), which only simulation knows"
                )
            target = torch.as_tensor(np.asarray(obs["target_xy"], np.float32)).reshape(1, 2)
        return images, torch.from_numpy(padded)[None].to(device), [obs["instruction"]], target

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.no_grad()
    def predict_normalized(
        self, images, state, instructions, robots, target_xy=None
    ) -> torch.Tensor:
        prefix, mask, seen = self._prefix(images, state, instructions, robots, target_xy)
        # (B, H, D) in [-1, 1]
        return self.head.predict(self.run, prefix, mask, robots, **self._conditioning(seen))

    @torch.no_grad()
    def predict_chunks(self, observations: list[dict], robots: list[str]) -> list[np.ndarray]:
        """Several observations (any mix of robots) in one forward pass: a chunk per robot's units."""
        parts = [
            self._batch_from_obs(obs, robot)
            for obs, robot in zip(observations, robots, strict=True)
        ]
        images = torch.cat([p[0] for p in parts])
        state = torch.cat([p[1] for p in parts])
        instructions = [p[2][0] for p in parts]
        target = torch.cat([p[3] for p in parts]) if self.config.reads_true_target else None
        chunks = self.normalizer.unaction(
            self.predict_normalized(images, state, instructions, robots, target),
            robots,
            state=state,
        )
        out = []
        for i, r in enumerate(robots):  # the last step of post-processing: the robot's own bounds
            s = self.schemas[r]
            out.append(
                np.clip(chunks[i, :, : s.action_dim].cpu().numpy(), s.action_low, s.action_high)
            )
        return out

    def predict_action_chunk(self, obs: dict, robot: str | None = None) -> np.ndarray:
        """One observation -> (horizon, action_dim) actions in the robot's own units."""
        robot = robot or obs.get("robot")
        if robot is None:
            raise ValueError("say which robot acts: predict_action_chunk(obs, robot='panda')")
        return self.predict_chunks([obs], [robot])[0]

    def select_action(self, obs: dict, robot: str | None = None) -> np.ndarray:
        """The next action, predicting a new chunk when the last one's n_action_steps are used."""
        robot = robot or obs.get("robot")
        if not self._queue or self._queue_robot != robot:
            self._queue = deque(self.predict_action_chunk(obs, robot)[: self.config.n_action_steps])
            self._queue_robot = robot
        return self._queue.popleft()

    def reset(self) -> None:
        self._queue.clear()
        self._queue_robot = None

    def check_embodiment(self, schema: Embodiment) -> None:
        """Refuse a robot whose schema differs from the one this policy was trained with."""
        if schema.name not in self.schemas:
            raise KeyError(
                unknown("robot (this checkpoint was not trained for it)", schema.name, self.robots)
            )
        diff = self.schemas[schema.name].mismatch(schema)
        if diff:
            raise ValueError(
                f"{schema.name}'s schema differs from the checkpoint's in {diff}; retrain or fix the robot"
            )

    # ----- checkpoints ---------------------------------------------------------------------
    def save_pretrained(self, directory) -> None:
        from vla.policies import checkpoint

        checkpoint.save(self, directory)

    @classmethod
    def from_pretrained(cls, directory, device="cpu", backbone=None) -> VLAPolicy:
        from vla.policies import checkpoint

        return checkpoint.load(directory, device=device, backbone=backbone)


def position_token(width: int) -> nn.Module:
    """A table position (x, y) -> one token of the sequence."""
    return nn.Sequential(nn.Linear(2, 64), nn.GELU(), nn.Linear(64, width))


def _checked_target(target_xy) -> torch.Tensor:
    if target_xy is None:
        raise KeyError(
            "policy.target_token=privileged needs 'target_xy' (the named cube's position): train on a "
            "dataset collected with it (vla collect records it) and act in simulation"
        )
    target_xy = torch.as_tensor(target_xy)
    if not torch.isfinite(target_xy).all():
        raise ValueError(
            "target_xy holds NaN: some episodes did not record their target's position; "
            "recollect them with vla collect"
        )
    return target_xy
