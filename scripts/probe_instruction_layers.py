"""Which backbone layer knows what a paraphrase asks for? (policy.parts.sentence.layer)

For every layer of the backbone, the prompt's last-token hidden state (the policy's own prompt,
tokenizers/text.py) of each instruction: a linear probe (softmax regression) fitted on the
training phrasings of every task names the task of each held-out paraphrase, which no
demonstration uses. Prints, per layer, how many held-out sentences it names right.

    python scripts/probe_instruction_layers.py [--backbone smollm2-135m] [--tasks reach,lift,place,push]
"""

from __future__ import annotations

import argparse

import torch

from vla import backbone as backbone_lib
from vla.envs.language import TEMPLATES
from vla.tokenizers.text import TextTokenizer

COLOURS = ("red", "green", "blue", "yellow")


def sentences(tasks: list[str], which: str) -> list[tuple[int, str]]:
    return [
        (k, t.format(obj=f"{c} cube", place="in the bowl", mark="orange mark"))
        for k, task in enumerate(tasks)
        for t in TEMPLATES[task][which]
        for c in COLOURS
    ]


@torch.no_grad()
def last_token_states(loaded, text: list[str]) -> torch.Tensor:
    """(N, layers + 1, W): the last prompt token's hidden state after each layer (0: embeddings)."""
    tok = TextTokenizer(loaded.tokenizer)
    rows = []
    for s in text:
        out = loaded.model(torch.tensor([tok.ids(s)]), output_hidden_states=True)
        rows.append(torch.stack([h[0, -1] for h in out.hidden_states]))
    return torch.stack(rows).float()


def probe(train_x, train_y, test_x, classes: int, steps: int = 300) -> torch.Tensor:
    """Softmax regression on centred, unit-length vectors -> predicted classes of test_x."""
    centre = train_x.mean(0)

    def unit(x):
        return torch.nn.functional.normalize(x - centre, dim=-1)

    w = torch.zeros(train_x.shape[1], classes, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        logits = unit(train_x) @ w * 10
        loss = torch.nn.functional.cross_entropy(logits, train_y) + 1e-3 * (w**2).sum()
        loss.backward()
        opt.step()
    return (unit(test_x) @ w).argmax(-1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbone", default="smollm2-135m")
    ap.add_argument("--tasks", default="reach,lift,place,push")
    args = ap.parse_args()
    tasks = args.tasks.split(",")
    loaded = backbone_lib.load(backbone_lib.BackboneConfig(name=args.backbone))
    train, held = sentences(tasks, "train"), sentences(tasks, "heldout")
    train_h = last_token_states(loaded, [s for _, s in train])
    held_h = last_token_states(loaded, [s for _, s in held])
    train_y = torch.tensor([k for k, _ in train])
    held_y = torch.tensor([k for k, _ in held])
    print(f"{len(train)} training sentences, {len(held)} held-out, tasks {tasks}")
    for layer in range(train_h.shape[1]):
        named = probe(train_h[:, layer], train_y, held_h[:, layer], len(tasks))
        print(f"layer {layer:2d}: {int((named == held_y).sum())}/{len(held)} held-out named right")


if __name__ == "__main__":
    main()
