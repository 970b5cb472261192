"""The sentence token: the deep pretrained backbone says what a paraphrase asks for, and the
policy carries it as one token (policies/sentence_encoder.py)."""

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests.test_policy import ROBOTS, batch_of, make_policy, obs_of
from vla.datasets.loader import EpisodeDataset
from vla.envs.language import TEMPLATES
from vla.policies.sentence_encoder import SentenceEncoder
from vla.policies.sentence_part import SentenceOptions, SentencePart

COLOURS = ("red", "green", "blue")
REF = ("lift the red cube", "touch the red cube", "pick up the blue cube")


def sentences(task, which, places=("in the bowl",)):
    return sorted(
        {
            t.format(obj=f"{c} cube", place=p, mark="green square")
            for t in TEMPLATES[task][which]
            for c in COLOURS
            for p in places
        }
    )


def named_tasks(enc, places=("in the bowl",)) -> dict[str, list[str]]:
    """{task: the task each of its held-out paraphrases lies nearest}, by the cosine to each
    task's mean training vector (centred; each layer of a span unit length, as the policy)."""
    tasks = list(TEMPLATES)

    def unit(x):
        parts = (x - centre).unflatten(-1, (enc.span, -1))
        return torch.nn.functional.normalize(
            torch.nn.functional.normalize(parts, dim=-1).flatten(1), dim=-1
        )

    train = {t: enc(sentences(t, "train", places)) for t in tasks}
    centre = torch.cat(list(train.values())).mean(0)
    means = torch.stack([unit(train[t]).mean(0) for t in tasks])
    return {
        t: [tasks[i] for i in (unit(enc(sentences(t, "heldout", places))) @ means.T).argmax(1)]
        for t in tasks
    }


def test_deep_layers_name_the_task_of_held_out_paraphrases(sentence_encoders):
    """Fitted on nothing but the training phrasings (one mean per task), the sentence vectors of
    paraphrases no demonstration uses ("hoist the red cube into the air") lie nearest their
    own task's: what the policy's sentence token relies on."""
    for task, named in named_tasks(sentence_encoders(28)).items():
        assert named == [task] * len(named), (task, named)


# slow: two more 28-layer reads of every held-out sentence (~24 s); the fast tests beside it
# cover the span's mechanics and the deep layer's reading of paraphrases
@pytest.mark.slow
def test_a_span_of_layers_names_more_held_out_paraphrases_than_one_layer(sentence_encoders):
    """With the plate as well as the bowl, layer 28 alone reads "drop the cube on the plate" as
    another task; layers 22-29 together name more held-out paraphrases, places most of all
    (the reason for policy.parts.sentence.span, docs/results.md)."""
    places = ("in the bowl", "on the plate")
    one = named_tasks(sentence_encoders(28), places)
    span = named_tasks(sentence_encoders(29, span=8), places)

    def right(named, tasks=TEMPLATES):
        return sum(n == t for t in tasks for n in named[t])

    assert right(span) > right(one), (one, span)
    assert right(span, ["place"]) > right(one, ["place"]), (one["place"], span["place"])
    assert right(span) >= 0.9 * sum(len(v) for v in span.values()), span


def test_each_sentence_is_read_once(monkeypatch):
    enc = SentenceEncoder("smollm2-135m", layers=2)
    calls = []
    read = enc.encode_one
    monkeypatch.setattr(enc, "encode_one", lambda s: calls.append(s) or read(s))
    a = enc(["lift the red cube", "touch the blue cube", "lift the red cube"])
    b = enc(["touch the blue cube"])
    assert calls == ["lift the red cube", "touch the blue cube"]
    assert a.shape == (3, enc.width) and torch.equal(a[0], a[2]) and torch.equal(a[1], b[0])


