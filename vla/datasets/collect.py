"""Scripted-expert demonstrations in parallel: Ray actors each own envs, the driver writes.

Only successful episodes are kept; failures are counted and replaced by further seeds. Every
finished episode is staged on disk the moment it arrives (one atomic file each) and packed into
its robot's LeRobot v3 dataset at the end (`meta.finalize`), so a killed run loses nothing:
running the same command again packs what was staged and skips the (robot, task, seed)
episodes already there.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from vla.datasets import collection_record, episode_io, layout, meta, v3_writer
from vla.ray_pool import ActorPool

MAX_ENVS = 4  # envs a collection worker keeps open, the most recently used


@dataclass
class CollectConfig:
    """`vla collect`'s settings (configs/collect.yaml adds the command line's values of the
    fields without a default; vla/commands/config_store.py stores the defaults for Hydra)."""

    robots: list[str] | None  # None: every robot of the suite
    tasks: list[str]  # task names, or a suite's task groups (metaworld: mt10, mt50, ...)
    episodes: int  # successful episodes per robot x task
    output: str
    workers: int = 2  # Ray actors, each owning one env per (robot, task)
    image_size: int = 128  # square camera images, front + wrist
    seed: int = 0  # first seed of every cell
    max_attempts_factor: float = 2.0  # give up on a cell after this many times `episodes` tries
    # train | heldout | train_wide (the training phrasings and five more per task) phrasings;
    # never test: see below
    instruction_set: str = "train"
    ray_address: str | None = None  # None: a local Ray; or a cluster's address
    progress: bool = True
    # std of Gaussian noise on every executed arm action, in metres for positions and radians
    # for angles (joint targets, TCP pose targets, Meta-World's hand moves alike); the clean
    # expert action is what is recorded (DART). 0 records the expert's own trajectories.
    action_noise: float = 0.0
    # a noisy episode whose expert fails is tried again on the same seed, each time with half
    # the noise and the last time with none (2: noise, noise/2, clean); each try counts
    # against the cell's attempts. 0 gives the seed up and a new one replaces it, which leans
    # the kept scenes of a hard task towards those the noisy expert could do
    action_noise_retries: int = 0
    # tabletop: joint (absolute joint targets), ee_delta (TCP pose changes through the env's
    # IK, the state the TCP pose) or ee_pose (absolute TCP pose targets); None: the suite's first
    control: str | None = None
    # frames recorded after the expert first succeeds (it goes on acting): demonstrations that
    # do not end at the success threshold (a lift goes on upwards, a reach stays on the cube)
    after_success: int = 0
    # metres within which the tabletop's scripted expert rounds the waypoints its task marks as
    # corners, instead of stopping at each (envs/experts.py); 0 stops everywhere. Meta-World's
    # experts are its own scripted policies, with no waypoints: nothing changes there
    expert_blend: float = 0.0
    # the tabletop's expert plans the task again after a missed grasp (envs/experts.py), so
    # that with action_noise the data show recoveries; Meta-World's experts ignore it
    expert_regrasp: bool = False
    suite: str = "tabletop"  # vla.suites: tabletop | metaworld
    # tabletop (task:colour or place:receptacle) scenes kept out of the data, e.g.
    # [place:red, lift:blue], so that `vla eval combinations=` can test what was never shown
    leave_out: list[str] = field(default_factory=list)
    # scene changes drawn per episode and recorded with it (envs/perturbations.py), e.g.
    # [camera_move:5, light:0.6]: data that varies as a lab does; never the evaluation's draws
    randomize: list[str] = field(default_factory=list)
    # the share of episodes drawn with those changes (chosen by seed); the rest keep the scene
    # as the suite sets it, so the unchanged scenes stay in the data
    randomize_share: float = 1.0

    def __post_init__(self):
        from vla import suites

        suite, self.robots, self.tasks = suites.checked_cells(
            self.suite, self.robots, self.tasks, self.episodes, self.workers
        )
        self.control = suite.control(self.control)
        if self.action_noise > 0 and (self.suite, self.control) == ("tabletop", "ee_delta"):
            raise ValueError(
                "action_noise with the tabletop's ee_delta control would drift uncorrected (its "
                "expert hands out changes of its own plan): use control=ee_pose or joint"
            )
        if self.action_noise < 0:
            raise ValueError(
                f"action_noise must be >= 0 (metres, radians), got {self.action_noise}"
            )
        if self.action_noise_retries < 0:
            raise ValueError(
                f"action_noise_retries must be >= 0 (tries), got {self.action_noise_retries}"
            )
        if self.after_success < 0:
            raise ValueError(f"after_success must be >= 0 (steps), got {self.after_success}")
        if self.expert_blend < 0:
            raise ValueError(f"expert_blend must be >= 0 (metres), got {self.expert_blend}")
        if self.instruction_set == "test":
            raise ValueError(
                "instruction_set=test: the frozen test paraphrases never enter a dataset (they "
                "are for one published evaluation); collect with train, train_wide or heldout"
            )
        self.leave_out = list(self.leave_out or [])
        self.randomize = list(self.randomize or [])
        from vla.envs import perturbations

        if not 0 < self.randomize_share <= 1:
            raise ValueError(
                f"randomize_share is a share of episodes in (0, 1], got {self.randomize_share}"
            )
        if self.randomize_share < 1 and not self.randomize:
            raise ValueError(
                "randomize_share chooses episodes for randomize=[...]: name the changes"
            )
        for p in perturbations.parse_all(self.randomize):  # a clear error for a bad one
            if p.kind == "distractor" and self.suite != "tabletop":
                raise ValueError("randomize=distractor is the tabletop's: Meta-World has none")
        if self.leave_out:
            from vla.envs import language

            if self.suite != "tabletop":
                raise ValueError("leave_out= names tabletop scenes (task:colour, place:receptacle)")
            scenes = [language.parse_combination(c) for c in self.leave_out]  # checked
            for task in {t for t, _ in scenes}:
                colours = {s.get("target") for t, s in scenes if t == task} - {None}
                places = {s.get("receptacle") for t, s in scenes if t == task} - {None}
                if colours == set(language.COLORS) or places == set(language.RECEPTACLES):
                    raise ValueError(
                        f"leave_out= would leave no {task} scene to collect: keep at least one "
                        "colour (and for place one receptacle)"
                    )


@dataclass
class CollectSummary:
    output: str
    written: int = 0
    skipped_existing: int = 0
    existing: Counter = field(default_factory=Counter)  # per cell: kept by an earlier run
    left_out: Counter = field(default_factory=Counter)  # seeds whose scene was left out
    failures: Counter = field(default_factory=Counter)
    with_less_noise: Counter = field(default_factory=Counter)  # kept on an action_noise retry
    successes: Counter = field(default_factory=Counter)
    worker_restarts: int = 0
    seconds: float = 0.0
    incomplete: list = field(default_factory=list)


# an arm action's unit -> how many of it make a metre (lengths) or a radian (angles)
UNITS_PER_SI = {"m": 1.0, "cm": 100.0, "mm": 1000.0, "rad": 1.0}


def per_unit(units):
    """Scale from metres/radians to each arm dimension's own unit."""
    import numpy as np

    unknown = sorted(set(units) - set(UNITS_PER_SI))
    if unknown:
        raise ValueError(f"action_noise knows units {sorted(UNITS_PER_SI)}, not {unknown}")
    return np.array([UNITS_PER_SI[u] for u in units])


