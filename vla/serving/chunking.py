"""Running action chunks while the next one is computed: `act(obs) -> action`, one control step
per call, for `vla.rollout.run_episode`.

- `sync`: when the queue is empty, ask for a chunk and wait; with a latency the world runs on
  under the last command while the policy thinks (the env's `policy_took`), then the first
  `n_action_steps` actions of the chunk run.
- `async`: when no more than `threshold` actions are left, ask for the next chunk from the
  current observation and keep executing the queue meanwhile. The answer arrives `latency`
  later; its first actions are meant for steps already taken, so they are dropped, and where
  it overlaps the actions still queued the two are blended, moving linearly from the old
  chunk's to the new one's, so that chunks join without a jump. If the queue runs dry first,
  the robot holds its last command until the answer comes.
- `ensemble=m` (sync only; temporal ensembling as in ACT): ask for a chunk at every step and run
  the weighted mean of every chunk's action for this step, the oldest weighted exp(0), the i-th
  newer one exp(-m i), so that each step's action is a consensus of up to `horizon`
  predictions rather than the open-loop tail of one.

`state_history=k`: for a policy that reads its last k states (policy.parts.state.history), the
executor keeps the states of the steps it runs and hands them over as obs["past_states"] (k,
state_dim), newest first, the first state repeated until k steps have run. Steps the world
runs on alone while a sync policy thinks are not seen, so they are not in it.

Latency is simulated in control steps here (`latency_s` at the env's rate: what evaluation
measures); `predict` may be in-process or a remote server.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np

MODES = ("sync", "async")


class ChunkExecutor:
    def __init__(
        self,
        predict: Callable[[dict], np.ndarray],
        n_action_steps: int,
        horizon: int,
        mode: str = "sync",
        latency_s: float = 0.0,
        fps: float = 10.0,
        threshold: int | None = None,
        on_wait: Callable[[float], None] | None = None,
        measured: bool = False,
        ensemble: float | None = None,
        state_history: int = 0,
    ):
        """`measured`: sync mode reports every request to `on_wait` (which substitutes the
        time it really took); async needs a fixed simulated latency. `ensemble`: temporal
        ensembling's weight decay m (None: off)."""
        if mode not in MODES:
            raise ValueError(f"execution must be one of {MODES}, got {mode!r}")
        if measured and mode == "async":
            raise ValueError("execution=async runs on a simulated latency: set latency_ms >= 0")
        check_ensemble(ensemble)
        if ensemble is not None and mode == "async":
            raise ValueError(
                "temporal_ensemble averages a chunk asked at every step: use execution=sync"
            )
        self.ensemble = ensemble
        self.chunks: deque = deque()  # ensemble: (step asked, chunk), the oldest first
        self.predict, self.n, self.mode, self.measured = predict, n_action_steps, mode, measured
        self.latency_s, self.fps = max(0.0, latency_s), fps
        self.delay = math.ceil(self.latency_s * fps - 1e-9)  # control steps an answer takes
        # async asks again when this few actions are left: every n_action_steps, as sync
        # replans, or earlier when an answer takes longer than that
        self.threshold = (
            max(horizon - n_action_steps, self.delay) if threshold is None else threshold
        )
        self.on_wait = on_wait or (lambda seconds: None)
        self.queue: deque = deque()
        self.step = self.pops = 0
        self.pending: tuple[int, np.ndarray, int] | None = None  # (arrival, chunk, pops then)
        self.requests = self.waits = 0
        self.past: deque = deque(maxlen=max(state_history, 1))  # earlier states, newest first
        self.state_history = state_history

    def __call__(self, obs: dict) -> np.ndarray:
        if self.state_history:
            obs = self._with_past(obs)
        if self.ensemble is not None:
            action = self._ensembled(self._ask_waiting(obs))
        else:
            if self.mode == "sync":
                if not self.queue:
                    self.queue.extend(self._ask_waiting(obs)[: self.n])
            else:
                self._async(obs)
            action = self.queue.popleft()
        self.step += 1
        self.pops += 1
        return action

    def _with_past(self, obs: dict) -> dict:
        state = np.asarray(obs["state"], np.float32)
        oldest = self.past[-1] if self.past else state
        past = [self.past[i] if i < len(self.past) else oldest for i in range(self.state_history)]
        self.past.appendleft(state)
        return {**obs, "past_states": np.stack(past)}

    def _ask_waiting(self, obs) -> np.ndarray:
        """Sync: a chunk, after the world has run on while the policy thought."""
        chunk = self._ask(obs)
        if self.latency_s or self.measured:
            self.on_wait(self.latency_s)
        return chunk

    def _ensembled(self, chunk: np.ndarray) -> np.ndarray:
        """This step's action: the weighted mean over every chunk that still covers it."""
        self.chunks.append((self.step, chunk))
        while self.step - self.chunks[0][0] >= len(self.chunks[0][1]):
            self.chunks.popleft()  # every action of it is for a step already run
        actions = np.stack([c[self.step - asked] for asked, c in self.chunks])
        weights = np.exp(-self.ensemble * np.arange(len(actions)))
        return (weights @ actions / weights.sum()).astype(np.float32)

    def _ask(self, obs) -> np.ndarray:
        self.requests += 1
        return np.asarray(self.predict(obs), np.float32)

    def _async(self, obs) -> None:
        if self.pending and (self.pending[0] <= self.step or not self.queue):
            self._land()
        if self.pending is None and len(self.queue) <= self.threshold:
            self.pending = (self.step + self.delay, self._ask(obs), self.pops)
            if not self.queue:  # nothing to run meanwhile
                self._land()

    def _land(self) -> None:
        arrival, chunk, pops_then = self.pending
        self.pending = None
        if arrival > self.step:  # the queue ran dry: hold the last command until it lands
            self.waits += 1
            self.on_wait((arrival - self.step) / self.fps)
            self.step = arrival
        # its first actions were meant for the steps run from the queue since it was asked
        fresh = chunk[self.pops - pops_then :]
        self._merge(fresh if len(fresh) else chunk[-1:])  # later than its whole chunk: its end

    def _merge(self, fresh: np.ndarray) -> None:
        """The queued actions blended into the fresh chunk where they overlap."""
        old = list(self.queue)
        overlap = min(len(old), len(fresh))
        merged = []
        for i in range(overlap):
            w = (i + 1) / (overlap + 1)
            merged.append((1 - w) * old[i] + w * fresh[i])
        merged.extend(fresh[overlap:])
        self.queue = deque(np.asarray(merged, np.float32))

    def reset(self) -> None:
        self.queue.clear()
        self.chunks.clear()
        self.past.clear()
        self.pending, self.step, self.pops = None, 0, 0


def check_ensemble(ensemble: float | None) -> None:
    if ensemble is not None and not (ensemble >= 0 and math.isfinite(ensemble)):
        raise ValueError(
            f"temporal_ensemble is a weight decay >= 0 (0: a plain mean; ACT uses 0.01) or "
            f"null for off, got {ensemble!r}"
        )