def test_a_span_of_layers_reads_each_layer_once_the_top_one_last():
    top = SentenceEncoder("smollm2-135m", layers=3)
    span = SentenceEncoder("smollm2-135m", layers=3, span=3)
    v = span(["lift the red cube"])
    assert v.shape == (1, 3 * span.width)
    torch.testing.assert_close(v[:, -span.width :], top(["lift the red cube"]))
    layers = v.unflatten(-1, (3, -1))[0]
    assert float((layers[0] - layers[1]).abs().max()) > 1e-3  # not one layer three times
    with pytest.raises(ValueError, match="between 1 and 3"):
        SentenceEncoder("smollm2-135m", layers=3, span=4)


def test_a_random_encoder_is_the_same_draw_every_time_and_not_the_pretrained_one():
    """The ablation's layers are never saved: training and acting must draw the same ones."""
    sentences = ["lift the red cube", "touch the blue cube"]
    first = SentenceEncoder("smollm2-135m", layers=2, init="random")(sentences)
    again = SentenceEncoder("smollm2-135m", layers=2, init="random")(sentences)
    pretrained = SentenceEncoder("smollm2-135m", layers=2)(sentences)
    torch.testing.assert_close(first, again)
    assert float((first - pretrained).abs().max()) > 1e-2
    from vla.policies.sentence_part import SentenceOptions

    with pytest.raises(ValueError, match="policy.parts.sentence.init"):
        SentenceOptions(init="scrambled")


# two tasks, two phrasings each: the reference sentences of the task-readout tests
TASK_REFERENCES = (
    "lift the red cube",
    "raise the blue cube",
    "touch the red cube",
    "reach for the blue cube",
)
TASK_OF_REFERENCE = ("lift", "lift", "reach", "reach")


def sentence_policy(demos, sentence, reference=REF, tasks=(), words=False, **parts):
    """A policy whose instruction reaches it as the sentence token (`sentence` its options),
    fitted on `reference` (and their `tasks`)."""
    fitted = {"sentence": {"reference": list(reference), "tasks": list(tasks)}}
    parts = {"sentence": sentence, "words": {"tokens": words}, **parts}
    return make_policy(demos, "chunk", parts=parts, fitted=fitted)


def test_the_tasks_readout_is_each_sentences_likeness_to_every_training_task(demos):
    """readout=tasks: the token reads K numbers, the sentence's cosine to each task's mean
    reference vector; a reference sentence is most like its own task, a paraphrase is read the
    same way, and a policy without the references' tasks is refused."""
    ref, tasks = TASK_REFERENCES, TASK_OF_REFERENCE
    opts = {"layer": 3, "span": 2, "readout": "tasks"}
    part = sentence_policy(demos, opts, ref, tasks).parts["sentence"]
    assert part.token[1].in_features == 2  # lift, reach: sorted
    likeness = part.features(part.encoder(list(ref)) - part.centre)
    assert likeness.shape == (4, 2)
    assert likeness.argmax(1).tolist() == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="got 0 tasks for 4 sentences"):
        sentence_policy(demos, opts, ref)
    with pytest.raises(ValueError, match="only"):
        sentence_policy(demos, opts, ref, ("lift",) * 4)
    with pytest.raises(ValueError, match="Did you mean 'tasks'"):
        SentenceOptions(layer=3, readout="task")
    with pytest.raises(ValueError, match="between 1 and"):
        SentenceOptions(layer=3, span=4)


