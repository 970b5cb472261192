"""Language tests that cannot be tuned to (issue 31): the frozen test paraphrases, the verb swap,
left-out combinations from collection to evaluation, and the sentence read as tokens."""

import re
import shutil

import numpy as np
import pytest

from vla.envs import language, metaworld_language, test_phrasings
from vla.evaluation.evaluate import EvalConfig, plan

WIDER = metaworld_language.WIDER


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9{}]+", text.lower()))


def test_the_test_paraphrases_are_frozen_and_new(tmp_path, monkeypatch):
    assert test_phrasings.fingerprint() == test_phrasings.FINGERPRINT
    data = test_phrasings.load()
    assert set(data["tabletop"]) == set(language.TEMPLATES)
    assert set(data["metaworld"]) == set(metaworld_language.TASKS)
    for suite, module in (("tabletop", language), ("metaworld", metaworld_language)):
        for task, phrasings in data[suite].items():
            assert len(phrasings) >= 3
            sets = ("train", "heldout", "train_wide")
            seen = {words(p) for s in sets for p in module.templates(task, s)}
            assert not seen & {words(p) for p in phrasings}, (suite, task)
            assert all(set(p) <= set(language.CHARSET) | set("{}") for p in phrasings)
    for phrasings in data["tabletop"].values():  # every slot fills
        for p in phrasings:
            p.format(obj="red cube", color="red", place="in the bowl", mark="orange mark")
    changed = tmp_path / "test_phrasings.json"
    shutil.copy(test_phrasings.FILE, changed)
    changed.write_text(changed.read_text().replace("could you", "would you"))
    monkeypatch.setattr(test_phrasings, "FILE", changed)
    test_phrasings.load.cache_clear()
    with pytest.raises(ValueError, match="frozen"):
        test_phrasings.load()
    test_phrasings.load.cache_clear()


def test_metaworld_has_several_dev_paraphrases_per_task():
    for task in metaworld_language.TASKS:
        assert len(metaworld_language.templates(task, "heldout")) >= 3


def test_train_wide_adds_phrasings_that_no_dev_paraphrase_has():
    """instruction_set=train_wide: the training phrasings and five more, for every MT50 task;
    none repeats a dev paraphrase or another task's phrasing (the test paraphrases: above), and
    every one fits the observation's charset."""
    assert set(WIDER) == set(metaworld_language.TASKS)
    everyone = [p for t in WIDER for p in metaworld_language.templates(t, "train_wide")]
    assert len(set(map(words, everyone))) == len(everyone)  # no phrasing twice, across tasks
    for task in WIDER:
        wide = metaworld_language.templates(task, "train_wide")
        assert wide[:3] == metaworld_language.templates(task, "train") and len(wide) == 8
        dev = {words(p) for p in metaworld_language.templates(task, "heldout")}
        assert not dev & {words(p) for p in wide}
        assert all(set(p) <= set(language.CHARSET) and len(p) <= language.MAX_LENGTH for p in wide)
    from vla.envs.metaworld_env import MetaWorldEnv

    env = MetaWorldEnv("drawer-open", instruction_set="train_wide", image_obs=False)
    told = {env.reset(seed=seed)[0]["instruction"] for seed in range(40)}
    assert told == set(metaworld_language.templates("drawer-open", "train_wide"))
    env.close()


def test_the_tabletop_train_wide_adds_five_phrasings_per_task_that_no_dev_paraphrase_has():
    """The same for the tabletop: each task's training templates and five more, with the task's
    slots and nothing a dev paraphrase or another task says."""
    assert set(language.WIDER) == set(language.TEMPLATES)
    everyone = [p for t in language.WIDER for p in language.templates(t, "train_wide")]
    assert len(set(map(words, everyone))) == len(everyone)
    for task, extra in language.WIDER.items():
        train = language.templates(task, "train")
        wide = language.templates(task, "train_wide")
        assert wide == train + extra and len(extra) == 5
        dev = {words(p) for p in language.templates(task, "heldout")}
        assert not dev & {words(p) for p in wide}
        slots = set(re.findall(r"{(\w+)}", train[0]))
        for p in extra:  # the slots the task's own training phrasings fill, once each
            assert sorted(re.findall(r"{(\w+)}", p)) == sorted(slots), (task, p)
            filled = p.format(obj="red cube", color="red", place="in the bowl", mark="orange mark")
            assert set(filled) <= set(language.CHARSET) and len(filled) <= language.MAX_LENGTH


def test_the_verb_swap_names_the_same_cube_for_another_task():
    from vla.envs.tabletop_env import TabletopEnv

    for task, told in (("lift", "touch the"), ("place", "pick up the"), ("push", "pick up the")):
        env = TabletopEnv(robot="panda", task=task, image_obs=False)
        facts = env.reset(seed=5)[1]["episode"]
        assert facts["verb_swap_instruction"] == f"{told} {facts['target']} cube"
        env.close()
    env = TabletopEnv(robot="panda", task="reach", image_obs=False)
    assert env.reset(seed=5)[1]["episode"]["verb_swap_instruction"] is None  # reach has none
    env.close()


