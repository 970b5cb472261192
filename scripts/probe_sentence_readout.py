"""What does the sentence vector tell about a paraphrase no demonstration uses?

The sentence part's features as the policy computes them (SentenceEncoder: layer `--layer`'s
last-token state, and with `words_layer` the mean of the instruction's own tokens after that
layer beside it; centred on the training phrasings, each part unit length), fitted on the
training phrasings only and asked about the dev paraphrases:
- nearest task: the training task whose mean vector is nearest (what readout=nearest_task reads);
- linear probe: softmax regression on the features (what a linear read-out such as the FiLM of
  readout=vector can learn), for the task and, on the tabletop, for the colour;
- slots: the ridge regression readout=slots fits per slot (task; on the tabletop also colour),
  and on the tabletop the nearest mean per slot beside it;
- tabletop also: the left-out combinations (lift:blue, push:red, place:green: no training
  sentence names them) in the training phrasings, as a combination split would ask them.
Dev phrasings only: the frozen test paraphrases are never read here (envs/test_phrasings.py).

    python scripts/probe_sentence_readout.py [--words-layers 0,2,11] [--layer 28]
        [--instruction-set train_wide]
"""

from __future__ import annotations

import argparse
import json

import torch

from vla.envs import metaworld_language
from vla.envs.language import COLORS, TEMPLATES
from vla.policies.sentence_encoder import SentenceEncoder
from vla.policies.sentence_part import SentenceOptions, slot_probes, task_means, unit_parts

TABLETOP_TASKS = ("reach", "lift", "place", "push")
LEFT_OUT = {("lift", "blue"), ("push", "red"), ("place", "green")}


def features(encoder: SentenceEncoder, reference: list[str]):
    """A function: sentences -> (N, parts x W) unit features centred on `reference`, as the
    sentence part computes them."""
    centre = encoder(reference).mean(0)
    return lambda sentences: unit_parts(encoder(sentences) - centre, encoder.parts)


def nearest_mean(train_x, train_y, test_x) -> torch.Tensor:
    """The class whose unit mean vector is nearest, as readout=nearest_task compares them."""
    means = task_means(train_x, train_y.tolist(), SentenceOptions(readout="nearest_task"))
    return (test_x @ means.T).argmax(-1)


def slots(train_x, train_y, test_x) -> torch.Tensor:
    """The value readout=slots reads for one slot: its ridge regression's largest output."""
    meanings = [json.dumps({"slot": f"{int(y):03d}"}) for y in train_y]  # sorted as numbers
    probes, _ = slot_probes(train_x, meanings, SentenceOptions(readout="slots"))
    return (test_x @ probes).argmax(-1)


def linear_probe(train_x, train_y, test_x, classes: int) -> torch.Tensor:
    weight = torch.zeros(train_x.shape[1], classes, requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], max_iter=300)

    def loss():
        opt.zero_grad()
        value = torch.nn.functional.cross_entropy(train_x @ weight + bias, train_y)
        value = value + 1e-3 * weight.pow(2).sum()
        value.backward()
        return value

    opt.step(loss)
    return (test_x @ weight + bias).argmax(-1)


def accuracy(predicted: torch.Tensor, labels: list[int]) -> float:
    return float((predicted == torch.tensor(labels)).float().mean())


def metaworld_rows(
    encoder: SentenceEncoder, name: str, tasks: list[str], fitted_on: str = "train"
) -> list[str]:
    train = [
        (k, s) for k, t in enumerate(tasks) for s in metaworld_language.templates(t, fitted_on)
    ]
    dev = [(k, s) for k, t in enumerate(tasks) for s in metaworld_language.templates(t, "heldout")]
    read = features(encoder, [s for _, s in train])
    x, y = read([s for _, s in train]), torch.tensor([k for k, _ in train])
    dev_x, dev_y = read([s for _, s in dev]), [k for k, _ in dev]
    return [
        f"{name} ({len(dev)} dev paraphrases, fitted on {len(train)} {fitted_on} phrasings): "
        "nearest task "
        f"{accuracy(nearest_mean(x, y, dev_x), dev_y):.2f}, linear probe "
        f"{accuracy(linear_probe(x, y, dev_x, len(tasks)), dev_y):.2f}, slots "
        f"{accuracy(slots(x, y, dev_x), dev_y):.2f}"
    ]


def tabletop_sentences(which: str, left_out: bool) -> list[tuple[str, str, str]]:
    return [
        (task, c, t.format(obj=f"{c} cube", color=c, place="in the bowl", mark="orange mark"))
        for task in TABLETOP_TASKS
        for t in TEMPLATES[task][which]
        for c in COLORS
        if ((task, c) in LEFT_OUT) == left_out
    ]


def tabletop_rows(encoder: SentenceEncoder) -> list[str]:
    train = tabletop_sentences("train", left_out=False)
    tests = {
        "dev paraphrases": tabletop_sentences("heldout", False)
        + tabletop_sentences("heldout", True),
        "left-out combinations": tabletop_sentences("train", left_out=True),
    }
    read = features(encoder, [s for *_, s in train])
    x = read([s for *_, s in train])
    rows = []
    for name, test in tests.items():
        test_x = read([s for *_, s in test])
        found = []
        for slot, names in ((0, TABLETOP_TASKS), (1, COLORS)):
            y = torch.tensor([names.index(e[slot]) for e in train])
            labels = [names.index(e[slot]) for e in test]
            found.append(
                "/".join(
                    f"{accuracy(p, labels):.2f}"
                    for p in (
                        linear_probe(x, y, test_x, len(names)),
                        slots(x, y, test_x),
                        nearest_mean(x, y, test_x),
                    )
                )
            )
        rows.append(
            f"tabletop {name} ({len(test)}), linear probe/slots/nearest mean: task {found[0]}, "
            f"colour {found[1]}"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="smollm2-135m")
    parser.add_argument("--layer", type=int, default=28)
    parser.add_argument("--words-layers", default="0,2,11")
    parser.add_argument(
        "--instruction-set",
        default="train",
        choices=("train", "train_wide"),
        help="the Meta-World phrasings the readouts are fitted on (train_wide: 8 per task)",
    )
    args = parser.parse_args()
    for words_layer in (int(w) for w in args.words_layers.split(",")):
        encoder = SentenceEncoder(args.backbone, args.layer, words_layer=words_layer)
        fitted_on = args.instruction_set
        rows = metaworld_rows(encoder, "MT10", list(metaworld_language.MT10), fitted_on)
        rows += metaworld_rows(encoder, "MT50", list(metaworld_language.TASKS), fitted_on)
        rows += tabletop_rows(encoder)
        for row in rows:
            print(f"layer {args.layer}, words_layer {words_layer}: {row}", flush=True)


if __name__ == "__main__":
    main()