def test_the_nearest_task_readout_is_about_one_hot_on_the_nearest_task(demos):
    """readout=nearest_task: the same likenesses through a sharp softmax, so each reference
    sentence reads (nearly) as its own task alone and a paraphrase as the task it lies nearest;
    the temperature sets how sharp, and must be positive."""
    ref, tasks = TASK_REFERENCES, TASK_OF_REFERENCE
    opts = {"layer": 3, "span": 2, "readout": "nearest_task"}
    sharp = sentence_policy(demos, opts, ref, tasks).parts["sentence"]
    soft = sentence_policy(demos, {**opts, "temperature": 10.0}, ref, tasks).parts["sentence"]
    centred = sharp.encoder(list(ref)) - sharp.centre
    read = sharp.features(centred)
    torch.testing.assert_close(read.sum(1), torch.ones(4))
    assert read.argmax(1).tolist() == [0, 0, 1, 1]
    likeness = sharp.unit(centred) @ sharp.task_means.T  # the cosines
    torch.testing.assert_close(read, (likeness / 0.05).softmax(-1))
    assert float(read.max(1).values.min()) > 0.9  # the references are about one-hot
    flat = soft.features(centred)
    assert float(flat.max(1).values.max()) < 0.6  # a high temperature is nearly uniform
    with pytest.raises(ValueError, match="temperature"):
        SentenceOptions(layer=3, readout="nearest_task", temperature=0)


def test_the_projected_readout_keeps_only_what_lies_in_the_training_sentences_span(demos):
    """readout=projected: a reference sentence reads as the vector readout reads it; any other
    sentence loses its part outside the references' span (where the token's weights, which
    training never moves, would move the policy at random); a new combination of known words
    ("lift the blue cube", where lift was trained only with red) lies in the span and still
    reads differently from every reference."""
    ref = ("lift the red cube", "touch the blue cube", "touch the red cube")
    opts = {"layer": 3, "words_layer": 2, "readout": "projected"}
    part = sentence_policy(demos, opts, ref).parts["sentence"]
    plain = sentence_policy(demos, {**opts, "readout": "vector"}, ref).parts["sentence"]
    p = part.projection
    torch.testing.assert_close(p @ p, p, atol=1e-5, rtol=1e-4)  # a projection
    assert round(float(p.trace())) == 3  # onto the three references' span
    known = part.encoder(list(ref)) - part.centre
    torch.testing.assert_close(part.features(known), plain.features(known), atol=1e-5, rtol=1e-4)
    other = part.encoder(["hoist the green block"]) - part.centre  # words no reference has
    read, whole = part.features(other), plain.features(other)
    assert float(read.norm()) < 0.9 * float(whole.norm())  # much of it lay outside the span
    torch.testing.assert_close(read @ p, read, atol=1e-4, rtol=1e-4)  # the rest lies inside
    combination = part.encoder(["lift the blue cube"]) - part.centre
    read, whole = part.features(combination), plain.features(combination)
    assert float(read.norm()) > 0.95 * float(whole.norm())  # known words: inside the span
    unit = torch.nn.functional.normalize
    assert float((unit(read, dim=-1) @ unit(part.features(known), dim=-1).T).max()) < 0.99


def test_the_projected_readouts_noise_acts_in_training_only_and_inside_the_span(demos):
    """noise: while training, each sentence reads as a random point near it inside the training
    sentences' span (expected distance `noise` on the unit vector's scale); acting reads it
    exactly; and noise without the projected readout is refused."""
    ref = ("lift the red cube", "touch the blue cube", "touch the red cube", "push the red cube")
    opts = {"layer": 3, "words_layer": 2, "readout": "projected"}
    part = sentence_policy(demos, {**opts, "noise": 0.5}, ref).parts["sentence"]
    known = (part.encoder(list(ref)) - part.centre).repeat(500, 1)
    part.eval()
    exact = part.features(known)
    torch.testing.assert_close(part.features(known), exact)  # acting: no noise
    part.train()
    noisy = part.features(known)
    scale = exact.shape[-1] ** 0.5  # features are the unit vector times sqrt(width)
    moved = (noisy - exact) / scale
    torch.testing.assert_close(moved @ part.projection, moved, atol=1e-4, rtol=1e-4)  # inside
    distance = float(moved.pow(2).sum(-1).mean().sqrt())
    assert 0.45 < distance < 0.55, distance
    with pytest.raises(ValueError, match="readout=projected"):
        SentenceOptions(layer=3, readout="vector", noise=0.5)
    with pytest.raises(ValueError, match=">= 0"):
        SentenceOptions(layer=3, readout="projected", noise=-1)


