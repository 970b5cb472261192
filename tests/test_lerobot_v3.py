"""`vla dataset export`: a vla dataset as LeRobotDataset v3, one dataset per robot plus a
manifest. The format rules LeRobot 0.4.4's reader needs (docs/notes/lerobot_v3_format.md, "MUST")
are checked here without LeRobot; with a Python that has lerobot installed (the
VLA_LEROBOT_PYTHON environment variable), LeRobot's own LeRobotDataset loads the export and its
frames, actions and stats are compared with ours."""

import json
import os
import subprocess
import textwrap

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.test_cli import run
from vla.datasets import episode_io, layout, lerobot_v3, meta


@pytest.fixture(scope="module")
def exported(dataset, tmp_path_factory):
    root, _ = dataset
    dst = tmp_path_factory.mktemp("lerobot") / "mix"
    # a small file limit, so that episodes spread over several data files
    manifest = lerobot_v3.export(root, dst, file_mb=0.05)
    return root, dst, manifest


def test_each_robot_becomes_one_dataset_listed_in_the_manifest(exported):
    root, dst, manifest = exported
    info = layout.read_info(root)
    assert json.loads((dst / "manifest.json").read_text()) == manifest
    assert [d["robot"] for d in manifest["datasets"]] == sorted(info["robots"])
    records = meta.load_records(root)
    for d in manifest["datasets"]:
        mine = [r for r in records if r["robot"] == d["robot"]]
        assert d["episodes"] == len(mine) and d["frames"] == sum(r["length"] for r in mine)
        assert d["weight"] == 1.0 and (dst / d["path"] / "meta" / "info.json").is_file()
    assert not list(dst.glob(".*partial"))


def test_the_export_follows_what_lerobots_reader_needs(exported):
    root, dst, manifest = exported
    for d in manifest["datasets"]:
        ds = dst / d["path"]
        info = json.loads((ds / "meta" / "info.json").read_text())
        assert info["codebase_version"] == "v3.0" and info["robot_type"] == d["robot"]
        assert (info["total_episodes"], info["total_frames"]) == (d["episodes"], d["frames"])
        features = info["features"]
        for name in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
            assert features[name]["shape"] == [1]
        for name, f in features.items():
            assert "/" not in name
            assert isinstance(f["shape"], list) and all(isinstance(n, int) for n in f["shape"])
            assert ("image" in name) == (f["dtype"] == "image")
        files = sorted((ds / "data").glob("*/*.parquet"))
        assert len(files) > 1  # rolled over at the small limit
        table = pq.read_table(files[0])
        # one column per feature, no more, no fewer (LeRobot's reader refuses an extra one)
        assert sorted(table.column_names) == sorted(features)
        frames = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
        assert frames["index"].tolist() == list(range(info["total_frames"]))
        episodes = pq.read_table(ds / "meta/episodes/chunk-000/file-000.parquet").to_pandas()
        assert episodes["episode_index"].tolist() == list(range(info["total_episodes"]))
        tasks = pd.read_parquet(ds / "meta" / "tasks.parquet")
        assert tasks["task_index"].tolist() == list(range(len(tasks)))
        for _, e in episodes.iterrows():
            rows = frames.iloc[e["dataset_from_index"] : e["dataset_to_index"]]
            assert (rows["episode_index"] == e["episode_index"]).all()
            assert rows["frame_index"].tolist() == list(range(e["length"]))
            np.testing.assert_allclose(rows["timestamp"], np.arange(e["length"]) / info["fps"])
            assert tasks.index[rows["task_index"].iloc[0]] == e["tasks"][0]
            # the data file the episode names holds all of it (an episode is never split)
            path = ds / info["data_path"].format(
                chunk_index=e["data/chunk_index"], file_index=e["data/file_index"]
            )
            held = pq.read_table(path, columns=["episode_index"]).column(0).to_numpy()
            assert (held == e["episode_index"]).sum() == e["length"]


