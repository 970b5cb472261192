"""PyTorch access to a dataset: frames with action chunks, mixed robots, balanced sampling.

A sample is one frame t of one episode with the next `horizon` actions. Robots have different
action sizes, so state and actions are zero-padded to the widest robot in the dataset, with
`dim_mask` marking the real entries and `action_is_pad` the chunk steps past the episode's end
(those repeat the last action, as LeRobot does).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from vla.datasets import episode_io, meta
from vla.datasets.source import Source

SPLITS = ("train", "val", "all")


def split_key(robot: str, task: str, seed: int) -> float:
    """An episode's place in [0, 1) for splitting: by identity, not position, so adding
    episodes moves none between train and validation."""
    digest = hashlib.sha1(f"{robot}/{task}/{seed}".encode()).digest()
    return int.from_bytes(digest[:4], "little") / 2**32


def validation_ids(episodes: list[dict], val_fraction: float) -> set[int]:
    """Positions of the episodes whose key falls under `val_fraction`; at least one when there
    are two or more (a tiny dataset still gets a validation loss)."""
    keys = {i: split_key(e["robot"], e["task"], e["seed"]) for i, e in enumerate(episodes)}
    chosen = {i for i, k in keys.items() if k < val_fraction}
    if not chosen and len(keys) >= 2 and val_fraction > 0:
        chosen = {min(keys, key=keys.get)}
    return chosen


class EpisodeDataset(Dataset):
    """Frames of every episode of a dataset (a mixture manifest, a folder with one, or one
    LeRobot v3 dataset: `vla.datasets.mixture`)."""

    def __init__(
        self,
        root: str | Path,
        horizon: int = 8,
        split: str = "train",
        val_fraction: float = 0.1,
        robots: list[str] | None = None,
        tasks: list[str] | None = None,
        cameras: list[str] | None = None,
        augment: bool = False,
        cache_episodes: int | None = None,
        sources: list[Source] | None = None,
        episodes_per_task: int | None = None,
        state_history: int = 0,
    ):
        """`episodes_per_task`: keep only the first N episodes (by seed) of each robot and task
        of the split, to measure what more demonstrations buy; validation is left whole.
        `state_history`: also give each frame's k earlier states ("past_states", newest first;
        the episode's first state where it began fewer than k frames before)."""
        self.root = Path(root)
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if horizon < 1:
            raise ValueError("horizon must be at least 1")
        self.sources = sources if sources is not None else meta.open_sources(self.root)
        self.horizon = horizon
        self.state_history = state_history
        self.augment = augment
        self.schemas = meta.robot_schemas(self.sources)
        self.robots = sorted(self.schemas)
        for r in robots or []:
            if r not in self.robots:
                raise ValueError(f"robot {r!r} is not in {self.root} (it has {self.robots})")
        shared = set.intersection(*(set(s.cameras) for s in self.sources))
        self.cameras = list(cameras) if cameras else sorted(shared)
        missing = set(self.cameras) - shared
        if missing:
            raise ValueError(
                f"camera(s) {sorted(missing)} not in every dataset of {self.root} (all have "
                f'{sorted(shared)}); map them in the manifest entries\' "cameras"'
            )
        self.max_dim = max(s.action_dim for s in self.schemas.values())
        self.max_state_dim = max(s.state_dim for s in self.schemas.values())
        # Each episode: its record plus "source" (which dataset) and "row" (its place there).
        table = [
            {**record, "source": k, "row": row}
            for k, source in enumerate(self.sources)
            for row, record in enumerate(source.records)
            if (robots is None or record["robot"] in robots)
            and (tasks is None or record["task"] in tasks)
        ]
        val = validation_ids(table, val_fraction)
        self.episodes = [
            e for i, e in enumerate(table) if split == "all" or (i in val) == (split == "val")
        ]
        if episodes_per_task is not None and split != "val":
            self.episodes = first_per_task(self.episodes, episodes_per_task)
        if not self.episodes:
            raise ValueError(
                f"no episodes in {self.root} for split={split} robots={robots} tasks={tasks}"
            )
        lengths = np.array([e["length"] for e in self.episodes])
        self.frame_episode = np.repeat(np.arange(len(self.episodes)), lengths)  # (N,)
        self.frame_index = np.concatenate([np.arange(n) for n in lengths])  # (N,)
        groups = sorted({(e["source"], e["robot"], e["task"]) for e in self.episodes})
        self.group_names = groups
        index = {g: i for i, g in enumerate(groups)}
        group_of_episode = np.array(
            [index[e["source"], e["robot"], e["task"]] for e in self.episodes]
        )
        self.frame_group = group_of_episode[self.frame_episode]
        self.group_weights = np.array([self.sources[g[0]].entry.weight for g in groups])
        self._cache: OrderedDict[int, dict] = OrderedDict()
        # Episodes kept in memory (encoded frames, a few hundred kB each). Batches draw frames
        # from every episode at random, so a cache smaller than the dataset re-reads a parquet
        # file for most samples; None keeps them all.
        self._cache_size = len(self.episodes) if cache_episodes is None else cache_episodes
        self._position = {(e["source"], e["row"]): i for i, e in enumerate(self.episodes)}

    def __len__(self) -> int:
        return len(self.frame_episode)

    def image_shape(self, camera: str) -> tuple[int, ...]:
        shapes = {s.image_shape(camera) for s in self.sources}
        if len(shapes) != 1:
            raise ValueError(f"the datasets' {camera} images differ in size: {sorted(shapes)}")
        return shapes.pop()

    def _load(self, pos: int) -> dict:
        """Episode `pos`'s frames; the other episodes of the same data file come along (one
        read per file) while the cache has room for them."""
        if pos in self._cache:
            self._cache.move_to_end(pos)
            return self._cache[pos]
        e = self.episodes[pos]
        source = self.sources[e["source"]]
        row = source.rows[e["row"]]
        same_file = [
            r
            for r, other in enumerate(source.rows)
            if (other["data/chunk_index"], other["data/file_index"])
            == (row["data/chunk_index"], row["data/file_index"])
            and (e["source"], r) in self._position
        ]
        room = max(1, self._cache_size - len(self._cache))
        wanted = [e["row"]] + [r for r in same_file if r != e["row"]][: room - 1]
        for r, data in source.load(wanted, self.cameras).items():
            p = self._position[e["source"], r]
            data |= target_labels(self.episodes[p], self.cameras)
            data |= world_labels(self.episodes[p])
            self._cache[p] = data
            self._cache.move_to_end(p)
        while len(self._cache) > max(1, self._cache_size):
            self._cache.popitem(last=False)
        return self._cache[pos]

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        """`key` is a frame index, or (frame index, augmentation seed) for reproducible noise
        whichever worker process draws it (exact training resumption relies on that)."""
        i, aug_seed = key if isinstance(key, tuple) else (key, None)
        pos, t = int(self.frame_episode[i]), int(self.frame_index[i])
        e = self.episodes[pos]
        data = self._load(pos)
        n, dim = data["action"].shape
        steps = np.arange(t, t + self.horizon)
        is_pad = steps >= n
        actions = np.zeros((self.horizon, self.max_dim), np.float32)  # (H, D)
        actions[:, :dim] = data["action"][np.minimum(steps, n - 1)]
        state = np.zeros(self.max_state_dim, np.float32)  # (S,)
        state[: data["state"].shape[1]] = data["state"][t]
        extra = {}
        if self.state_history:
            past = np.zeros((self.state_history, self.max_state_dim), np.float32)  # (k, S)
            earlier = np.maximum(t - np.arange(1, self.state_history + 1), 0)
            past[:, : data["state"].shape[1]] = data["state"][earlier]
            extra["past_states"] = torch.from_numpy(past)
        dim_mask = np.zeros(self.max_dim, bool)
        dim_mask[:dim] = True
        images = torch.from_numpy(
            np.stack([episode_io.decode_png(data["images"][c][t]) for c in self.cameras])
        ).permute(0, 3, 1, 2)  # (C, 3, H, W) uint8
        crop_box = torch.tensor([0.0, 0.0, 1.0, 1.0])  # the whole image
        if self.augment:
            generator = torch.Generator().manual_seed(aug_seed) if aug_seed is not None else None
            images, crop_box = augment_images(images, generator=generator)
        return {
            "images": images,
            "state": torch.from_numpy(state),
            "actions": torch.from_numpy(actions),
            "action_is_pad": torch.from_numpy(is_pad),
            "dim_mask": torch.from_numpy(dim_mask),
            "target_xy": torch.from_numpy(data["target_xy"][t]),
            "target_uv": torch.from_numpy(data["target_uv"][t]),
            "goal_xy": torch.from_numpy(data["goal_xy"]),
            "goal_uv": torch.from_numpy(data["goal_uv"]),
            "object_xyz": torch.from_numpy(data["object_xyz"][t]),
            "goal_xyz": torch.from_numpy(data["goal_xyz"][t]),
            "crop_box": crop_box,
            "robot_index": self.robots.index(e["robot"]),
            "robot": e["robot"],
            "task": e["task"],
            "instruction": e["instruction"],
            "episode_index": e["episode_index"],
            "frame_index": t,
            **extra,
        }


