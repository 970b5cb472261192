"""The VLA policy: conditioning parts + pretrained backbone + an action head, for every robot.

    observation -> PreProcessor -> Batch -> embed_prefix (the parts' tokens) -> backbone ->
    head -> PostProcessor -> actions in the robot's own units

`infer(obs)` is the one public way to act (evaluation, `vla run`, the benchmark, a server);
`forward(batch) -> (loss, logs)` trains on a loader batch; `select_action(obs)` hands a chunk out
one step at a time; `save_pretrained(dir)` / `VLAPolicy.from_pretrained(dir)` for checkpoints.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vla import backbone as backbone_lib
from vla.embodiment import Embodiment
from vla.policies.action_head import checked_loss
from vla.policies.backbone_runner import BackboneRunner
from vla.policies.configuration import PolicyConfig
from vla.policies.heads import HEADS
from vla.policies.part import PolicyContext, Seen, checked_part_loss, checked_tokens
from vla.policies.parts import PARTS
from vla.policies.processor import Batch, Observation, PostProcessor, PreProcessor
from vla.suggest import unknown
from vla.tokenizers.normalize import Normalizer
from vla.tokenizers.text import TextTokenizer

# targets in the state's own coordinates; the other modes (joint_delta, ee_delta) are changes,
# already relative to where the arm is
RELATIVE_ACTION_MODES = ("joint_position", "ee_pose")


def relative_robots(schemas: dict[str, Embodiment]) -> list[str]:
    """The robots whose actions `policy.action_mode=relative` takes relative to the state."""
    return sorted(r for r, s in schemas.items() if s.action_mode in RELATIVE_ACTION_MODES)


LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class VLAPolicy(nn.Module):
    def __init__(
        self,
        config: PolicyConfig,
        schemas: dict[str, Embodiment],
        stats: dict,
        backbone=None,
        fitted: dict | None = None,
    ):
        """`fitted`: {part: its fitted state} (vla train fits it from the dataset, a checkpoint
        carries it). `backbone`: a loaded one to use instead of loading config.backbone."""
        super().__init__()
        self.config, self.schemas = config, dict(sorted(schemas.items()))
        self.robots, self.stats = list(self.schemas), self._checked_stats(stats)
        self.fitted = {k: v for k, v in (fitted or {}).items() if v}
        self.max_dim, self.max_state_dim = (
            max(getattr(s, k) for s in self.schemas.values()) for k in ("action_dim", "state_dim")
        )
        bb = backbone or backbone_lib.load(
            backbone_lib.BackboneConfig(
                config.backbone, config.num_layers, config.dtype, config.backbone_init
            )
        )
        self.backbone_info = dict(
            name=config.backbone, source=bb.source, content_hash=bb.content_hash
        )
        self.lm = bb.model
        relative = relative_robots(self.schemas) if config.action_mode == "relative" else ()
        self.normalizer = Normalizer(
            self.stats, self.max_dim, relative, self.max_state_dim, config.action_norm
        )
        text = TextTokenizer(bb.tokenizer, config.max_text_tokens)
        self.pre = PreProcessor(config, self.schemas, self.normalizer, text)
        self.post = PostProcessor(self.schemas, self.normalizer)
        self.parts = self._build_parts()
        self.head = self._build_head()
        self._check_head_reads_what_is_for_it()
        self._set_mode()
        self.run = BackboneRunner(self.lm)
        self._executor = None  # vla.serving.chunking.ChunkExecutor of the current episode
        self._executor_robot = None

    def _checked_stats(self, stats: dict) -> dict:
        """Every robot's statistics; relative actions (target minus the measured state) where
        the action is a target in the state's own coordinates (joints, or the TCP pose), and
        actions that are changes already (ee_delta, joint_delta) kept as they are."""
        missing = set(self.schemas) - set(stats)
        if missing:
            raise ValueError(f"no normalisation stats for robot(s) {sorted(missing)}")
        if self.config.action_mode != "relative":
            return {r: stats[r] for r in self.schemas}
        if any(
            self.schemas[r].state_dim != self.schemas[r].action_dim
            for r in relative_robots(self.schemas)
        ):
            raise ValueError("policy.action_mode=relative needs states as wide as the actions")
        return {r: stats[r] for r in self.schemas}

    def _build_parts(self) -> nn.ModuleDict:
        """Each part in the registry's order, built on what the parts before it provide."""
        from vla.policies.part import INPUTS

        c = self.config
        built, provided = {}, {}
        for name, options in c.parts.items():
            if options is None:
                continue
            context = PolicyContext(
                self.lm.config.hidden_size, self.robots, self.schemas, c.image_size, c.cameras,
                c.backbone, c.dtype, c.max_text_tokens, c.action_mode, self.normalizer,
                self.lm.get_input_embeddings(), self.fitted.get(name, {}), dict(provided),
            )  # fmt: skip
            part = PARTS[name](options, context)
            lacking = [n for n in part.needs if n not in INPUTS and n not in provided]
            if lacking:
                raise ValueError(
                    f"policy.parts.{name} needs {lacking}, which no part before it provides "
                    f"(provided: {sorted(provided)})"
                )
            provided.update(part.provides)
            built[name] = part
        if not any(p.hears for p in built.values()):
            raise ValueError(
                "no part carries the instruction into the sequence: set "
                "policy.parts.words.tokens=true or add policy.parts.sentence"
            )
        return nn.ModuleDict(built)

    def _build_head(self):
        """The configured head, told the sizes of the conditioning it reads that parts provide."""
        cls, width = HEADS[self.config.head], self.lm.config.hidden_size
        provided = {k: v for p in self.parts.values() for k, v in p.provides.items()}
        inputs = {k: provided[k] for k in cls.conditioning if k in provided}
        dims = {r: s.action_dim for r, s in self.schemas.items()}
        return cls(self.config, width, dims, self.lm.config.vocab_size, inputs=inputs)

    def _check_head_reads_what_is_for_it(self) -> None:
        for name, part in self.parts.items():
            unread = [k for k in part.provides if k not in self.head.conditioning]
            if part.for_head and unread:
                raise ValueError(
                    f"policy.parts.{name} provides {unread} for the action head, and head "
                    f"{self.config.head!r} reads none of them: use policy.head=chunk or "
                    f"policy.parts.{name}=null"
                )

    def _set_mode(self) -> None:
        if self.config.mode == "lora":
            from peft import LoraConfig, inject_adapter_in_model

            c = self.config
            lora = LoraConfig(
                r=c.lora_rank, lora_alpha=c.lora_alpha, target_modules=list(LORA_TARGETS)
            )
            self.lm = inject_adapter_in_model(lora, self.lm)
        for name, p in self.lm.named_parameters():
            p.requires_grad = self.config.mode == "full" or (
                self.config.mode == "lora" and "lora_" in name
            )

    # ----- the model: prefix, loss, sampling ------------------------------------------------
    def embed_prefix(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, Seen]:
        """(B, L, W) embeddings of every part's tokens in order, their (B, L) mask, and what
        the parts saw and provided (`Seen`)."""
        seen = Seen(
            images=batch.images, state=batch.state, raw_state=batch.raw_state,
            past_states=batch.past_states,
            words=self.run.embed(batch.word_ids), word_mask=batch.word_mask,
            instructions=batch.instructions, robots=batch.robots, target_xy=batch.target_xy,
            crop_box=batch.crop_box, labels=batch.labels if self.training else None,
        )  # fmt: skip
        dtype = self.lm.get_input_embeddings().weight.dtype
        width, b = self.lm.config.hidden_size, len(batch.robots)
        tokens, masks = [], []
        for name, part in self.parts.items():
            t, m = checked_tokens(name, part(seen), b, width)
            if t.shape[1]:
                tokens.append(t.to(dtype))
                masks.append(batch.word_mask.new_ones(t.shape[:2]) if m is None else m)
        return torch.cat(tokens, 1), torch.cat(masks, 1), seen

    def compute_loss(self, batch: Batch) -> tuple[torch.Tensor, dict]:
        prefix, mask, seen = self.embed_prefix(batch)
        loss, logs = checked_loss(
            self.config.head,
            self.head.loss(
                self.run,
                prefix,
                mask,
                batch.targets,
                batch.valid,
                batch.robots,
                **self._conditioning(seen),
            ),
            len(batch.robots),
        )
        for name, part in self.parts.items():
            extra = checked_part_loss(name, part.loss(seen, batch.labels or {}))
            if extra is not None:
                loss = loss + extra[0]
                logs.update(extra[1])
        logs["loss"] = float(loss.detach())
        return loss, logs

    @torch.no_grad()
    def sample_actions(self, batch: Batch) -> torch.Tensor:
        """-> (B, H, D) normalised actions in [-1, 1]."""
        prefix, mask, seen = self.embed_prefix(batch)
        return self.head.predict(self.run, prefix, mask, batch.robots, **self._conditioning(seen))

    def _conditioning(self, seen: Seen) -> dict:
        """The extra inputs the head declares (ActionHead.conditioning) that the parts provide."""
        return {k: seen[k] for k in self.head.conditioning if k in seen}

    def forward(self, batch: dict) -> tuple[torch.Tensor, dict]:
        """A loader batch (vla.datasets.loader) -> (loss, logs)."""
        return self.compute_loss(self.pre.training(batch))

    # ----- acting ------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def state_history(self) -> int:
        """How many earlier states acting reads (policy.parts.state.history; 0: none)."""
        return self.config.parts["state"].history

    @property
    def observes(self) -> tuple[str, ...]:
        """Observation keys beyond images, state and instruction that acting reads (a
        privileged target, which only a simulator has)."""
        return tuple(k for p in self.parts.values() for k in p.observes)

    @torch.no_grad()
    def infer_batch(
        self, observations: list[dict], robots: list[str | None] | None = None
    ) -> list[dict]:
        """Several observations (any mix of robots) in one forward pass -> one result each:
        {"actions": (H, action_dim) in the robot's units}."""
        robots = robots or [None] * len(observations)
        checked = [Observation.of(o, r) for o, r in zip(observations, robots, strict=True)]
        batch = self.pre.observations(checked, self.device)
        return [{"actions": a} for a in self.post(self.sample_actions(batch), batch)]

    def infer(self, obs: dict, robot: str | None = None) -> dict:
        """One observation ({"images": {camera: uint8 (H, W, 3)}, "state", "instruction",
        "robot"}) -> {"actions": (horizon, action_dim)} in the robot's own units."""
        return self.infer_batch([obs], [robot])[0]

    def predict_action_chunk(self, obs: dict, robot: str | None = None) -> np.ndarray:
        return self.infer(obs, robot)["actions"]

    def select_action(self, obs: dict, robot: str | None = None) -> np.ndarray:
        """The next action, predicting a new chunk when the last one's n_action_steps are used
        (or at every step, with temporal ensembling)."""
        from vla.serving.chunking import ChunkExecutor

        robot = robot or obs.get("robot")
        if self._executor is None or self._executor_robot != robot:
            c = self.config
            self._executor = ChunkExecutor(
                lambda o: self.predict_action_chunk(o, robot),
                c.n_action_steps, c.horizon, ensemble=c.temporal_ensemble,
                state_history=self.state_history,
            )  # fmt: skip
            self._executor_robot = robot
        return self._executor(obs)

    def reset(self) -> None:
        self._executor = None
        self._executor_robot = None

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
