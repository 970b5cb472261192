"""`sentence`: one token for what the instruction asks, as the deep pretrained backbone reads it.

The policy keeps only its first few backbone layers, and those do not know that "hoist the cube
into the air" means "lift it"; the pretrained model's own deep layers do (policies/
sentence_encoder.py runs them, frozen, once per distinct sentence). This part turns that vector
into one token ("sentence"), read one of six ways (`readout`):
- `vector`: the whole vector, centred on the training instructions (deep vectors of any two
  prompts point the same way, cosine >= 0.98: what tells tasks apart is the difference from
  their mean), each layer's part unit length;
- `projected`: that vector with only its part inside the span of the training sentences' own
  vectors. Training moves the read-out only along directions some training sentence has, so
  a paraphrase's part outside that span meets the read-out's random initial weights there and
  moves the policy at random (row 55: `vector` kept 64% on the training phrasings and lost
  most dev paraphrases). Projected, a new sentence is read by what it shares with the training
  ones, and a new combination of known words is a new point in their span: not a lookup;
- `tasks`: only how close it lies to each training task's mean vector;
- `nearest_task`: those likenesses through a softmax at `temperature`: about one-hot on the
  nearest training task, so a paraphrase that names its task reads exactly as the training
  phrasings do. A lookup: a new combination of known words reads as a mix of training tasks.
- `slots`: what is asked, slot by slot: for each thing the training records say an instruction
  asks ("asked": the task, and on the tabletop the cube and the fixture), a ridge regression
  from the vector onto that slot's values, fitted on the training sentences, through that
  softmax; the slots side by side. Not the likeness to each value's mean: the tabletop's
  left-out combinations are unbalanced (no "lift the blue cube"), so the mean of the blue
  sentences leans to the other tasks, and the nearest colour mean names the colour of only
  18% of them, the regression 100% (MT10 dev paraphrases: 97% both). A lookup per slot, not per
  sentence: "lift the blue cube" reads as lift and as blue though no training sentence paired
  them, so a new combination of known values is a new point; a new value (a task no
  demonstration has) is not.
- `tokens`: not a lookup: the deep layer's state at every token of the prompt becomes a token of
  the sequence (the policy's own layers attend over them word by word), and a learnt query
  pools them into the "sentence" vector other parts read; nothing compares a sentence with the
  training ones, so a new combination of known words can act unlike every training task.

With `onto=meanings`, `projected` projects onto the span of each thing asked's mean vector
instead (SentenceOptions.onto): phrasings of one meaning then read nearly alike.

Fitted state (`fit`, saved with the checkpoint): the training set's distinct instructions, and
the task and the meaning (what is asked) most of each one's episodes have.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

import torch
from torch import nn

from vla import backbone as backbone_lib
from vla.policies.part import Part, PolicyContext, Seen
from vla.policies.sentence_encoder import SentenceEncoder
from vla.suggest import unknown

READOUTS = ("vector", "projected", "tasks", "nearest_task", "slots", "tokens")
ONTO = ("sentences", "meanings")


@dataclass
class SentenceOptions:
    layer: int = 28  # the backbone layer whose last-token state is read (1 = the first)
    # how many layers, ending at `layer`, give the vector (side by side): layers 22-29 together
    # name the task of held-out paraphrases that any one of them misreads (docs/results.md)
    span: int = 1
    # 0: off; k: one more part, the mean of the instruction's own tokens' states after layer k
    # (policies/sentence_encoder.py). The nearest task of Meta-World's dev paraphrases from
    # layer 28 alone is right for 80% (MT10) / 51% (MT50), with layer 2's words beside it 97% /
    # 78%, layer 11's 90% / 73% (docs/results.md, "What the sentence vector knows")
    words_layer: int = 0
    # vector | projected | tasks | nearest_task | slots | tokens (the module docstring)
    readout: str = "vector"
    # the softmax temperature of nearest_task, on cosines (training phrasings lie 0.2-0.5 nearer
    # their own task than any other, so 0.05 makes them one-hot, e^4 or more), and of slots, on
    # its regressions' outputs (recipe=general: 0.02, configs/policy/general.yaml)
    temperature: float = 0.05
    # pretrained | random: the encoder's layers drawn afresh from a fixed seed (the ablation of
    # what pretraining put in them; the same draw at training and acting, so never saved)
    init: str = "pretrained"
    # readout=projected, training only: Gaussian noise of this expected norm (the unit vector's
    # is 1) added inside the training sentences' span. The training phrasings lie about
    # equally far apart (distance ~0.95, same task or not) and a dev paraphrase ~0.7 from its
    # nearest one; trained on those exact points alone, the policy's answer between them is
    # unconstrained. The noise makes it act on a neighbourhood of each training sentence
    noise: float = 0.0
    # readout=projected, onto what: `sentences`, the span of the training sentences' vectors; or
    # `meanings`, the span of the mean vector of each thing asked (the episodes' task and the
    # object and fixture it names: "asked" in the dataset's records, else the task). Phrasings
    # of one meaning lie about as far apart as different tasks do (MT10: cosine 0.46 against
    # 0.5 to the nearest other task's), so across the sentences' span the policy learns each
    # phrasing apart; onto the meanings' span they nearly coincide (cosine 0.94 to their own
    # mean), and a dev paraphrase lies at 0.82 to its own and 0.48 to the nearest other. Still
    # a linear map of the vector, not a choice among meanings: a new combination of known words
    # (a left-out task and colour) is a new point
    onto: str = "sentences"
    # readout=slots' ridge penalty (the vectors are unit length): 1.0 names 97% of MT10's dev
    # paraphrases' tasks, 0.1 87%, 0.01 80% (the smaller, the nearer interpolating the 30
    # training phrasings); the tabletop's task and colour of dev paraphrases and left-out
    # combinations 100% at each. With a handful of sentences, one per value, 1.0 blurs the
    # values apart (4 sentences: "lift the blue cube" read as green) where 0.1 does not
    ridge: float = 1.0

    def __post_init__(self):
        if self.layer < 1:
            raise ValueError(
                f"policy.parts.sentence.layer must be >= 1 (a backbone layer), got {self.layer}"
            )
        if not 1 <= self.span <= self.layer:
            raise ValueError(
                f"policy.parts.sentence.span must be between 1 and layer ({self.layer}), got {self.span}"
            )
        if not 0 <= self.words_layer <= self.layer:
            raise ValueError(
                f"policy.parts.sentence.words_layer must be between 0 (off) and layer "
                f"({self.layer}), got {self.words_layer}"
            )
        if self.readout not in READOUTS:
            raise ValueError(unknown("policy.parts.sentence.readout", self.readout, READOUTS))
        if self.init not in backbone_lib.INITS:
            raise ValueError(unknown("policy.parts.sentence.init", self.init, backbone_lib.INITS))
        if self.noise < 0 or (self.noise and self.readout != "projected"):
            raise ValueError(
                "policy.parts.sentence.noise is a norm >= 0, added inside the training sentences' "
                f"span: it needs readout=projected (got noise={self.noise}, readout={self.readout})"
            )
        if not self.ridge > 0:
            raise ValueError(f"policy.parts.sentence.ridge must be > 0, got {self.ridge}")
        if self.onto not in ONTO:
            raise ValueError(unknown("policy.parts.sentence.onto", self.onto, ONTO))
        if not self.temperature > 0:
            raise ValueError(
                f"policy.parts.sentence.temperature must be > 0, got {self.temperature}"
            )


class SentencePart(Part):
    options = SentenceOptions

    def __init__(self, options: SentenceOptions, context: PolicyContext):
        super().__init__(options, context)
        reference = list(context.fitted.get("reference", ()))
        if not reference:
            raise ValueError(
                "policy.parts.sentence centres the sentence vectors on the training instructions: fit "
                "it on a dataset first (vla train does)"
            )
        # frozen pretrained weights: not a submodule, never saved
        self.encoder = SentenceEncoder(
            context.backbone,
            options.layer,
            context.dtype,
            context.max_text_tokens,
            options.span,
            init=options.init,
            words_layer=options.words_layer,
        )
        vectors = self.encoder(reference)
        centre = vectors.mean(0)
        self.register_buffer("centre", centre, persistent=False)
        read = self.encoder.parts * self.encoder.width
        self.pool = None
        if options.readout == "tokens":
            if self.encoder.parts != 1:
                raise ValueError(
                    "policy.parts.sentence.readout=tokens reads one layer: span=1, words_layer=0"
                )
            read = self.encoder.width
            width = context.width
            self.pool = nn.MultiheadAttention(width, 4, batch_first=True)
            self.query = nn.Parameter(torch.randn(1, 1, width) / width**0.5)
        elif options.readout == "projected":
            # the orthogonal projection onto the training sentences' span: unique whatever basis
            # QR picks, so it is recomputed from the fitted sentences rather than saved
            spanning = self.unit(vectors - centre)
            if options.onto == "meanings":
                spanning = task_means(spanning, context.fitted.get("meanings", ()), options)
            basis, _ = torch.linalg.qr(spanning.T.double())
            self.register_buffer("projection", (basis @ basis.T).float(), persistent=False)
            self.span_rank = basis.shape[1]
        elif options.readout == "slots":
            # refitted from the fitted sentences at every load (exact, in float64), not saved
            probes, self.slot_sizes = slot_probes(
                self.unit(vectors - centre), context.fitted.get("meanings", ()), options
            )
            self.register_buffer("slot_probes", probes, persistent=False)
            read = probes.shape[1]
        elif options.readout != "vector":
            means = task_means(
                self.unit(vectors - centre), context.fitted.get("tasks", ()), options
            )
            self.register_buffer("task_means", means, persistent=False)
            read = means.shape[0]
        self.token = nn.Sequential(nn.LayerNorm(read), nn.Linear(read, context.width))
        self.needs = ("instructions",)
        self.provides = {"sentence": context.width}
        self.hears = True

    def forward(self, seen: Seen):
        if self.pool is not None:
            return self.word_tokens(seen)
        device = self.token[1].weight.device
        what = self.features(self.encoder(seen["instructions"], device=device) - self.centre)
        sentence = self.token(what.to(self.token[1].weight.dtype))  # (B, W)
        seen["sentence"] = sentence
        return sentence[:, None], None

    def word_tokens(self, seen: Seen):
        """readout=tokens: one token per prompt token, and their learnt summary as "sentence"."""
        weight = self.token[1].weight
        states, mask = self.encoder.tokens(seen["instructions"], device=weight.device)
        tokens = self.token(states.to(weight.dtype))  # (B, T, W), each layer-normed first
        query = self.query.expand(len(tokens), -1, -1).to(tokens.dtype)
        pooled, _ = self.pool(query, tokens, tokens, key_padding_mask=mask == 0, need_weights=False)
        seen["sentence"] = pooled[:, 0]
        return tokens, mask

    def unit(self, centred: torch.Tensor) -> torch.Tensor:
        return unit_parts(centred, self.encoder.parts)

    def features(self, centred: torch.Tensor) -> torch.Tensor:
        """What the token reads (`readout`): the unit vector at about unit scale per channel
        (projected onto the training sentences' span), its cosine to each task's mean, or those
        cosines as a sharp softmax."""
        unit = self.unit(centred)
        if self.opts.readout == "projected":
            unit = unit @ self.projection
            if self.training and self.opts.noise:
                # isotropic in the span: each of its `span_rank` directions gets noise^2/rank
                inside = torch.randn_like(unit) @ self.projection
                unit = unit + inside * (self.opts.noise / self.span_rank**0.5)
        if self.opts.readout == "tasks":
            return unit @ self.task_means.T
        if self.opts.readout == "nearest_task":
            return ((unit @ self.task_means.T) / self.opts.temperature).softmax(-1)
        if self.opts.readout == "slots":
            likeness = (unit @ self.slot_probes) / self.opts.temperature
            return torch.cat([s.softmax(-1) for s in likeness.split(self.slot_sizes, -1)], -1)
        return unit * unit.shape[-1] ** 0.5

    @classmethod
    def fit(cls, options, episodes: list[dict], context: dict) -> dict:
        """The distinct instructions, sorted, each with the task and the meaning (what is asked,
        as JSON) most of its episodes have."""
        tasks: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        meanings: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for e in episodes:
            tasks[e["instruction"]][e["task"]] += 1
            asked = e.get("asked") or {"task": e["task"]}  # datasets before "asked": the task
            meanings[e["instruction"]][json.dumps(asked, sort_keys=True)] += 1
        reference = sorted(tasks)
        return {
            "reference": reference,
            "tasks": [most(tasks[s]) for s in reference],
            "meanings": [most(meanings[s]) for s in reference],
        }


def most(counts: dict[str, int]) -> str:
    """The key with the highest count, the first in sorted order on a tie."""
    return max(sorted(counts), key=counts.get)


def unit_parts(centred: torch.Tensor, parts: int) -> torch.Tensor:
    """(B, parts x W) centred vectors -> unit length, each part (a layer's or the words') weighing
    the same."""
    if parts > 1:
        centred = nn.functional.normalize(centred.unflatten(-1, (parts, -1)), dim=-1).flatten(1)
    return nn.functional.normalize(centred, dim=-1)


def slot_probes(
    unit: torch.Tensor, meanings, options: SentenceOptions
) -> tuple[torch.Tensor, list[int]]:
    """(parts x W, sum of values): for each slot of what the reference sentences ask (sorted;
    "-" where a sentence's meaning lacks the slot, as a reach names no fixture) that takes at
    least two values, the ridge regression from a unit vector onto that slot's values (sorted)
    as one-hot targets; and each slot's number of values. Where every sentence asks the same,
    one slot of one value: the softmax reads 1 whatever the sentence."""
    if len(meanings) != len(unit):
        raise ValueError(
            f"policy.parts.sentence.readout=slots reads what each training sentence asks: got "
            f"{len(meanings)} meanings for {len(unit)} sentences (vla train fits both)"
        )
    asked = [json.loads(m) for m in meanings]
    targets, sizes = [], []
    for slot in sorted({k for a in asked for k in a}):
        values = [str(a.get(slot, "-")) for a in asked]
        names = sorted(set(values))
        if len(names) < 2:  # the same for every sentence: tells nothing apart
            continue
        targets.append(torch.tensor([[v == n for n in names] for v in values]))
        sizes.append(len(names))
    if not sizes:  # one thing asked (a user's single task): a constant, the token a bias
        targets, sizes = [torch.ones(len(asked), 1, dtype=torch.bool)], [1]
    x = unit.double()
    gram = x @ x.T + options.ridge * torch.eye(len(x), dtype=x.dtype)
    return (x.T @ torch.linalg.solve(gram, torch.cat(targets, 1).double())).float(), sizes


def task_means(unit: torch.Tensor, tasks, options: SentenceOptions) -> torch.Tensor:
    """(K, parts x W): the unit mean vector of each task's reference sentences, tasks sorted
    (each meaning's, with onto=meanings: `tasks` are then the meanings)."""
    readout = f"policy.parts.sentence.readout={options.readout}"
    what = "task"
    if options.readout == "projected" and options.onto == "meanings":
        readout, what = f"{readout} onto=meanings", "meaning"
    if len(tasks) != len(unit):
        raise ValueError(
            f"{readout} compares a sentence with each training {what}'s reference sentences: "
            f"got {len(tasks)} {what}s for {len(unit)} sentences (vla train fits both)"
        )
    names = sorted(set(tasks))
    if len(names) < 2:
        raise ValueError(
            f"{readout} tells {what}s apart, and the training set has only {names}: use "
            "policy.parts.sentence.readout=vector"
        )
    index = torch.tensor([names.index(t) for t in tasks])
    return torch.stack(
        [nn.functional.normalize(unit[index == k].mean(0), dim=-1) for k in range(len(names))]
    )