def make_worker_class():
    import ray

    @ray.remote(num_cpus=1)
    class CollectWorker:
        """Owns one env per (robot, task); runs an expert episode per call."""

        def __init__(
            self,
            suite: str,
            image_size: int,
            action_noise: float = 0.0,
            control: str = "joint",
            after_success: int = 0,
            leave_out: tuple[str, ...] = (),
            randomize: tuple[str, ...] = (),
            randomize_share: float = 1.0,
            expert_blend: float = 0.0,
            expert_regrasp: bool = False,
        ):
            from vla import suites

            self.suite = suites.get(suite)
            self.image_size = image_size
            self.action_noise = action_noise
            self.control = control
            self.after_success = after_success
            self.leave_out = tuple(leave_out)
            from vla.envs import perturbations

            self.randomize = perturbations.parse_all(randomize)
            self.randomize_share = randomize_share
            self.expert_blend = expert_blend
            self.expert_regrasp = expert_regrasp
            self.distractors = next(
                (int(p.magnitude) for p in self.randomize if p.kind == "distractor"), 0
            )
            # the last few (robot, task) envs: jobs come cell by cell, and one env per cell
            # held several GB over Meta-World's 50 tasks (each its own MuJoCo model)
            self.envs: OrderedDict = OrderedDict()

        def run(
            self, robot: str, task: str, seed: int, instruction_set: str, noise_scale=1.0
        ) -> dict:
            import numpy as np

            from vla import rollout
            from vla.envs import perturbations

            if (robot, task) not in self.envs:
                while len(self.envs) >= MAX_ENVS:
                    self.envs.popitem(last=False)[1].close()
                extra = {"distractors": self.distractors} if self.distractors else {}
                self.envs[robot, task] = self.suite.make(
                    robot, task, image_size=self.image_size, control=self.control, **extra
                )
            self.envs.move_to_end((robot, task))
            env = self.envs[robot, task]
            options = {"instruction_set": instruction_set}
            if self.randomize and perturbations.randomized(seed, self.randomize_share):
                # the training salt: evaluation never draws the same changes
                options["perturb"] = perturbations.draw(
                    self.randomize, seed, perturbations.COLLECT_SALT
                )
            if self.leave_out:  # the seed's scene first: one reset, then the episode
                from vla.envs.language import in_combination

                facts = env.reset(seed=seed, options=dict(options))[1]["episode"]
                if any(in_combination(task, facts, c) for c in self.leave_out):
                    return {"left_out": True, "success": False}
            perturb = None
            noise = self.action_noise * noise_scale
            if noise > 0:
                rng = np.random.default_rng([seed, 1])  # the same noise for the same seed
                space = env.action_space
                std = noise * per_unit(env.unwrapped.embodiment.joint_units)

                def perturb(action):
                    noisy = action.copy()
                    noisy[:-1] += rng.normal(0.0, 1.0, len(action) - 1) * std
                    return np.clip(noisy, space.low, space.high)

            expert = env.expert(blend=self.expert_blend, regrasp=self.expert_regrasp)
            result = rollout.run_episode(
                env,
                expert,
                seed,
                options,
                record=True,
                encode_image=episode_io.encode_png,
                perturb=perturb,
                after_success=self.after_success,
            )
            if self.action_noise > 0:  # what this episode's executed moves were pushed by
                result["action_noise"] = noise
            if self.expert_regrasp:  # which kept demonstrations show a second grasp
                result["expert_replans"] = getattr(expert, "replans", 0)  # 0: Meta-World
            return result

        def ping(self) -> bool:
            return True

    return CollectWorker