def test_projecting_onto_the_meanings_reads_phrasings_of_one_meaning_alike(demos):
    """onto=meanings: the projection is onto the span of each meaning's mean vector (fitted from
    the records' "asked", the colour included), so two phrasings of one meaning read more alike
    than across the sentences' span; a new combination of known words still reads unlike every
    reference; and an unknown `onto` is refused."""
    ref = ("lift the red cube", "raise the red cube", "touch the blue cube", "touch the red cube")
    asked = (("lift", "red"), ("lift", "red"), ("reach", "blue"), ("reach", "red"))
    episodes = [
        {"instruction": s, "task": t, "asked": {"task": t, "target": c}}
        for s, (t, c) in zip(ref, asked, strict=True)
    ]
    fitted = SentencePart.fit(SentenceOptions(), episodes, {})
    assert fitted["reference"] == sorted(ref)
    assert len(set(fitted["meanings"])) == 3 and len(set(fitted["tasks"])) == 2
    opts = {"layer": 3, "words_layer": 2, "readout": "projected"}
    policy = make_policy(
        demos,
        "chunk",
        parts={"sentence": {**opts, "onto": "meanings"}},
        fitted={"sentence": fitted},
    )
    meanings = policy.parts["sentence"]
    sentences = sentence_policy(demos, opts, ref).parts["sentence"]
    assert round(float(meanings.projection.trace())) == 3  # one direction per meaning

    def likeness(part, a, b):
        read = part.features(part.encoder([a, b]) - part.centre)
        return float(torch.nn.functional.cosine_similarity(read[:1], read[1:]))

    same = ("lift the red cube", "raise the red cube")
    assert likeness(meanings, *same) > likeness(sentences, *same) + 0.1
    known = meanings.features(meanings.encoder(list(ref)) - meanings.centre)
    new = meanings.features(meanings.encoder(["lift the blue cube"]) - meanings.centre)
    unit = torch.nn.functional.normalize
    assert float((unit(new, dim=-1) @ unit(known, dim=-1).T).max()) < 0.99
    with pytest.raises(ValueError, match="policy.parts.sentence.onto"):
        SentenceOptions(readout="projected", onto="tasks")
    with pytest.raises(ValueError, match="onto=meanings .* got 0 meanings for 4 sentences"):
        sentence_policy(demos, {**opts, "onto": "meanings"}, ref)  # fitted without meanings


def slots_policy(demos, episodes, **options):
    fitted = SentencePart.fit(SentenceOptions(), episodes, {})
    opts = {"layer": 3, "words_layer": 2, "readout": "slots", **options}
    return make_policy(demos, "chunk", parts={"sentence": opts}, fitted={"sentence": fitted})


def test_the_slots_readout_reads_each_thing_asked_apart_and_combines_them(demos, tmp_path):
    """readout=slots: for each slot of what the records say is asked (the task, the cube), a
    softmax over that slot's values; each reference reads as its own values, and a new
    combination of known values ("lift the blue cube", where lift was only asked of the red
    cube) reads as lift and as blue: a point no training sentence had. A checkpoint refits the
    same regression."""
    ref = ("lift the red cube", "raise the red cube", "touch the blue cube", "touch the red cube")
    asked = (("lift", "red"), ("lift", "red"), ("reach", "blue"), ("reach", "red"))
    episodes = [
        {"instruction": s, "task": t, "asked": {"task": t, "target": c}}
        for s, (t, c) in zip(ref, asked, strict=True)
    ]
    policy = slots_policy(demos, episodes)
    part = policy.parts["sentence"]
    assert part.slot_sizes == [2, 2]  # target: blue, red; task: lift, reach (sorted)
    assert part.token[1].in_features == 4

    def read(sentences):
        f = part.features(part.encoder(list(sentences)) - part.centre)
        target, task = f.split(part.slot_sizes, -1)
        torch.testing.assert_close(target.sum(1), torch.ones(len(f)))  # a softmax per slot
        torch.testing.assert_close(task.sum(1), torch.ones(len(f)))
        names = (("blue", "red"), ("lift", "reach"))
        return [
            (names[1][int(k)], names[0][int(c)])
            for k, c in zip(task.argmax(1), target.argmax(1), strict=True)
        ]

    assert read(sorted(ref)) == [asked[ref.index(s)] for s in sorted(ref)]
    assert read(["lift the blue cube"]) == [("lift", "blue")]
    policy.save_pretrained(tmp_path / "ckpt")
    loaded = type(policy).from_pretrained(tmp_path / "ckpt").parts["sentence"]
    torch.testing.assert_close(loaded.slot_probes, part.slot_probes, rtol=0, atol=0)