def test_frames_actions_and_stats_match_the_source(exported):
    root, dst, manifest = exported
    records = meta.load_records(root)
    for d in manifest["datasets"]:
        ds = dst / d["path"]
        mine = sorted(
            (r for r in records if r["robot"] == d["robot"]), key=lambda r: r["episode_index"]
        )
        files = sorted((ds / "data").glob("*/*.parquet"))
        frames = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
        episodes = pq.read_table(ds / "meta/episodes/chunk-000/file-000.parquet").to_pandas()
        for i in (0, len(mine) - 1):
            source = episode_io.read_frames(layout.episode_path(root, mine[i]["episode_index"]))
            e = episodes.iloc[i]
            assert json.loads(e["vla.record"]) == mine[i]
            rows = frames.iloc[e["dataset_from_index"] : e["dataset_to_index"]]
            np.testing.assert_array_equal(
                np.stack(rows[layout.ACTION]), np.stack(source[layout.ACTION].to_pylist())
            )
            np.testing.assert_array_equal(
                np.stack(rows[layout.STATE]), np.stack(source[layout.STATE].to_pylist())
            )
            for cam in mine[i]["cameras"]:
                key = f"{layout.IMAGE_PREFIX}{cam}"
                ours = episode_io.decode_png(source[key][3].as_py())
                theirs = episode_io.decode_png(rows[key].iloc[3]["bytes"])
                np.testing.assert_array_equal(ours, theirs)
        stats = json.loads((ds / "meta" / "stats.json").read_text())
        action = np.stack(frames[layout.ACTION]).astype(np.float64)
        np.testing.assert_allclose(stats[layout.ACTION]["mean"], action.mean(0), rtol=1e-5)
        np.testing.assert_allclose(stats[layout.ACTION]["q50"], np.median(action, 0), rtol=1e-5)
        assert set(stats[layout.ACTION]) == {
            "min",
            "max",
            "mean",
            "std",
            "count",
            "q01",
            "q10",
            "q50",
            "q90",
            "q99",
        }
        front = np.asarray(stats[f"{layout.IMAGE_PREFIX}front"]["mean"])
        assert front.shape == (3, 1, 1) and (front > 0).all() and (front < 1).all()


def test_an_existing_export_is_refused_and_nothing_is_lost(exported, tmp_path):
    root, dst, _ = exported
    before = sorted(p.name for p in dst.iterdir())
    with pytest.raises(FileExistsError, match="already holds"):
        lerobot_v3.export(root, dst)
    assert sorted(p.name for p in dst.iterdir()) == before
    with pytest.raises(FileNotFoundError, match="not a vla dataset"):
        lerobot_v3.export(tmp_path / "nothing", tmp_path / "out")


LEROBOT_PYTHON = os.environ.get("VLA_LEROBOT_PYTHON")


@pytest.mark.skipif(
    not LEROBOT_PYTHON,
    reason="set VLA_LEROBOT_PYTHON to a Python with lerobot==0.4.4 installed (docs/dataset.md): "
    "lerobot pins torch<2.11 and cannot share this venv",
)
def test_lerobot_itself_loads_the_export(exported, tmp_path):
    """LeRobot's LeRobotDataset reads each robot's dataset: length, an item's action chunk with
    padding at the episode's end, its image and its task, as in our files."""
    root, dst, manifest = exported
    d = manifest["datasets"][0]
    script = textwrap.dedent(
        """
        import json, sys
        from lerobot.datasets.lerobot_dataset import LeRobotDataset
        fps = float(sys.argv[2])
        ds = LeRobotDataset("local/vla", root=sys.argv[1],
                            delta_timestamps={"action": [i / fps for i in range(4)]})
        last = ds[len(ds) - 1]
        first = ds[0]
        print(json.dumps({"len": len(ds), "pad": last["action_is_pad"].tolist(),
            "action": first["action"].tolist(), "task": first["task"],
            "front": first["observation.images.front"].mul(255).round().int().tolist()}))
        """
    )
    (tmp_path / "load.py").write_text(script)
    fps = json.loads((dst / d["path"] / "meta" / "info.json").read_text())["fps"]
    out = subprocess.run(
        [LEROBOT_PYTHON, str(tmp_path / "load.py"), str(dst / d["path"]), str(fps)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    first = min(
        (r for r in meta.load_records(root) if r["robot"] == d["robot"]),
        key=lambda r: r["episode_index"],
    )
    source = episode_io.read_frames(layout.episode_path(root, first["episode_index"]))
    assert got["len"] == d["frames"] and got["pad"] == [False, True, True, True]
    assert got["task"] == first["instruction"]
    np.testing.assert_allclose(got["action"], source[layout.ACTION].to_pylist()[:4], rtol=1e-6)
    front = episode_io.decode_png(source[f"{layout.IMAGE_PREFIX}front"][0].as_py())
    np.testing.assert_array_equal(np.asarray(got["front"]).transpose(1, 2, 0), front)


def test_the_export_command_writes_the_mixture_and_refuses_bad_paths(exported, vla_exe, tmp_path):
    root, _, _ = exported
    out = run(vla_exe, "dataset", "export", str(root), str(tmp_path / "mix"))
    assert out.returncode == 0, out.stderr
    assert "manifest:" in out.stdout and (tmp_path / "mix" / "manifest.json").is_file()
    again = run(vla_exe, "dataset", "export", str(root), str(tmp_path / "mix"))
    assert again.returncode == 2 and "already holds" in again.stderr
    missing = run(vla_exe, "dataset", "export", str(tmp_path / "none"), str(tmp_path / "x"))
    assert missing.returncode == 2 and "not a vla dataset" in missing.stderr
    assert "Traceback" not in again.stderr + missing.stderr
