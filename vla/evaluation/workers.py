"""Ray actors for evaluation: env workers run the shared episode loop; one policy server
batches the observations of all workers into single forward passes (on the GPU if there is one)."""

from __future__ import annotations

import asyncio
import os
import resource
import time
from collections import OrderedDict

import ray


@ray.remote
class PolicyServer:
    """Gathers concurrent `predict` calls for a few milliseconds, runs them as one batch; with
    `batched=False` each observation gets a forward pass of its own. Float rounding differs with
    the batch's size (up to about 5e-7 in the actions on our CPU box), so only one pass per
    observation makes an episode's actions independent of which other episodes happened to
    ask at the same moment."""

    def __init__(
        self,
        path: str,
        device: str,
        max_batch: int = 64,
        wait_ms: float = 4.0,
        batched: bool = True,
    ):
        from vla.policies.vla_policy import VLAPolicy

        self.policy = VLAPolicy.from_pretrained(path, device=device)
        self.max_batch = max_batch if batched else 1
        self.wait = wait_ms / 1000 if batched else 0.0
        self.queue: list = []
        self.flusher = None
        self.requests = self.passes = self.largest_batch = 0

    def config(self) -> dict:
        return {
            "n_action_steps": self.policy.config.n_action_steps,
            "horizon": self.policy.config.horizon,
            "temporal_ensemble": self.policy.config.temporal_ensemble,
            "image_size": self.policy.config.image_size,
            "robots": self.policy.robots,
            "schemas": {r: s.to_dict() for r, s in self.policy.schemas.items()},
            "privileged_target": "target_xy" in self.policy.observes,
            "state_history": self.policy.state_history,
        }

    async def predict(self, obs: dict, robot: str):
        future = asyncio.get_running_loop().create_future()
        self.queue.append((obs, robot, future))
        self.requests += 1
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self):
        await asyncio.sleep(self.wait)
        while self.queue:
            batch, self.queue = self.queue[: self.max_batch], self.queue[self.max_batch :]
            self.passes += 1
            self.largest_batch = max(self.largest_batch, len(batch))
            try:
                results = self.policy.infer_batch([b[0] for b in batch], [b[1] for b in batch])
                for (_, _, future), result in zip(batch, results, strict=True):
                    future.set_result(result["actions"])
            except Exception as e:  # every waiting caller gets the error, none hangs
                for _, _, future in batch:
                    future.set_exception(e)

    def stats(self) -> dict:
        return {
            "requests": self.requests,
            "forward_passes": self.passes,
            "largest_batch": self.largest_batch,
        }


