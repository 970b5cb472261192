"""The instruction's pooled vector: attention pooling starts as the mean and can learn to
single out the one word that matters (the colour), which the mean dilutes."""

import pytest
import torch

from vla.policies.text_pooling import TextPool


def test_untrained_attention_pool_is_the_mean_of_the_real_tokens():
    torch.manual_seed(0)
    words = torch.randn(3, 5, 8)
    mask = torch.tensor([[0, 1, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 1, 1]])
    mean = TextPool(8, "mean")(words, mask)
    attention = TextPool(8, "attention")(words, mask)
    assert torch.allclose(mean, attention, atol=1e-6)
    assert torch.allclose(mean[2], words[2, 3:].mean(0), atol=1e-6)  # padding left out


def test_attention_pool_learns_to_read_one_word():
    """Prompts as ours: a fixed template, filler words from a small vocabulary and, in a
    random slot, one of three colour words that a linear readout must tell apart. Trained,
    the pool puts most of its weight on the colour word (the mean gives it 1/12)."""
    torch.manual_seed(0)
    width, n, length = 16, 256, 12
    template, fillers, colours = (
        torch.randn(length, width),
        torch.randn(6, width),
        torch.randn(3, width),
    )
    label = torch.randint(0, 3, (n,))
    words = template.repeat(n, 1, 1)
    words[:, 6:] = fillers[torch.randint(0, 6, (n, length - 6))]
    slot = torch.randint(6, length, (n,))
    words[torch.arange(n), slot] = colours[label]
    mask = torch.ones(n, length)
    pool, readout = TextPool(width, "attention"), torch.nn.Linear(width, 3)
    opt = torch.optim.Adam([*pool.parameters(), *readout.parameters()], lr=1e-2)
    for _ in range(300):
        loss = torch.nn.functional.cross_entropy(readout(pool(words, mask)), label)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float((readout(pool(words, mask)).argmax(-1) == label).float().mean()) > 0.95
    with torch.no_grad():
        scores = pool.keys(words) @ pool.query / width**0.5
        on_colour = scores.softmax(-1)[torch.arange(n), slot]
    assert float(on_colour.mean()) > 0.5


def test_unknown_pooling_is_refused():
    with pytest.raises(ValueError, match="mean"):
        TextPool(8, "max")
