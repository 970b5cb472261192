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


def test_noise_words_join_the_prompt_only_while_training(demos):
    """policy.parts.words.noise_words=N: while training, 0..N random vocabulary embeddings are
    appended to each prompt's words as real tokens (so pooling learns to ignore words no
    demonstration used); acting sees the prompt alone; a negative N is refused."""
    from tests.test_policy import make_policy
    from vla.policies.words_part import WordsOptions

    pol = make_policy(demos, "chunk", parts={"words": {"noise_words": 4, "pooling": "attention"}})
    part = pol.parts["words"]
    ids, mask = pol.pre.text(["lift the red cube", "touch the blue cube"], device="cpu")
    words = pol.run.embed(ids)
    table = pol.lm.get_input_embeddings().weight
    pol.eval()
    same_words, same_mask = part.with_noise_words(words, mask)
    assert same_words is words and same_mask is mask
    pol.train()
    torch.manual_seed(0)
    seen = set()
    for _ in range(40):
        noisy, noisy_mask = part.with_noise_words(words, mask)
        k = noisy.shape[1] - words.shape[1]
        seen.add(k)
        assert noisy_mask.shape == noisy.shape[:2] and noisy_mask[:, words.shape[1] :].all()
        torch.testing.assert_close(noisy[:, : words.shape[1]], words)
        for extra in noisy[:, words.shape[1] :].reshape(-1, words.shape[-1]):
            assert bool((table == extra).all(-1).any())  # a real word of the vocabulary
    assert seen == {0, 1, 2, 3, 4}
    default = make_policy(demos, "chunk").parts["words"]
    assert default.with_noise_words(words, mask)[0] is words  # default 0
    with pytest.raises(ValueError, match="noise_words"):
        WordsOptions(noise_words=-1)
