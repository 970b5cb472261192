"""`vla benchmark`: tables and JSON from one run, the page regenerated from the JSON, and the
fast paths (bf16 autocast, torch.compile) checked against float32 within stated tolerances."""

import json

import pytest
import torch

from tests.conftest import REPO_ROOT
from tests.test_cli import run
from vla import hardware
from vla.benchmark import report, results, timing
from vla.benchmark import settings as settings_lib

DEMO = REPO_ROOT / "checkpoints" / "demo"
# a one-layer backbone at 32 px on the demo checkpoint's robots: the real code paths, small
TINY = f"+settings.tiny={{robots_from:{DEMO},policy:defaults,overrides:{{num_layers:1,image_size:32}}}}"
# the largest difference from float32 a fast path may make, as a fraction of the action range
# (bf16 keeps 8 bits of mantissa: ~0.4% per rounding, a few roundings deep)
BF16_ACTION_TOLERANCE = 0.05
BF16_LOSS_TOLERANCE = 0.02  # relative


def test_measure_reports_the_median_of_the_timed_calls():
    calls = []
    out = timing.measure(lambda: calls.append(1), warmup=2, repeats=5, settle=3)
    assert out["repeats"] == 5 and out["min_ms"] <= out["median_ms"] <= out["max_ms"]
    assert 2 + 5 + 2 <= len(calls) <= 2 + 5 + 3  # settle stops once two calls agree
    with pytest.raises(ValueError, match="repeats"):
        timing.measure(lambda: None, 0, 0)