def test_the_slots_readout_reads_the_task_where_only_the_task_is_asked(demos):
    """Meta-World's records (and datasets from before "asked") name only the task: one slot,
    each reference read as its own task. A training set that asks one thing (a user's single
    task) reads every sentence as the same constant, so the recipe still trains on it."""
    ref, tasks = TASK_REFERENCES, TASK_OF_REFERENCE
    episodes = [{"instruction": s, "task": t} for s, t in zip(ref, tasks, strict=True)]
    part = slots_policy(demos, episodes).parts["sentence"]
    assert part.slot_sizes == [2]
    read = part.features(part.encoder(list(ref)) - part.centre)
    assert read.argmax(1).tolist() == [0, 0, 1, 1]  # lift, lift, reach, reach
    one = slots_policy(demos, [{**e, "task": "lift"} for e in episodes]).parts["sentence"]
    assert one.slot_sizes == [1]
    read = one.features(one.encoder([*ref, "hoist the green block"]) - one.centre)
    torch.testing.assert_close(read, torch.ones(5, 1))
    with pytest.raises(ValueError, match="ridge must be > 0"):
        SentenceOptions(readout="slots", ridge=0)


def test_the_general_recipes_reader_keeps_the_colour_and_new_combinations(demos):
    """recipe=general's own sentence options (layer 28, its words, its readout), fitted on the
    tabletop's reach and lift training phrasings with lift never asked of the blue cube: every
    phrasing of "lift the blue cube" reads as lift and as blue, unlike every lift it was trained
    on. A reader of the task alone (the nearest task) reads every lift the same and fails."""
    import dataclasses

    from tests.test_configs import composed
    from vla.policies.configuration import PolicyConfig

    options = PolicyConfig(**composed("train", "recipe=general")["policy"]).parts["sentence"]

    def phrasings(task, colour):
        return [t.format(obj=f"{colour} cube") for t in TEMPLATES[task]["train"]]

    seen = [(t, c) for t in ("lift", "reach") for c in COLOURS if (t, c) != ("lift", "blue")]
    episodes = [
        {"instruction": s, "task": t, "asked": {"task": t, "target": c}}
        for t, c in seen
        for s in phrasings(t, c)
    ]
    part = slots_policy(demos, episodes, **dataclasses.asdict(options)).parts["sentence"]
    assert part.slot_sizes == [3, 2]  # target: blue, green, red; task: lift, reach
    new = part.features(part.encoder(phrasings("lift", "blue")) - part.centre)
    assert new[:, :3].argmax(1).tolist() == [0] * len(new)  # blue
    assert new[:, 3:].argmax(1).tolist() == [0] * len(new)  # lift
    lifts = part.features(part.encoder(phrasings("lift", "red")) - part.centre)
    unit = torch.nn.functional.normalize
    assert float((unit(new, dim=-1) @ unit(lifts, dim=-1).T).max()) < 0.9