@ray.remote(num_cpus=1)
class EvalWorker:
    """Keeps the envs of the last few (robot, task) cells it ran; runs
    `vla.rollout.run_episode` for each job."""

    def __init__(
        self,
        suite: str,
        image_size: int,
        server=None,
        n_action_steps: int = 1,
        latency_s: float | None = None,
        measured_latency: bool = False,
        privileged_target: bool = False,
        controls: dict[str, str] | None = None,
        max_envs: int = 4,
        execution: str = "sync",
        horizon: int | None = None,
        api_key: str | None = None,
        ensemble: float | None = None,
        state_history: int = 0,
    ):
        from vla import suites

        self.suite = suites.get(suite)
        self.image_size, self.server, self.n = image_size, server, n_action_steps
        self.privileged = privileged_target
        self.controls = controls or {}  # robot -> the env control its policy was trained on
        self.latency, self.measured = latency_s, measured_latency
        # sync | async (vla/serving/chunking.py); `server` a Ray actor or a ws:// URL
        self.execution, self.horizon = execution, horizon or n_action_steps
        self.ensemble = ensemble  # temporal ensembling's weight decay, None: off
        self.state_history = state_history  # earlier states the policy reads (past_states)
        self.api_key, self._client = api_key, None
        # a few envs, the most recently used: episodes come cell by cell, and a worker that
        # kept one env per cell held ~4.6 GB over Meta-World's 50 tasks
        self.envs: OrderedDict = OrderedDict()
        self.max_envs = max_envs

    def pid(self) -> int:
        return os.getpid()

    def _env(self, robot, task, images: bool, distractors: int = 0):
        """The scripted expert reads state, not pixels: skip rendering unless a video is wanted."""
        key = (robot, task, images) + ((distractors,) if distractors else ())
        if key in self.envs:
            self.envs.move_to_end(key)
            return self.envs[key]
        while len(self.envs) >= self.max_envs:
            self.envs.popitem(last=False)[1].close()
        control = self.controls.get(robot, self.suite.control(None))
        extra = {"distractors": distractors} if distractors else {}
        self.envs[key] = self.suite.make(
            robot, task, image_size=self.image_size, image_obs=images, control=control, **extra
        )
        return self.envs[key]

    def open_envs(self) -> list[tuple]:
        """(robot, task, renders images) of the envs kept, the least recently used first."""
        return list(self.envs)

    def peak_rss_mb(self) -> float:
        """The most memory this worker process has held resident, MB (Linux reports KB)."""
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def _predict(self, robot: str):
        """obs -> a chunk, from the Ray policy server or a `vla serve` at a URL."""
        if isinstance(self.server, str):
            from vla.serving.client import PolicyClient

            if self._client is None:
                self._client = PolicyClient(self.server, self.api_key)
            return lambda obs: self._client.infer({**obs, "robot": robot})["actions"]
        return lambda obs: ray.get(self.server.predict.remote(obs, robot))

    def _policy_act(self, env, robot, held: list):
        """`held` collects the simulated seconds the world ran on while the policy thought."""
        from vla.serving.chunking import ChunkExecutor

        predict = self._predict(robot)
        measured = {"s": 0.0}

        def timed(obs):
            start = time.perf_counter()
            chunk = predict(obs)
            measured["s"] = time.perf_counter() - start
            return chunk

        def wait(seconds):
            seconds = measured["s"] if self.measured else seconds
            if seconds:
                env.policy_took(seconds)  # the world moves on while the policy thinks
                held.append(seconds)

        return ChunkExecutor(
            timed, self.n, self.horizon, self.execution,
            latency_s=self.latency or 0.0, fps=env.unwrapped.embodiment.control_hz,
            on_wait=wait, measured=self.measured, ensemble=self.ensemble,
            state_history=self.state_history,
        )  # fmt: skip

    def run(self, job: dict) -> dict:
        from vla import rollout
        from vla.envs import wrappers

        options = dict(job.get("scene") or {})  # the combination condition fixes the scene
        distractors = 0
        if job["condition"].startswith("perturb:"):  # drawn from the seed, not the training salt
            from vla.envs import perturbations as perturb

            spec = perturb.parse(job["condition"].removeprefix("perturb:"))
            options["perturb"] = perturb.draw([spec], job["seed"], perturb.EVAL_SALT)
            distractors = int(spec.magnitude) if spec.kind == "distractor" else 0
        env = self._env(
            job["robot"],
            job["task"],
            images=self.server is not None or job.get("video", False),
            distractors=distractors,
        )
        if self.privileged:  # the diagnosis policy is told where the named cube lies
            env = wrappers.PrivilegedTarget(env)
        if job["condition"] in ("heldout", "test"):  # the dev or the frozen test paraphrases
            env = wrappers.PhrasingSet(env, job["condition"])
        elif job["condition"] == "shuffled":
            env = wrappers.ShuffledInstruction(env)
        elif job["condition"] == "verb_swap":
            env = wrappers.ReplacedInstruction(env, "verb_swap_instruction")
        held: list[float] = []
        if self.server is None:
            act = env.unwrapped.expert()
        else:
            env = wrappers.LatencyInTheLoop(env)
            act = self._policy_act(env, job["robot"], held)
        result = rollout.run_episode(
            env, act, job["seed"], options=options or None, record=job.get("video", False)
        )
        result["condition"] = job["condition"]
        if job.get("scene"):
            result["combination"] = job["combination"]
        result["policy_wait_s"] = sum(held)
        if job.get("video"):
            result["video"] = encode_video(result.pop("frames")["images"], result["fps"])
        return result


def encode_video(images: dict, fps: float) -> bytes:
    import tempfile
    from pathlib import Path

    from vla.video import write_video

    with tempfile.TemporaryDirectory() as tmp:
        return write_video(images, fps, Path(tmp) / "episode.mp4").read_bytes()