def first_per_task(episodes: list[dict], n: int) -> list[dict]:
    """The n episodes of lowest seed of each (robot, task), in their original order."""
    if n < 1:
        raise ValueError(f"train.episodes_per_task must be at least 1, got {n}")
    by_cell: dict = {}
    for e in episodes:
        by_cell.setdefault((e["robot"], e["task"]), []).append(e)
    kept = {id(e) for cell in by_cell.values() for e in sorted(cell, key=lambda e: e["seed"])[:n]}
    return [e for e in episodes if id(e) in kept]


def target_labels(record: dict, cameras) -> dict[str, np.ndarray]:
    """Labels for learning to find things from pixels. "target_xy" (T, 2): where the cube the
    instruction names is in each of the episode's T frames, on the table in metres, and
    "target_uv" (T, C, 2) where each of `cameras` shows it (u, v in [-1, 1]); "goal_xy" (2,)
    and "goal_uv" (C, 2) the same for the fixture it should end on (place: the bowl or the
    plate; push: the mark), which never moves. NaN where the episode did not record it, has no
    goal (reach, lift), or for moving cameras. Episodes recorded before the per-frame track
    ("target_track") give the cube's starting place for every frame: exact for reach and lift,
    which move it only upwards, but not for the later frames of place and push."""
    initial = record.get("initial_state") or {}
    placed = initial.get("layout") or {}
    pixels = initial.get("pixels") or {}
    frames = int(record.get("length") or 1)

    def where(name) -> tuple[np.ndarray, np.ndarray]:
        xy = placed.get(name) if name else None
        uv = [(pixels.get(c) or {}).get(name, [np.nan, np.nan]) for c in cameras]
        return (
            np.array(xy[:2] if xy else [np.nan, np.nan], np.float32),
            np.array(uv, np.float32).reshape(len(cameras), 2),
        )

    goal_xy, goal_uv = where(initial.get("goal"))
    track = record.get("target_track")
    if track and len(track["xy"]) == frames:
        missing = [[np.nan, np.nan]] * frames
        target_xy = np.array(track["xy"], np.float32).reshape(frames, 2)
        target_uv = np.array(
            [track["pixels"].get(c, missing) for c in cameras], np.float32
        ).reshape(len(cameras), frames, 2)
        target_uv = np.ascontiguousarray(target_uv.transpose(1, 0, 2))
    else:
        start_xy, start_uv = where(f"cube_{initial.get('target')}")
        target_xy = np.repeat(start_xy[None], frames, axis=0)
        target_uv = np.repeat(start_uv[None], frames, axis=0)
    return {"target_xy": target_xy, "target_uv": target_uv, "goal_xy": goal_xy, "goal_uv": goal_uv}