def test_sentence_vectors_are_centred_on_the_reference_sentences(demos):
    """Deep vectors of any two prompts point almost the same way; the token reads each one's
    difference from the reference sentences' mean, and a policy without references is refused."""
    enc = SentenceEncoder("smollm2-135m", layers=2)
    raw = torch.nn.functional.normalize(enc(list(REF)), dim=-1)
    assert float((raw @ raw.T).min()) > 0.9  # why centring is needed
    part = sentence_policy(demos, {"layer": 2}, words=True).parts["sentence"]
    torch.testing.assert_close(part.centre, enc(list(REF)).mean(0))
    with pytest.raises(ValueError, match="fit it on a dataset first"):
        sentence_policy(demos, {"layer": 2}, reference=())


def test_vla_train_fits_the_sentence_on_the_datasets_instructions(dataset, tmp_path):
    from tests.test_training import two_step_config
    from tests.tiny import tiny
    from vla.policies.vla_policy import VLAPolicy
    from vla.training import engines

    root, _ = dataset
    cfg = two_step_config(root, tmp_path / "sentence")
    engines.run(cfg, tiny({"sentence": {"layer": 1}}))
    policy = VLAPolicy.from_pretrained(tmp_path / "sentence" / "policy")
    split = EpisodeDataset(root, split="train", val_fraction=cfg.val_fraction)
    train = {e["instruction"]: e["task"] for e in split.episodes}
    fitted = policy.fitted["sentence"]
    assert set(fitted["reference"]) == set(train) and len(train) > 4
    assert dict(zip(fitted["reference"], fitted["tasks"], strict=True)) == train


def test_vla_train_fits_the_slots_on_what_the_datasets_records_ask(dataset, tmp_path):
    """readout=slots end to end: vla train fits each sentence's meaning from the collected
    records ("asked": the task and the cube), the checkpoint refits the same regression, and
    every training sentence reads as its own task and its own cube."""
    from tests.test_training import two_step_config
    from tests.tiny import tiny
    from vla.policies.vla_policy import VLAPolicy
    from vla.training import engines

    root, _ = dataset
    cfg = two_step_config(root, tmp_path / "slots")
    engines.run(cfg, tiny({"sentence": {"layer": 2, "words_layer": 1, "readout": "slots"}}))
    part = VLAPolicy.from_pretrained(tmp_path / "slots" / "policy").parts["sentence"]
    split = EpisodeDataset(root, split="train", val_fraction=cfg.val_fraction)
    asked = {e["instruction"]: e["asked"] for e in split.episodes}
    tasks = sorted({a["task"] for a in asked.values()})
    cubes = sorted({a["target"] for a in asked.values()})
    assert len(tasks) == 2 and len(cubes) >= 2
    assert part.slot_sizes == [len(cubes), len(tasks)]  # target, task (sorted slot names)
    sentences = sorted(asked)
    read = part.features(part.encoder(sentences) - part.centre)
    cube, task = read.split(part.slot_sizes, -1)
    assert [cubes[int(i)] for i in cube.argmax(1)] == [asked[s]["target"] for s in sentences]
    assert [tasks[int(i)] for i in task.argmax(1)] == [asked[s]["task"] for s in sentences]


def test_a_policy_that_would_not_hear_the_instruction_is_refused(demos):
    with pytest.raises(ValueError, match="no part carries the instruction"):
        make_policy(demos, "chunk", parts={"words": {"tokens": False}})
    with pytest.raises(ValueError, match=">= 1"):
        SentenceOptions(layer=0)
    with pytest.raises(ValueError, match="needs \\['sentence'\\]"):
        make_policy(demos, "chunk", parts={"images": {"encoder": "conv", "film_from": "sentence"}})
    with pytest.raises(ValueError, match="needs \\['pixels'\\]"):
        make_policy(demos, "chunk", parts={"images": {"encoder": "conv", "film_from": "pixels"}})


