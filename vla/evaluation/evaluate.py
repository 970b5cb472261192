"""`vla eval`: success rates per robot x task over seeded episodes, in parallel with Ray.

Env workers each own envs and run the shared episode loop; a single policy server batches
their observations (the scripted expert, `policy.path=expert`, runs inside the workers).
Every finished episode is appended to `episodes.jsonl` at once (flushed, fsynced), so a crash
loses nothing and a rerun resumes where it stopped; a worker that dies is replaced and its
episode run again. The report is written from `episodes.jsonl` at the end.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from vla.embodiment import control_of
from vla.envs import language
from vla.evaluation import report, resume
from vla.ray_pool import ActorPool

EXPERT = "expert"
DRAWS_NOTE = (
    "each episode's perturbation is drawn from its seed with the evaluation's salt "
    "(envs/perturbations.py EVAL_SALT), never the one `vla collect randomize=` draws with"
)


@dataclass
class EvalConfig:
    """`vla eval`'s settings (configs/eval.yaml adds the command line's values of the fields
    without a default, `policy.path` for policy_path; vla/commands/config_store.py stores the defaults)."""

    policy_path: str  # a checkpoint directory, or `expert` for the scripted reference
    robots: list[str] | None  # None: every robot of the suite
    tasks: list[str]  # task names, or a suite's task groups (metaworld: mt10, mt50, ...)
    episodes: int = 50  # seeded episodes per robot x task (and per language condition)
    output: str = "outputs/eval"
    workers: int = 2  # Ray env workers
    seed: int = 1000  # first seed; demonstrations use 0.. so evaluation scenes are new ones
    image_size: int | None = None  # None: the checkpoint's
    # the dev paraphrases ("heldout"), the shuffled-instruction control and, on the tabletop, the
    # verb swap (the same cube, another task's instruction)
    language_checks: bool = True
    # the frozen test paraphrases (envs/test_phrasings.py): once per shipped checkpoint, for
    # its published figure; never to choose anything
    test_phrasings: bool = False
    # tabletop (task:colour or place:receptacle) scenes left out of the training data with
    # `vla collect leave_out=`, evaluated apart as the "combination" condition
    combinations: list[str] = field(default_factory=list)
    # scene perturbations, each its own condition beside the unperturbed one: kind or
    # kind:magnitude (envs/perturbations.py), e.g. [camera_move:5, light:0.6, distractor:2]
    perturb: list[str] = field(default_factory=list)
    # sync: ask for a chunk when the last is used up and wait; async: ask for the next while
    # the current one runs and blend where they overlap (vla/serving/chunking.py)
    execution: str = "sync"
    # a running `vla serve` (ws://HOST:PORT) to act through instead of loading policy.path here;
    # api_key when it asks for one
    server: str | None = None
    api_key: str | None = None
    videos: int = 2  # episodes recorded per robot x task (training phrasings)
    latency_ms: float | None = None  # simulated inference latency; -1 uses the measured one
    device: str = "auto"  # auto | cpu | cuda: where the policy server runs
    # batch the workers' observations into one forward pass. None: on a GPU, where batching
    # pays; on a CPU one pass per observation, so that an episode's actions never depend on
    # which other episodes shared its pass (float rounding differs with the batch size)
    batch_policy: bool | None = None
    ray_address: str | None = None  # None: a local Ray; or a cluster's address
    progress: bool = True
    n_action_steps: int | None = None  # actions run per predicted chunk; None: the checkpoint's
    # temporal ensembling's weight decay (vla/serving/chunking.py): None: the checkpoint's
    # setting; a number turns it on with that decay; -1 turns it off
    temporal_ensemble: float | None = None
    suite: str = "tabletop"  # vla.suites: tabletop | metaworld
    conditions: list[str] = field(default_factory=list, init=False)  # from language_checks

    def __post_init__(self):
        from vla import suites

        _, self.robots, self.tasks = suites.checked_cells(
            self.suite, self.robots, self.tasks, self.episodes, self.workers
        )
        from vla.serving.chunking import MODES

        if self.execution not in MODES:
            raise ValueError(f"execution must be one of {MODES}, got {self.execution!r}")
        if self.execution == "async" and self.latency_ms is not None and self.latency_ms < 0:
            raise ValueError("execution=async runs on a simulated latency: set latency_ms >= 0")
        if self.temporal_ensemble is not None and self.temporal_ensemble != -1:
            from vla.serving.chunking import check_ensemble

            check_ensemble(self.temporal_ensemble)
        if self.server is not None:
            if not str(self.server).startswith(("ws://", "wss://")):
                raise ValueError(
                    f"server= is a URL such as ws://127.0.0.1:8000, got {self.server!r}"
                )
            self.policy_path = self.server if self.policy_path == EXPERT else self.policy_path
        elif self.policy_path != EXPERT and not Path(self.policy_path).exists():
            raise FileNotFoundError(
                f"no checkpoint at {self.policy_path}; train one with `vla train`, or use policy.path=expert"
            )
        elif self.policy_path != EXPERT:
            # refused from the checkpoint's config, before a policy server and env workers
            # start (about 20 s on 2 cores); a served policy is checked on its metadata later
            from vla.policies import checkpoint

            known = list(checkpoint.read_config(self.policy_path)["robots"])
            refuse_unknown_robots(self.robots, known)
        self.conditions = ["train"]
        if self.language_checks:
            self.conditions += ["heldout", "shuffled"]
            if self.suite == "tabletop":
                self.conditions.append("verb_swap")
        if self.test_phrasings:
            self.conditions.append("test")
        if self.combinations:
            if self.suite != "tabletop":
                raise ValueError(
                    "combinations= are tabletop scenes (task:colour, place:receptacle)"
                )
            for c in self.combinations:
                language.parse_combination(c)  # a clear error for a bad one
            self.conditions.append("combination")
        from vla.envs import perturbations

        for p in perturbations.parse_all(self.perturb):
            if p.kind == "distractor" and self.suite != "tabletop":
                raise ValueError("perturb=distractor is the tabletop's: Meta-World has none")
            self.conditions.append(f"perturb:{p.name}")


def refuse_unknown_robots(robots: list[str], known: list[str]) -> None:
    missing = set(robots) - set(known)
    if missing:
        raise ValueError(f"the checkpoint was not trained for {sorted(missing)}; it knows {known}")


def identity(cfg: EvalConfig) -> dict:
    """What makes two evaluations' episodes interchangeable (robots, tasks and the episode
    count may grow between reruns: the job keys tell those apart)."""
    if cfg.server:
        policy = f"served at {cfg.server}"
    else:
        policy = EXPERT if cfg.policy_path == EXPERT else resume.weights_hash(cfg.policy_path)
    found = {
        "policy": policy,
        "execution": cfg.execution,
        "image_size": cfg.image_size,
        "latency_ms": cfg.latency_ms,
        "n_action_steps": cfg.n_action_steps,
    }
    if cfg.temporal_ensemble is not None:  # so that evaluations from before it still resume
        found["temporal_ensemble"] = cfg.temporal_ensemble
    return found


def job_key(job: dict) -> tuple:
    return job["robot"], job["task"], job["seed"], job["condition"], job.get("combination")


def scenes(cfg: EvalConfig, condition: str) -> list[tuple[str, dict | None, str | None]]:
    """(task, reset options fixing the scene or None, combination name) of one condition: every
    task as its seeds draw it, but the verb swap only where the task has one and the
    combination condition each left-out combination of the tasks evaluated."""
    if condition == "combination":
        out = []
        for name in cfg.combinations:
            task, scene = language.parse_combination(name)
            if task in cfg.tasks:
                out.append((task, scene, name))
        return out
    if condition == "verb_swap":
        return [(t, None, None) for t in cfg.tasks if t in language.VERB_SWAP]
    return [(t, None, None) for t in cfg.tasks]


def plan(cfg: EvalConfig) -> list[dict]:
    jobs = []
    for condition in cfg.conditions:
        for robot in cfg.robots:
            for task, scene, combination in scenes(cfg, condition):
                for k in range(cfg.episodes):
                    job = {
                        "robot": robot,
                        "task": task,
                        "seed": cfg.seed + k,
                        "condition": condition,
                        "video": condition == "train" and k < cfg.videos,
                    }
                    if scene:
                        job |= {"scene": scene, "combination": combination}
                    jobs.append(job)
    return jobs


def read_done(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a line cut short by a crash: everything after it is rerun
    return records


def evaluate(cfg: EvalConfig, hooks=None) -> dict:
    import ray

    from vla.evaluation.workers import EvalWorker, PolicyServer

    output = Path(cfg.output)
    (output / "videos").mkdir(parents=True, exist_ok=True)
    episodes_path = output / resume.EPISODES
    resume.prepare(output, identity(cfg))
    done_records = read_done(episodes_path)
    _rewrite(episodes_path, done_records)
    done = {job_key(r) for r in done_records}
    jobs = [j for j in plan(cfg) if job_key(j) not in done]
    start = time.perf_counter()

    if jobs:
        if not ray.is_initialized():
            ray.init(
                address=cfg.ray_address,
                num_cpus=None if cfg.ray_address else cfg.workers + 1,
                include_dashboard=False,
                log_to_driver=False,
            )
        server, n_steps, size = None, 1, cfg.image_size or 128
        privileged, controls = False, {}
        horizon = ensemble = None
        history = 0
        if cfg.server:  # a `vla serve` somewhere: its metadata says what it serves
            from vla.serving.client import PolicyClient

            with PolicyClient(cfg.server, cfg.api_key) as client:
                meta = client.metadata
            server = cfg.server
            info = {
                "n_action_steps": meta["n_action_steps"], "horizon": meta["chunk_length"],
                "image_size": meta["image_size"], "robots": list(meta["robots"]),
                "schemas": meta["robots"], "temporal_ensemble": meta.get("temporal_ensemble"),
                "state_history": meta.get("state_history", 0),
            }  # fmt: skip
        elif cfg.policy_path != EXPERT:
            import torch

            gpu = torch.cuda.is_available() and cfg.device != "cpu"
            # num_cpus=0: it must be placeable beside a full set of env workers (it waits more
            # than it computes on a CPU box; on a GPU box the GPU is what it holds).
            batched = gpu if cfg.batch_policy is None else cfg.batch_policy
            server = PolicyServer.options(
                num_cpus=0, num_gpus=1 if gpu else 0, max_concurrency=1000
            ).remote(
                str(Path(cfg.policy_path).resolve()), "cuda" if gpu else "cpu", batched=batched
            )
            info = ray.get(server.config.remote())
        if server is not None:
            n_steps, size = info["n_action_steps"], cfg.image_size or info["image_size"]
            horizon = info["horizon"]
            ensemble = info.get("temporal_ensemble")
            if cfg.temporal_ensemble is not None:
                ensemble = None if cfg.temporal_ensemble == -1 else cfg.temporal_ensemble
            if ensemble is not None and cfg.execution == "async":
                raise ValueError(
                    "temporal ensembling asks for a chunk at every step: use execution=sync "
                    "(or temporal_ensemble=-1 to turn it off)"
                )
            privileged = info.get("privileged_target", False)
            history = info.get("state_history", 0)
            controls = {r: control_of(s) for r, s in info["schemas"].items()}
            if cfg.n_action_steps is not None:
                if not 1 <= cfg.n_action_steps <= info["horizon"]:
                    raise ValueError(
                        f"n_action_steps={cfg.n_action_steps}: the policy predicts chunks of "
                        f"{info['horizon']}, so pick 1..{info['horizon']}"
                    )
                n_steps = cfg.n_action_steps
            refuse_unknown_robots(cfg.robots, info["robots"])
        latency = None if cfg.latency_ms is None or cfg.latency_ms < 0 else cfg.latency_ms / 1000

        def make_worker():
            return EvalWorker.remote(
                cfg.suite,
                size,
                server,
                n_steps,
                latency,
                cfg.latency_ms is not None and cfg.latency_ms < 0,
                privileged,
                controls,
                execution=cfg.execution,
                horizon=horizon,
                api_key=cfg.api_key,
                ensemble=ensemble,
                state_history=history,
            )

        pool = ActorPool(make_worker, cfg.workers)
        queue = list(reversed(jobs))
        bar = None
        if cfg.progress:
            from tqdm import tqdm

            bar = tqdm(total=len(jobs), desc="eval", unit="episode")
        with open(episodes_path, "a") as sink:

            def handle(job, result):
                video = result.pop("video", None)
                if video:
                    name = f"{job['robot']}_{job['task']}_seed{job['seed']}.mp4"
                    (output / "videos" / name).write_bytes(video)
                sink.write(json.dumps(result) + "\n")
                sink.flush()
                os.fsync(sink.fileno())
                done_records.append(result)
                if bar:
                    bar.update(1)
                if hooks is not None:
                    hooks(len(done_records), pool.actors)

            pool.run(
                next_job=lambda: queue.pop() if queue else None,
                call=lambda worker, job: worker.run.remote(job),
                handle=handle,
                lost=queue.append,  # the worker died mid-episode: a new one runs it again
            )
        restarts = pool.restarts
        peak_mb = max(ray.get([a.peak_rss_mb.remote() for a in pool.actors]), default=0.0)
        if bar:
            bar.close()
        batching = ray.get(server.stats.remote()) if server is not None and not cfg.server else None
    else:
        restarts, batching, peak_mb = 0, None, None

    seconds = time.perf_counter() - start
    results = report.write(
        output,
        done_records,
        {
            "policy": cfg.policy_path,
            "episodes": len(done_records),
            "seconds": seconds,
            "episodes_per_s": len(jobs) / seconds if jobs and seconds > 0 else 0.0,
            "workers": cfg.workers,
            "worker_restarts": restarts,
            "worker_peak_rss_mb": peak_mb,  # the largest env worker's resident memory
            "policy_batching": batching,
            "latency_ms": cfg.latency_ms,
            "execution": cfg.execution,
            "combinations": list(cfg.combinations),
            **({"perturbation_draws": DRAWS_NOTE} if cfg.perturb else {}),
            **({"test_phrasings_sha256": test_fingerprint()} if "test" in cfg.conditions else {}),
        },
    )
    return results


def test_fingerprint() -> str:
    """The frozen test paraphrases' fingerprint, printed with every report that used them."""
    from vla.envs import test_phrasings

    test_phrasings.load()  # refuses a file that is not the frozen one
    return test_phrasings.FINGERPRINT


def _rewrite(path: Path, records: list[dict]) -> None:
    """Keep only whole lines (a crash can leave the last one cut short)."""
    from vla import atomic

    if path.is_file():
        atomic.write_bytes(path, "".join(json.dumps(r) + "\n" for r in records).encode())