def world_labels(record: dict) -> dict[str, np.ndarray]:
    """The general recipe's auxiliary labels, the same on every suite: "object_xyz" and
    "goal_xyz" (T, 3), where the object and its goal were in the world (m) in each of the
    episode's T frames (the record's "world_track"); NaN where the episode did not record them
    (collected before the track existed) or the task names no goal."""
    frames = int(record.get("length") or 1)
    track = record.get("world_track") or {}
    out = {}
    for key in ("object", "goal"):
        points = track.get(key)
        if points is not None and len(points) == frames:
            out[f"{key}_xyz"] = xyz_points(points)
        else:
            out[f"{key}_xyz"] = np.full((frames, 3), np.nan, np.float32)
    return out


def xyz_points(points: list) -> np.ndarray:
    """A track's [[x, y, z] or None, ...] -> (T, 3) float32, NaN where a frame has none."""
    return np.array([p if p is not None else [np.nan] * 3 for p in points], np.float32).reshape(
        -1, 3
    )


def augment_images(
    images: torch.Tensor,
    crop_scale: float = 0.9,
    jitter: float = 0.2,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random crop (same window for every camera of the sample) resized back, then brightness
    and contrast jitter. uint8 (C, 3, H, W) in and out, with the crop window as (4,) fractions
    of the image: top, left, height, width (image positions move with it)."""
    _, _, h, w = images.shape

    def uniform(lo, hi):
        return float(torch.empty(1).uniform_(lo, hi, generator=generator))

    s = uniform(crop_scale, 1.0)
    ch, cw = max(1, round(h * s)), max(1, round(w * s))
    top = int(torch.randint(0, h - ch + 1, (1,), generator=generator))
    left = int(torch.randint(0, w - cw + 1, (1,), generator=generator))
    x = images[:, :, top : top + ch, left : left + cw].float()
    x = torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    brightness = uniform(1 - jitter, 1 + jitter)
    contrast = uniform(1 - jitter, 1 + jitter)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * contrast + mean * brightness
    box = torch.tensor([top / h, left / w, ch / h, cw / w], dtype=torch.float32)
    return x.clamp(0, 255).to(torch.uint8), box


def group_balanced_weights(dataset: EpisodeDataset) -> np.ndarray:
    """Per-frame weights: each dataset of the mixture gets its entry's weight's share, split
    equally between its (robot, task) groups, whatever their numbers of frames."""
    counts = np.bincount(dataset.frame_group)
    source_of_group = np.array([g[0] for g in dataset.group_names])
    groups_per_source = np.bincount(source_of_group)[source_of_group]
    share = dataset.group_weights / groups_per_source
    return (share / counts)[dataset.frame_group]


def balanced_sampler(
    dataset: EpisodeDataset, num_samples: int | None = None, seed: int = 0
) -> WeightedRandomSampler:
    """Each (robot, task) group is drawn equally often, whatever its number of frames."""
    weights = group_balanced_weights(dataset)
    generator = torch.Generator().manual_seed(seed)
    return WeightedRandomSampler(
        torch.as_tensor(weights, dtype=torch.double),
        num_samples or len(dataset),
        replacement=True,
        generator=generator,
    )


def make_loader(
    dataset: EpisodeDataset,
    batch_size: int = 32,
    workers: int = 2,
    balanced: bool = True,
    seed: int = 0,
    num_samples: int | None = None,
) -> DataLoader:
    """Batches of samples; `num_samples` sets an epoch's length when sampling is balanced."""
    sampler = balanced_sampler(dataset, num_samples=num_samples, seed=seed) if balanced else None
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        shuffle=not balanced,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=torch.cuda.is_available(),
        drop_last=True,
    )