def noise_scale(tried: int, retries: int) -> float:
    """The share of `action_noise` on a seed's try number `tried` (0 the first): halved on each
    retry, and none on the last of `retries`."""
    if tried == 0:
        return 1.0
    return 0.0 if tried >= retries else 0.5**tried


def _has_episodes(root: Path) -> bool:
    return root.is_dir() and (
        bool(layout.staged_files(root)) or any((p / "meta").is_dir() for p in root.iterdir())
    )


def collect(cfg: CollectConfig) -> CollectSummary:
    import ray

    root = Path(cfg.output)
    summary = CollectSummary(output=str(root))
    start = time.perf_counter()
    if layout.is_legacy(root):
        raise ValueError(layout.legacy_message(root))
    done = set()
    kept = _has_episodes(root)
    collection_record.write_or_check(root, cfg, has_episodes=kept)  # before any episode
    if kept:
        meta.finalize(root)  # what an interrupted run staged
        done = {v3_writer.identity(r) for r in meta.load_records(root)}
    have = Counter((r, t) for r, t, _ in done)
    cells = [(r, t) for r in cfg.robots for t in cfg.tasks]
    budget = {c: int(cfg.episodes * cfg.max_attempts_factor) for c in cells}
    next_seed = {c: cfg.seed for c in cells}
    needed = {c: max(0, cfg.episodes - have[c]) for c in cells}
    summary.existing = Counter({c: min(have[c], cfg.episodes) for c in cells if have[c]})
    summary.skipped_existing = sum(summary.existing.values())
    in_flight = Counter()
    # (seed, try) to run again: the worker died mid-episode, or a noisy expert failed and the
    # seed gets a try with less noise. A job is (robot, task, seed, try).
    retry = {c: [] for c in cells}

    def next_job(cell):
        while budget[cell] > 0 and needed[cell] - in_flight[cell] > 0:
            if retry[cell]:
                seed, tried = retry[cell].pop()
            else:
                seed, tried = next_seed[cell], 0
                next_seed[cell] += 1
            if (*cell, seed) in done:
                continue
            budget[cell] -= 1
            in_flight[cell] += 1
            return (*cell, seed, tried)
        return None

    if sum(needed.values()) == 0:  # finalized above
        summary.seconds = time.perf_counter() - start
        return summary

    if not ray.is_initialized():
        ray.init(
            address=cfg.ray_address,
            num_cpus=None if cfg.ray_address else cfg.workers,
            include_dashboard=False,
            log_to_driver=False,
        )
    worker_cls = make_worker_class()
    pool = ActorPool(
        lambda: worker_cls.remote(
            cfg.suite,
            cfg.image_size,
            cfg.action_noise,
            cfg.control,
            cfg.after_success,
            tuple(cfg.leave_out),
            tuple(cfg.randomize),
            cfg.randomize_share,
            cfg.expert_blend,
            cfg.expert_regrasp,
        ),
        cfg.workers,
    )
    bar = None
    if cfg.progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(needed.values()), desc="collect", unit="episode")

    def next_any():
        return next((job for cell in cells if (job := next_job(cell)) is not None), None)

    def handle(job, result):
        cell = job[:2]
        in_flight[cell] -= 1
        if result.get("left_out"):  # not a try: the next seed takes its place
            budget[cell] += 1
            summary.left_out[cell] += 1
            return
        if result["success"]:
            frames = result.pop("frames")
            episode_io.write_episode(layout.staged_path(root, *job[:3]), result, frames)
            done.add(job[:3])
            needed[cell] -= 1
            summary.written += 1
            summary.successes[cell] += 1
            summary.with_less_noise[cell] += job[3] > 0
            if bar:
                bar.update(1)
        else:
            summary.failures[cell] += 1
            if cfg.action_noise > 0 and job[3] < cfg.action_noise_retries:
                retry[cell].append((job[2], job[3] + 1))

    def lost(job):  # its actor died: run the same episode again
        cell = job[:2]
        in_flight[cell] -= 1
        budget[cell] += 1
        retry[cell].append(job[2:])

    try:
        pool.run(
            next_job=next_any,
            call=lambda worker, job: worker.run.remote(
                *job[:3], cfg.instruction_set, noise_scale(job[3], cfg.action_noise_retries)
            ),
            handle=handle,
            lost=lost,
            in_flight=2,  # two per worker keep each busy while the driver writes
        )
    finally:
        summary.worker_restarts = pool.restarts
        if bar:
            bar.close()
        if _has_episodes(root):
            meta.finalize(root)
    summary.incomplete = [c for c in cells if needed[c] > 0]
    summary.seconds = time.perf_counter() - start
    return summary