def test_combinations_are_read_and_refused_clearly():
    assert language.parse_combination("place:plate") == ("place", {"receptacle": "plate"})
    assert language.parse_combination("lift:blue") == ("lift", {"target": "blue"})
    for bad, says in (("lift", "task:colour"), ("lift:plate", "receptacle"), ("jump:red", "task")):
        with pytest.raises(ValueError, match=says):
            language.parse_combination(bad)
    facts = {"target": "red", "goal": "plate"}
    assert language.in_combination("place", facts, "place:plate")
    assert language.in_combination("place", facts, "place:red")
    assert not language.in_combination("lift", facts, "place:red")


def test_collect_refuses_test_phrasings_and_a_leave_out_that_leaves_nothing(tmp_path):
    from vla.datasets.collect import CollectConfig

    common = dict(robots=["panda"], tasks=["lift"], episodes=1, output=str(tmp_path))
    with pytest.raises(ValueError, match="never enter a dataset"):
        CollectConfig(**common, instruction_set="test")
    with pytest.raises(ValueError, match="would leave no lift scene"):
        CollectConfig(**common, leave_out=["lift:red", "lift:green", "lift:blue"])
    with pytest.raises(ValueError, match="tabletop scenes"):
        CollectConfig(
            robots=None, tasks=["reach"], episodes=1, output=str(tmp_path), suite="metaworld",
            leave_out=["reach:red"],
        )  # fmt: skip


def test_eval_plans_each_condition_where_it_means_something(tmp_path):
    cfg = EvalConfig(
        policy_path="expert", robots=["panda"], tasks=["reach", "place"], episodes=2,
        output=str(tmp_path), test_phrasings=True, combinations=["place:plate", "lift:red"],
    )  # fmt: skip
    jobs = plan(cfg)
    count = {c: sum(j["condition"] == c for j in jobs) for c in cfg.conditions}
    # verb swap: place only (reach has none); combinations: place:plate only (lift not evaluated)
    assert count == {"train": 4, "heldout": 4, "shuffled": 4, "verb_swap": 2, "test": 4,
                     "combination": 2}  # fmt: skip
    assert {j["scene"]["receptacle"] for j in jobs if j["condition"] == "combination"} == {"plate"}
    mw = EvalConfig(policy_path="expert", robots=None, tasks=["reach"], episodes=1,
                    output=str(tmp_path / "mw"), suite="metaworld")  # fmt: skip
    assert mw.conditions == ["train", "heldout", "shuffled"]  # no verb swap there


def test_a_left_out_combination_never_reaches_the_dataset(ray_cluster, tmp_path):
    from vla.datasets import meta
    from vla.datasets.collect import CollectConfig, collect

    cfg = CollectConfig(
        robots=["panda"], tasks=["reach"], episodes=4, output=str(tmp_path / "d"), workers=1,
        image_size=32, progress=False, leave_out=["reach:red"], randomize=["light:0.5"],
    )  # fmt: skip
    summary = collect(cfg)
    records = meta.load_records(tmp_path / "d")
    assert summary.written == 4 and summary.left_out[("panda", "reach")] >= 1
    assert len(records) == 4 and "red" not in {r["initial_state"]["target"] for r in records}
    # what was kept is labelled as any episode is (the world part's per-frame positions)
    assert all(np.isfinite(r["world_track"]["object"][0]).all() for r in records)
    # randomize=: each episode's own draw, recorded, from the training salt
    from vla.envs import perturbations as perturb

    for r in records:
        drawn = perturb.draw([perturb.parse("light:0.5")], r["seed"], perturb.COLLECT_SALT)
        assert r["perturbation"] == drawn and 0.5 <= drawn["light"]["scale"] <= 1.5


def test_randomize_share_changes_only_the_episodes_its_seeds_choose(ray_cluster, tmp_path):
    from vla.datasets import meta
    from vla.datasets.collect import CollectConfig, collect
    from vla.envs import perturbations as perturb

    cfg = CollectConfig(
        robots=["panda"], tasks=["reach"], episodes=6, output=str(tmp_path / "d"), workers=1,
        image_size=32, progress=False, randomize=["light:0.5"], randomize_share=0.5,
    )  # fmt: skip
    collect(cfg)
    records = meta.load_records(tmp_path / "d")
    changed = {r["seed"] for r in records if r.get("perturbation")}
    assert changed == {r["seed"] for r in records if perturb.randomized(r["seed"], 0.5)}
    assert 0 < len(changed) < len(records)  # these six seeds: some of each
    with pytest.raises(ValueError, match="name the changes"):
        CollectConfig(
            robots=["panda"], tasks=["reach"], episodes=1, output="x", randomize_share=0.5
        )
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        CollectConfig(
            robots=["panda"],
            tasks=["reach"],
            episodes=1,
            output="x",
            randomize=["light"],
            randomize_share=0,
        )