class StepBatchSampler(torch.utils.data.Sampler):
    """Batches that depend only on (seed, step): batch k is the same in a fresh run and in one
    resumed at step k, whatever came before. Balanced over (robot, task) like
    `balanced_sampler`; each index carries its own augmentation seed. With several training
    processes, `rank` takes its slice of the global batch."""

    def __init__(
        self,
        dataset: EpisodeDataset,
        batch_size: int,
        seed: int,
        start: int,
        stop: int,
        balanced: bool = True,
        rank: int = 0,
        world_size: int = 1,
    ):
        if batch_size % world_size:
            raise ValueError(f"batch size {batch_size} does not split over {world_size} processes")
        weights = group_balanced_weights(dataset) if balanced else np.ones(len(dataset))
        self.weights = torch.as_tensor(weights / weights.sum(), dtype=torch.double)
        self.batch_size, self.seed, self.start, self.stop = batch_size, seed, start, stop
        self.rank, self.world_size = rank, world_size

    def __len__(self) -> int:
        return self.stop - self.start

    def __iter__(self):
        share = self.batch_size // self.world_size
        lo = self.rank * share
        for step in range(self.start, self.stop):
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
            idx = torch.multinomial(self.weights, self.batch_size, replacement=True, generator=g)
            aug = torch.randint(0, 2**31 - 1, (self.batch_size,), generator=g)
            yield [
                (int(i), int(a))
                for i, a in zip(idx[lo : lo + share], aug[lo : lo + share], strict=True)
            ]