def test_results_merge_keeps_other_sections_of_the_same_machine(tmp_path):
    path = tmp_path / "bench.json"
    here = {"cpu": "A", "cores": 2, "gpu": None}
    results.write(path, results.merge(path, {"train": {"rows": [1]}}, here))
    results.write(path, results.merge(path, {"collect": {"rows": [2]}}, here))
    assert set(results.read(path)["sections"]) == {"train", "collect"}
    elsewhere = {"cpu": "B", "cores": 16, "gpu": "H200"}
    assert set(results.merge(path, {"collect": {}}, elsewhere)["sections"]) == {"collect"}
    (tmp_path / "other.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(ValueError, match="not a `vla benchmark` result"):
        results.read(tmp_path / "other.json")


def test_inference_and_train_write_json_and_the_page(tmp_path):
    from vla.cli import main  # in this process: what the script runs, no interpreter start

    out, page = tmp_path / "bench.json", tmp_path / "benchmarks.md"
    common = [TINY, "repeats=2", "warmup=1", f"output={out}"]
    assert main([
        "benchmark", "inference", *common,
        "inference.settings=[tiny]", "inference.heads=[bins,chunk]", "inference.modes=[eager,bf16]",
    ]) == 0  # fmt: skip
    assert main([
        "benchmark", "train", *common, f"markdown={page}",
        "train.settings=[tiny]", "train.modes=[fp32,bf16]", "train.batch_size=4",
    ]) == 0  # fmt: skip
    data = results.read(out)
    inference, train = data["sections"]["inference"], data["sections"]["train"]
    rows = {(r["head"], r["mode"]): r for r in inference["rows"]}
    assert set(rows) == {
        ("bins-1", "eager"),
        ("bins", "eager"),
        ("chunk", "eager"),
        ("chunk", "bf16"),
    }
    assert rows["bins-1", "eager"]["actions_per_call"] == 1
    assert rows["chunk", "eager"]["actions_per_call"] == 8 and rows["chunk", "eager"]["layers"] == 1
    assert rows["chunk", "eager"]["max_error"] == 0
    assert rows["chunk", "bf16"]["max_error"] < BF16_ACTION_TOLERANCE
    speedup = inference["chunk_vs_bins_speedup"]["tiny"]
    expected = rows["chunk", "eager"]["actions_per_s"] / rows["bins-1", "eager"]["actions_per_s"]
    assert speedup == pytest.approx(expected)
    by_mode = {r["mode"]: r for r in train["rows"]}
    assert set(by_mode) == {"fp32", "bf16"}
    emulated = not hardware.native_bf16()  # no bf16 ceiling to divide by: no MFU
    assert (train["peak_flops"]["bf16"] is None) == emulated
    for mode, row in by_mode.items():
        assert row["flops_per_step"] > 0, row
        if mode == "bf16" and emulated:
            assert row["mfu"] is None, row
        else:
            assert 0 < row["mfu"] < 1, row
        assert row["samples_per_s"] == pytest.approx(4 / (row["median_ms"] / 1000))
    assert by_mode["fp32"]["loss_error"] == 0
    assert by_mode["bf16"]["loss_error"] < BF16_LOSS_TOLERANCE
    text = page.read_text()
    assert "do not edit by hand" in text and data["machine"]["cpu"] in text
    assert f"{rows['chunk', 'eager']['median_ms']:,.1f}" in text
    assert f"{speedup:.1f}x the actions/s of bins" in text
    assert text == report.page([(str(out), data)], report.INTRO)


# ~30 s on 2 cores (Ray started for 1 and 2 workers, twice): CI's slow step runs it. The pool it
# times is covered by tests/test_boundary.py, collection by tests/test_datasets.py, the JSON and
# page by test_inference_and_train_write_json_and_the_page above.
@pytest.mark.slow
def test_rollout_and_collect_report_parallel_efficiency(vla_exe, tmp_path):
    out = tmp_path / "bench.json"
    cell = ["robots=[panda]", "tasks=[reach]", "image_size=32", "workers=[1]"]
    done = run(
        vla_exe, "benchmark", "all", f"output={out}", "inference.settings=[]",
        "train.settings=[]", "rollout.steps=20", "rollout.episodes_per_worker=1",
        "collect.episodes=1", *[f"rollout.{c}" for c in cell], *[f"collect.{c}" for c in cell],
        "eval_memory.policy=expert", "eval_memory.tasks=[reach]", "serve.clients=[2]",
        "serve.seconds=0.5", "serve.round_trips=3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    sections = results.read(out)["sections"]
    single = sections["rollout"]["single_process"][0]
    assert single["state_steps_per_s"] > single["render_steps_per_s"] > 0
    for rows in (sections["rollout"]["ray"], sections["collect"]["rows"]):
        assert rows[0]["workers"] == 1 and rows[0]["parallel_efficiency"] == pytest.approx(1)
        assert rows[0]["episodes"] == 1 and rows[0]["episodes_per_s"] > 0
    (memory,) = sections["eval_memory"]["rows"]  # one env worker through the tasks
    assert memory["tasks"] == 1 and memory["workers"] == 1
    assert 100 < memory["worker_peak_rss_mb"] < memory["goal_mb"]
    serve = sections["serve"]  # batching off and on, for 2 clients
    assert [(r["clients"], r["max_batch"]) for r in serve["rows"]] == [(2, 1), (2, 8)]
    assert all(r["requests"] > 0 and r["p99_ms"] >= r["p50_ms"] > 0 for r in serve["rows"])
    assert serve["served_ms"] > 0 and serve["in_process_ms"] > 0
    page = report.render(results.read(out))
    assert "worker peak RSS (MB)" in page and "batching gives" in page


def test_a_report_without_results_says_how_to_make_them(tmp_path, capsys):
    # vla.cli.main is what the `vla` script runs (the tests above run the script itself); called
    # here in this process, the two answers cost no interpreter start (~2 s each on 2 cores)
    from vla.cli import main

    report_args = [f"output={tmp_path / 'none.json'}", f"markdown={tmp_path / 'page.md'}"]
    assert main(["benchmark", "report", *report_args]) == 2
    assert "vla benchmark all output=PATH" in capsys.readouterr().err
    assert main(["benchmark", "inferense"]) == 2
    assert "Did you mean 'inference'" in capsys.readouterr().err


def tiny_setting():
    spec = {"robots_from": str(DEMO), "policy": "checkpoint", "overrides": {"num_layers": 1}}
    return settings_lib.load("tiny", spec, "smollm2-135m")


def test_the_demo_recipe_under_bf16_autocast_matches_float32():
    """The demo recipe (target localizer, sentence vector, conv encoder) under bf16 autocast:
    the loss within 2% and the actions within 5% of their range of float32's."""
    from vla.policies.vla_policy import VLAPolicy

    setting = tiny_setting()
    policy = VLAPolicy(setting.policy, setting.schemas, setting.stats, fitted=setting.fitted)
    batch = settings_lib.training_batch(setting, setting.policy, 4)
    torch.manual_seed(0)
    with torch.no_grad():
        loss32 = float(policy(batch)[0])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        torch.manual_seed(0)
        loss16 = float(policy(batch)[0])
    assert abs(loss16 - loss32) / loss32 < BF16_LOSS_TOLERANCE
    policy.eval()
    obs = settings_lib.observation(setting)
    chunk32 = policy.predict_action_chunk(obs, setting.robot)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        chunk16 = policy.predict_action_chunk(obs, setting.robot)
    schema = setting.schemas[setting.robot]
    span = torch.tensor(schema.action_high) - torch.tensor(schema.action_low)
    error = (torch.as_tensor(chunk16 - chunk32).abs() / span).max()
    assert error < BF16_ACTION_TOLERANCE


@pytest.mark.slow
def test_compiled_inference_matches_eager(vla_exe, tmp_path):
    out = tmp_path / "bench.json"
    done = run(
        vla_exe, "benchmark", "inference", TINY, "repeats=1", "warmup=1", f"output={out}",
        "inference.settings=[tiny]", "inference.heads=[chunk]", "inference.modes=[eager,compile]",
        timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {r["mode"]: r for r in results.read(out)["sections"]["inference"]["rows"]}
    assert "error" not in rows["compile"], rows["compile"]
    assert rows["compile"]["max_error"] < 1e-4
