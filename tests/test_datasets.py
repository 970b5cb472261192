"""Collection with Ray into LeRobot v3 datasets, replay, checks, resume after a kill or a stop
mid-write, conversion of the old layout, the loader."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from tests.conftest import DATASET_EPISODES as EPISODES
from tests.conftest import DATASET_ROBOTS as ROBOTS
from tests.conftest import DATASET_TASKS as TASKS
from vla.datasets import check, episode_io, layout, meta, v3_writer
from vla.datasets import lerobot_v3 as v3
from vla.datasets.loader import EpisodeDataset, balanced_sampler, make_loader
from vla.envs.tabletop_env import TabletopEnv


def episodes(root):
    """(record, frames) of every episode of a dataset, frames as collection records them."""
    for source in meta.open_sources(root):
        for positions in source.by_file(range(len(source.records))).values():
            for pos, data in source.load(positions, list(source.cameras)).items():
                yield dict(source.records[pos]), data


def stage(root, items):
    """Write (record, frames) pairs as staged episodes under `root`, as collection does."""
    for record, frames in items:
        path = layout.staged_path(root, record["robot"], record["task"], record["seed"])
        episode_io.write_episode(path, record, frames)


def test_collect_writes_every_episode_once(dataset):
    root, summary = dataset
    assert summary.written == len(ROBOTS) * len(TASKS) * EPISODES and not summary.incomplete
    records = meta.load_records(root)
    keys = [(r["robot"], r["task"], r["seed"]) for r in records]
    assert len(keys) == len(set(keys)) == 40
    manifest = json.loads((root / layout.MANIFEST).read_text())
    assert [d["path"] for d in manifest["datasets"]] == sorted(ROBOTS)
    for d in manifest["datasets"]:
        info = v3.read_info(root / d["path"])
        mine = [r for r in records if r["robot"] == d["robot"]]
        assert info["codebase_version"] == "v3.0" and info["robot_type"] == d["robot"]
        assert info["total_episodes"] == d["episodes"] == len(mine) == 20
        assert info["total_frames"] == sum(r["length"] for r in mine)
    assert not layout.staged_files(root)
    assert check.check(root, decode_all=True) == []


def test_stats_are_per_robot_dataset_with_lerobots_ten(dataset):
    root, _ = dataset
    for robot in ROBOTS:
        stats = json.loads((root / robot / v3.STATS).read_text())
        dim = {"sawyer": 8, "ur5e": 7}[robot]
        for key in (layout.STATE, layout.ACTION):
            assert set(stats[key]) == {"mean", "std", "min", "max", "count"} | {
                f"q{q}" for q in ("01", "10", "50", "90", "99")
            }
            for name in ("mean", "std", "min", "max", "q01", "q99"):
                assert len(stats[key][name]) == dim, (robot, key, name)
            assert np.all(np.array(stats[key]["q01"]) <= np.array(stats[key]["q99"]))
    # what training normalises with: the same numbers, computed from the frames
    trained = meta.robot_stats(meta.open_sources(root))
    for robot in ROBOTS:
        stats = json.loads((root / robot / v3.STATS).read_text())
        np.testing.assert_allclose(
            trained[robot][layout.ACTION]["q99"], stats[layout.ACTION]["q99"], rtol=1e-6
        )


def test_every_stored_episode_replays_to_success(dataset):
    root, _ = dataset
    envs = {}
    for source in meta.open_sources(root):
        for pos, states, actions in source.state_action():
            record = source.records[pos]
            key = (record["robot"], record["task"])
            env = envs.get(key) or envs.setdefault(
                key, TabletopEnv(robot=key[0], task=key[1], image_obs=False)
            )
            obs, _ = env.reset(
                seed=record["seed"], options={"instruction_set": record["instruction_set"]}
            )
            assert obs["instruction"] == record["instruction"]
            np.testing.assert_allclose(obs["state"], states[0], atol=1e-6)
            for action in actions:
                obs, _, term, trunc, info = env.step(action)
            assert info["is_success"] and term, (key, record["seed"])


def test_check_names_the_bad_file(dataset, tmp_path):
    root, _ = dataset
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    victim = v3.data_files(copy / "ur5e")[0]
    victim.write_bytes(victim.read_bytes()[:200])  # truncated, as by a dying disk or copy
    problems = check.check(copy)
    assert problems and any(str(victim) in p for p in problems), problems
    out = subprocess.run(
        [sys.executable, "-m", "vla.cli", "dataset", "check", str(copy)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1 and str(victim) in out.stderr


def test_check_finds_counts_that_disagree_and_rebuild_meta_mends_them(dataset, tmp_path):
    root, _ = dataset
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    info_path = copy / "sawyer" / v3.INFO
    info = json.loads(info_path.read_text())
    info_path.write_text(json.dumps({**info, "total_frames": info["total_frames"] + 1}))
    (copy / "sawyer" / v3.STATS).unlink()
    problems = check.check(copy)
    assert any(str(info_path) in p and "frames" in p for p in problems), problems
    assert any("stats.json: missing" in p for p in problems), problems
    out = subprocess.run(
        [sys.executable, "-m", "vla.cli", "dataset", "check", str(copy), "--rebuild-meta"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(info_path.read_text()) == info and check.check(copy) == []


def test_missing_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="vla collect"):
        EpisodeDataset(tmp_path / "nowhere")
    assert "no such file" in check.check(tmp_path / "nowhere")[0]


def test_resume_after_a_kill_has_every_episode_exactly_once(tmp_path):
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "vla.cli",
        "collect",
        "robots=[sawyer]",
        "tasks=[reach]",  # the shortest episodes (13-20 steps): resuming is what is checked
        "episodes=8",
        f"output={out}",
        "image_size=32",
        "workers=1",
        "progress=false",
    ]
    proc = subprocess.Popen(
        cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 240
    while time.time() < deadline and len(layout.staged_files(out)) < 3 and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its Ray processes, mid-run
    proc.wait()
    before = {episode_io.read_record(p)["seed"] for p in layout.staged_files(out)}
    assert 3 <= len(before) < 8, "the kill should land mid-collection"
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    records = meta.load_records(out)
    seeds = sorted(r["seed"] for r in records)
    assert len(seeds) == len(set(seeds)) == 8 and before <= set(seeds)
    assert sorted(r["episode_index"] for r in records) == list(range(8))
    assert not layout.staged_files(out) and check.check(out) == []
    # the summary counts what the killed run kept beside what this one wrote
    assert f"{len(before)} already there" in rerun.stdout
    kept = rf"kept {8 - len(before)}, failed \d+, {len(before)} from an earlier run"
    assert re.search(kept, rerun.stdout), rerun.stdout


def test_a_stop_in_the_middle_of_packing_loses_nothing(dataset, tmp_path, monkeypatch):
    """Packing staged episodes stops (1) after writing data files, before the commit, and
    (2) after the commit, before the derived meta files: either way the next run ends with
    every episode once and a sound dataset."""
    root, _ = dataset
    items = [(r, f) for r, f in episodes(root) if r["robot"] == "ur5e"][:6]
    for stop in ("before_commit", "after_commit"):
        out = tmp_path / stop
        stage(out, items[:3])
        meta.finalize(out)
        stage(out, items[3:])
        if stop == "before_commit":
            monkeypatch.setattr(v3_writer.atomic, "write_parquet", _raise)
        else:
            monkeypatch.setattr(v3_writer, "write_meta", _raise)
        with pytest.raises(KeyboardInterrupt):
            meta.finalize(out)
        monkeypatch.undo()
        if stop == "before_commit":
            assert len(v3.data_files(out / "ur5e")) == 2  # written, but no row names it yet
            assert any("no meta/episodes row names it" in p for p in check.check(out / "ur5e"))
        assert len(layout.staged_files(out)) == 3
        meta.finalize(out)
        records = meta.load_records(out)
        assert sorted(r["seed"] for r in records) == sorted(r["seed"] for r, _ in items)
        assert not layout.staged_files(out) and check.check(out, decode_all=True) == []


def _raise(*args, **kwargs):
    raise KeyboardInterrupt


def test_the_old_layout_is_refused_with_the_command_that_converts_it(dataset, tmp_path):
    """A dataset written by earlier versions (one parquet per episode under data/) is refused
    with `vla dataset convert`, which packs it into the same episodes and the same hash."""
    from vla.datasets.fingerprint import fingerprint

    root, _ = dataset
    old = tmp_path / "old"
    for i, (record, frames) in enumerate(episodes(root)):
        path = old / "data" / "chunk-000" / f"episode_{i:06d}.parquet"
        episode_io.write_episode(path, record, frames)
    (old / "meta").mkdir()
    (old / "meta" / "info.json").write_text(json.dumps({"codebase_version": "v3.0", "robots": {}}))
    with pytest.raises(ValueError, match=f"vla dataset convert {old}"):
        EpisodeDataset(old)
    assert "vla dataset convert" in check.check(old)[0]
    out = subprocess.run(
        [sys.executable, "-m", "vla.cli", "dataset", "convert", str(old), str(tmp_path / "new")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert check.check(tmp_path / "new") == []
    assert fingerprint(tmp_path / "new") == fingerprint(root)


def test_loader_mixes_robots_with_padding_and_chunk_masks(dataset):
    root, _ = dataset
    ds = EpisodeDataset(root, horizon=6, split="all")
    assert ds.max_dim == 8
    # The last frame of an episode: one real action, the rest padding.
    last = int(np.flatnonzero(ds.frame_index == 0)[1]) - 1
    sample = ds[last]
    assert sample["action_is_pad"].tolist() == [False] + [True] * 5
    assert torch.equal(sample["actions"][1], sample["actions"][0])
    ur5e = next(i for i in range(len(ds)) if ds[i]["robot"] == "ur5e")
    s = ds[ur5e]
    assert s["dim_mask"].tolist() == [True] * 7 + [False] and s["actions"][:, 7].abs().sum() == 0
    assert s["images"].shape == (2, 3, 32, 32) and s["images"].dtype == torch.uint8
    batch = next(iter(make_loader(ds, batch_size=32, workers=2)))
    assert batch["images"].shape == (32, 2, 3, 32, 32) and batch["actions"].shape == (32, 6, 8)
    assert set(batch["robot"]) == set(ROBOTS)


def test_loader_gives_earlier_states_newest_first_from_the_episodes_start(dataset):
    root, _ = dataset
    ds = EpisodeDataset(root, horizon=4, split="all", state_history=2)
    start = int(np.flatnonzero(ds.frame_index == 0)[0])
    states = [ds[start + t]["state"] for t in range(4)]
    assert torch.equal(ds[start]["past_states"], torch.stack([states[0], states[0]]))
    assert torch.equal(ds[start + 1]["past_states"], torch.stack([states[0], states[0]]))
    assert torch.equal(ds[start + 3]["past_states"], torch.stack([states[2], states[1]]))
    assert "past_states" not in EpisodeDataset(root, horizon=4, split="all")[start]


def test_loader_gives_the_named_cubes_position_in_each_frame(dataset):
    """target_xy and target_uv (the localizer's labels) are the cube the instruction names:
    where it is in the sample's frame (in the first, where the layout put it), and where the
    front camera shows it (the wrist camera moves, so it has no label)."""
    root, _ = dataset
    ds = EpisodeDataset(root, horizon=4, split="all")
    assert list(ds.cameras)[:2] == ["front", "wrist"]
    dominant = {"red": 0, "green": 1, "blue": 2}
    for i in range(0, len(ds), max(1, len(ds) // 15)):
        sample = ds[i]
        record = ds.episodes[int(ds.frame_episode[i])]
        target = record["initial_state"]["target"]
        assert target in sample["instruction"]
        t = int(sample["frame_index"])
        expected = record["target_track"]["xy"][t]
        np.testing.assert_allclose(sample["target_xy"].numpy(), expected, atol=1e-6)
        front_uv, wrist_uv = sample["target_uv"].numpy()
        assert np.isfinite(front_uv).all() and np.isnan(wrist_uv).all()
        start = ds[i - t]
        start_xy = record["initial_state"]["layout"][f"cube_{target}"][:2]
        np.testing.assert_allclose(start["target_xy"].numpy(), start_xy, atol=1e-3)
        # the label points at the named cube's colour in the episode's first front image
        first = start["images"][0].permute(1, 2, 0).numpy()
        front_uv = start["target_uv"][0].numpy()
        x, y = ((front_uv + 1) / 2 * first.shape[0]).astype(int)
        patch = first[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2].reshape(-1, 3).astype(int)
        c = dominant[target]
        others = [k for k in range(3) if k != c]
        assert (patch[:, c] > patch[:, others].max(1) + 40).any(), (target, patch)
        # reach and lift name no place to put the cube
        assert (
            np.isnan(sample["goal_xy"].numpy()).all() and np.isnan(sample["goal_uv"].numpy()).all()
        )


@pytest.mark.parametrize("task", ["push", "place"])
def test_goal_labels_point_at_the_fixture_the_sentence_names(task):
    """Place and push record which fixture the cube should end on, and where it lies: the
    labels of the localizer's goal map. The mark is orange; the plate is near-white."""
    from vla.datasets.loader import target_labels
    from vla.rollout import run_episode

    # The labels come from the recorded states; the one picture looked at is the first front
    # image, which the same scene gives at reset. Rendering both cameras at every step of the
    # episodes was ~90% of this test's time, so the episodes run without images.
    env = TabletopEnv(robot="ur5e", task=task, image_obs=False)
    camera = TabletopEnv(robot="ur5e", task=task, image_size=64)
    options = {"receptacle": "plate"} if task == "place" else None
    for seed in range(3):
        record = run_episode(env, env.expert(), seed=seed, record=True, options=options)
        initial = record["initial_state"]
        goal = initial["goal"]
        assert goal == ("mark" if task == "push" else "plate") and goal in record["instruction"]
        labels = target_labels(record, ["front", "wrist"])
        np.testing.assert_allclose(labels["goal_xy"], initial["layout"][goal][:2], atol=1e-6)
        assert np.isnan(labels["goal_uv"][1]).all()  # the wrist camera moves
        u, v = labels["goal_uv"][0]
        obs, info = camera.reset(seed=seed, options=options)
        assert info["episode"]["layout"] == initial["layout"]  # the scene the labels describe
        first = obs["images"]["front"]
        x, y = int((u + 1) / 2 * 64), int((v + 1) / 2 * 64)
        r, g, b = first[y, x].astype(int)
        if goal == "mark":
            assert r > 150 and r > b + 80, (seed, first[y, x])
        else:
            assert min(r, g, b) > 150, (seed, first[y, x])
        # the named cube's label follows it there: first frame at its start, last at the goal
        track = labels["target_xy"]
        assert track.shape == (record["length"], 2)
        target = f"cube_{initial['target']}"
        np.testing.assert_allclose(track[0], initial["layout"][target][:2], atol=1e-3)
        assert np.linalg.norm(track[-1] - track[0]) > 0.05
        assert np.linalg.norm(track[-1] - labels["goal_xy"]) < 0.05
    env.close()
    camera.close()


def test_episodes_without_a_track_label_every_frame_with_the_start():
    """Datasets collected before the per-frame track still load: every frame's label is the
    cube's starting place."""
    from vla.datasets.loader import target_labels

    record = {
        "length": 3,
        "initial_state": {
            "target": "red",
            "layout": {"cube_red": [0.4, 0.1, 0.02]},
            "pixels": {"front": {"cube_red": [0.2, -0.3]}},
        },
    }
    labels = target_labels(record, ["front", "wrist"])
    np.testing.assert_allclose(labels["target_xy"], [[0.4, 0.1]] * 3, atol=1e-6)
    np.testing.assert_allclose(labels["target_uv"][:, 0], [[0.2, -0.3]] * 3, atol=1e-6)
    assert labels["target_uv"].shape == (3, 2, 2) and np.isnan(labels["target_uv"][:, 1]).all()


def test_balanced_sampling_evens_out_groups(dataset):
    root, _ = dataset
    ds = EpisodeDataset(root, horizon=4, split="all")
    counts = np.bincount(ds.frame_group)
    assert counts.max() > 1.5 * counts.min()  # lift episodes are longer than reach ones
    drawn = np.bincount(
        ds.frame_group[list(balanced_sampler(ds, num_samples=8000))], minlength=len(counts)
    )
    assert np.all(np.abs(drawn / drawn.sum() - 1 / len(counts)) < 0.03), drawn


def test_splits_are_disjoint_and_stable(dataset):
    root, _ = dataset
    train = EpisodeDataset(root, split="train", val_fraction=0.25)
    val = EpisodeDataset(root, split="val", val_fraction=0.25)
    a = {(e["robot"], e["task"], e["seed"]) for e in train.episodes}
    b = {(e["robot"], e["task"], e["seed"]) for e in val.episodes}
    assert a.isdisjoint(b) and len(a | b) == 40 and len(b) > 0


def test_episodes_per_task_keeps_the_lowest_seeds_of_each_cell_and_all_validation(dataset):
    root, _ = dataset
    full = EpisodeDataset(root, split="train", val_fraction=0.25)
    two = EpisodeDataset(root, split="train", val_fraction=0.25, episodes_per_task=2)
    cells: dict = {}
    for e in full.episodes:
        cells.setdefault((e["robot"], e["task"]), []).append(e["seed"])
    expected = {(*cell, s) for cell, seeds in cells.items() for s in sorted(seeds)[:2]}
    assert {(e["robot"], e["task"], e["seed"]) for e in two.episodes} == expected
    assert len(two) < len(full)
    val = EpisodeDataset(root, split="val", val_fraction=0.25, episodes_per_task=1)
    assert len(val.episodes) == len(EpisodeDataset(root, split="val", val_fraction=0.25).episodes)
    with pytest.raises(ValueError, match="at least 1"):
        EpisodeDataset(root, split="train", episodes_per_task=0)


def test_augmentation_keeps_shape_and_changes_pixels(dataset):
    root, _ = dataset
    plain = EpisodeDataset(root, split="all")
    torch.manual_seed(0)
    aug = EpisodeDataset(root, split="all", augment=True)
    x, y = plain[10]["images"], aug[10]["images"]
    assert x.shape == y.shape and x.dtype == y.dtype and not torch.equal(x, y)


def test_fingerprint_ignores_episode_order_but_not_content(dataset, tmp_path):
    """Ray finishes episodes in any order: the same episodes numbered differently hash the
    same; one changed action does not."""
    from vla.datasets.fingerprint import fingerprint

    root, _ = dataset
    items = list(episodes(root))
    copy = tmp_path / "copy"
    stage(copy, items[1::2])  # packed first, so every robot's episodes are numbered otherwise
    meta.finalize(copy)
    stage(copy, items[::2])
    meta.finalize(copy)
    assert meta.load_records(copy)[0]["seed"] != meta.load_records(root)[0]["seed"]
    assert fingerprint(copy) == fingerprint(root)
    changed = tmp_path / "changed"
    record, frames = items[0]
    frames = {**frames, "action": frames["action"].copy()}
    frames["action"][0, 0] += 1e-3
    stage(changed, [(record, frames), *items[1:]])
    meta.finalize(changed)
    assert fingerprint(changed)["sha256"] != fingerprint(root)["sha256"]


def test_dataset_track_adds_the_labels_collection_now_records(dataset, tmp_path):
    """`vla dataset track` replays episodes collected before the per-frame track and gives
    them the labels collection writes today; a replay that leaves the stored states is refused."""
    from vla.datasets.track import add_target_tracks, replay_track

    root, _ = dataset
    old = tmp_path / "old"
    items = list(episodes(root))[:6]  # keep the test short: six episodes to replay
    recorded = {}
    for record, _ in items:
        recorded[record["robot"], record["task"], record["seed"]] = record.pop("target_track")
    stage(old, items)
    meta.finalize(old)
    assert add_target_tracks(old, log=lambda _: None) == len(items)
    for record in meta.load_records(old):
        replayed = record["target_track"]
        expected = recorded[record["robot"], record["task"], record["seed"]]
        np.testing.assert_allclose(replayed["xy"], expected["xy"], atol=1e-9)
        for cam, uv in expected["pixels"].items():
            np.testing.assert_allclose(replayed["pixels"][cam], uv, atol=1e-9)
    assert add_target_tracks(old, log=lambda _: None) == 0  # done ones are left alone
    assert check.check(old) == []

    record, frames = items[0]
    env = TabletopEnv(robot=record["robot"], task=record["task"], image_obs=False)
    with pytest.raises(ValueError, match="does not replay"):
        replay_track(env, record, frames["state"] + 0.01, frames["action"])
    env.close()


def test_dataset_track_on_a_folder_that_is_not_a_dataset_says_so(tmp_path, capsys):
    from vla.cli import main

    assert main(["dataset", "track", str(tmp_path)]) == 2
    assert "is not a dataset" in capsys.readouterr().err