def test_film_from_sentence_conditions_the_images_on_the_sentence_token(demos):
    """The verb as the words spell it must not reach the image features (the head read it from
    there and ignored the sentence token: docs/results.md): they are conditioned on the
    sentence token instead."""
    pol = sentence_policy(
        demos, {"layer": 2}, images={"encoder": "conv", "film_from": "sentence", "patch_size": 16}
    )
    seen = {}
    pol.parts["images"].encoder.register_forward_hook(lambda m, a, out: seen.update(film=a[1]))
    pol.parts["sentence"].token.register_forward_hook(lambda m, a, out: seen.update(token=out))
    pol(batch_of(demos, list(ROBOTS)))
    assert torch.equal(seen["film"], seen["token"])


def test_the_sentence_token_carries_the_verb_trains_and_survives_a_checkpoint(demos, tmp_path):
    pol = sentence_policy(demos, {"layer": 2})
    words = make_policy(demos, "chunk")
    batch = batch_of(demos, list(ROBOTS))
    prefix, mask, _ = pol.embed_prefix(pol.pre.training(batch))
    with_words, _, _ = words.embed_prefix(words.pre.training(batch))
    n_words = words.pre.text(batch["instruction"])[0].shape[1]
    # the words give way to one sentence token, every position real
    assert prefix.shape[1] == with_words.shape[1] - n_words + 1 and bool(mask.all())

    loss, _ = pol(batch)
    loss.backward()
    token = pol.parts["sentence"].token
    assert token[1].weight.grad is not None and token[1].weight.grad.abs().sum() > 0
    pol.zero_grad()

    with torch.no_grad():  # a trained token: the verb alone now moves the actions
        token[1].weight.mul_(50)
    robot = list(ROBOTS)[0]
    obs = obs_of(demos, robot)
    lift = pol.predict_action_chunk({**obs, "instruction": "lift the red cube"}, robot)
    touch = pol.predict_action_chunk({**obs, "instruction": "touch the red cube"}, robot)
    assert np.abs(lift - touch).max() > 1e-4

    pol.save_pretrained(tmp_path / "ckpt")
    saved = load_file(str(tmp_path / "ckpt" / "model.safetensors"))
    assert any(k.startswith("parts.sentence.token.") for k in saved)
    assert not any("encoder.decoder" in k for k in saved), "the frozen encoder was saved"
    loaded = type(pol).from_pretrained(tmp_path / "ckpt")
    assert loaded.fitted["sentence"]["reference"] == list(REF)
    np.testing.assert_array_equal(
        loaded.predict_action_chunk({**obs, "instruction": "lift the red cube"}, robot), lift
    )


def test_the_words_part_is_the_mean_of_the_instructions_own_tokens_first():
    """words_layer=k puts the instruction's own tokens' mean state after layer k before the
    last-token vector; the template's tokens around it are left out."""
    words = SentenceEncoder("smollm2-135m", layers=3, words_layer=2)
    top = SentenceEncoder("smollm2-135m", layers=3)
    v = words(["lift the red cube"])
    assert words.parts == 2 and v.shape == (1, 2 * words.width)
    torch.testing.assert_close(v[:, words.width :], top(["lift the red cube"]))
    ids, start, end = words.text.instruction_span("lift the red cube")
    assert words.text.tok.decode(ids[start:end]).strip() == "lift the red cube"
    with torch.no_grad():
        out = words.decoder(input_ids=torch.tensor([ids]), output_hidden_states=True)
    expected = out.hidden_states[2][0, start:end].mean(0)
    torch.testing.assert_close(v[0, : words.width], expected.float())
    # the words alone tell "open" from "close" where the template is the same
    a, b = words(["open the drawer", "close the drawer"])[:, : words.width]
    assert float((a - b).abs().max()) > 1e-2
    with pytest.raises(ValueError, match="words layer must be between 0"):
        SentenceEncoder("smollm2-135m", layers=3, words_layer=4)
    from vla.policies.sentence_part import SentenceOptions

    with pytest.raises(ValueError, match="words_layer must be between 0"):
        SentenceOptions(layer=3, words_layer=5)
