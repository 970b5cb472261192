"""The target localizer on its own: it learns to find the square a 'sentence' names and map it to
a per-robot table position, its crop geometry matches the loader's augmentation, and samples
without labels are left out."""

import math

import pytest
import torch

from vla.datasets.loader import augment_images
from vla.policies.target_localizer import TargetLocalizer, crop, uncrop

COLOURS = torch.tensor([[230, 30, 30], [30, 200, 40], [30, 40, 220]], dtype=torch.uint8)


def scenes(n: int, size: int, generator: torch.Generator):
    """Grey images with three 3x3 coloured squares; the 'sentence' names one colour as the
    target and the next one as the goal. -> images, named, (n, 2, 2) target and goal uv."""
    images = torch.full((n, 3, size, size), 120, dtype=torch.uint8)
    uv = torch.zeros(n, 2, 2)
    named = torch.randint(0, 3, (n,), generator=generator)
    for i in range(n):
        cells = torch.randperm((size - 4) ** 2, generator=generator)[:3]
        for colour, cell in enumerate(cells.tolist()):
            y, x = divmod(cell, size - 4)
            images[i, :, y + 1 : y + 4, x + 1 : x + 4] = COLOURS[colour][:, None, None]
            centre = torch.tensor([(x + 2.5) / size * 2 - 1, (y + 2.5) / size * 2 - 1])
            if colour == named[i]:  # the square's centre, in [-1, 1]
                uv[i, 0] = centre
            if colour == (named[i] + 1) % 3:
                uv[i, 1] = centre
    return images, named, uv


def table_of(uv: torch.Tensor, robots: list[str]) -> torch.Tensor:
    """Each robot's camera sees the table its own way: another affine map per robot."""
    maps = {
        "a": (torch.tensor([[0.2, 0.0], [0.05, 0.15]]), torch.tensor([0.4, 0.0])),
        "b": (torch.tensor([[-0.1, 0.1], [0.2, 0.0]]), torch.tensor([0.3, 0.1])),
    }
    return torch.stack([uv[i] @ maps[r][0] + maps[r][1] for i, r in enumerate(robots)])


@pytest.mark.parametrize("things", [("target",), ("target", "goal")])
def test_the_localizer_learns_which_square_the_sentence_names_and_where_it_is(things):
    """One map per thing; with a goal, half the samples have no goal label (as reach and lift)."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    text = torch.randn(3, 16)  # one 'sentence' vector per colour
    net = TargetLocalizer(["a", "b"], text_width=16, image_size=32, channels=16, things=things)
    k = len(things)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    for _ in range(250):
        images, named, uv = scenes(32, 32, g)
        uv = uv[:, :k].clone()
        robots = ["a", "b"] * 16
        xy = torch.stack([table_of(uv[:, j], robots) for j in range(k)], 1)
        if k == 2:
            uv[::2, 1] = xy[::2, 1] = math.nan
        estimate, logits = net(images, text[named], robots)
        loss, logs = net.loss(logits, estimate, robots, uv, xy)
        assert set(logs) == {f"{t}_cm" for t in things}
        opt.zero_grad()
        loss.backward()
        opt.step()
    images, named, uv = scenes(64, 32, torch.Generator().manual_seed(99))
    robots = ["a", "b"] * 32
    with torch.no_grad():
        estimate, logits = net(images, text[named], robots)
        found = net.soft_argmax(logits)
        # the same image, asked for another colour, points elsewhere
        other, _ = net(images, text[(named + 1) % 3], robots)
    for j in range(k):
        pixel_error = (found[:, j] - uv[:, j]).norm(dim=-1).mean()  # in half-widths
        table = table_of(uv[:, j], robots)
        table_cm = (estimate[:, j] - table).norm(dim=-1).mean() * 100
        wrong_cm = (other[:, j] - table).norm(dim=-1).mean() * 100
        assert pixel_error < 0.1, (things[j], pixel_error)  # within ~1.6 px of 32
        assert table_cm < 1.5, (things[j], table_cm)
        assert wrong_cm > 3 * table_cm, (things[j], wrong_cm, table_cm)


def test_crop_follows_the_loaders_augmentation():
    """A marked pixel's label, moved by `crop` with the loader's crop box, lands on the mark in
    the augmented image; `uncrop` takes it back."""
    size = 64
    images = torch.zeros(1, 3, size, size, dtype=torch.uint8)
    images[0, :, 40:44, 20:24] = 255
    uv = torch.tensor([[(22 / size) * 2 - 1, (42 / size) * 2 - 1]])
    for seed in range(5):
        out, box = augment_images(images, jitter=0.0, generator=torch.Generator().manual_seed(seed))
        moved = crop(uv, box[None])
        x = int((moved[0, 0] + 1) / 2 * size)
        y = int((moved[0, 1] + 1) / 2 * size)
        assert out[0, 0, y, x] > 128, (seed, box, x, y)
        torch.testing.assert_close(uncrop(moved, box[None]), uv)


def test_samples_without_labels_are_left_out():
    net = TargetLocalizer(["a"], text_width=8, image_size=32, channels=16)
    images = torch.zeros(3, 3, 32, 32, dtype=torch.uint8)
    estimate, logits = net(images, torch.zeros(3, 8), ["a"] * 3)
    uv = torch.tensor([[[0.1, 0.0]], [[math.nan, math.nan]], [[0.0, 0.1]]])
    xy = torch.tensor([[[0.4, 0.0]], [[0.4, 0.1]], [[0.3, 0.1]]])
    loss, logs = net.loss(logits, estimate, ["a"] * 3, uv, xy)
    assert torch.isfinite(loss) and math.isfinite(logs["target_cm"])
    # the unlabelled row must not poison the gradients of the labelled ones
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    net.zero_grad()
    estimate, logits = net(images, torch.zeros(3, 8), ["a"] * 3)
    loss, logs = net.loss(logits, estimate, ["a"] * 3, torch.full((3, 1, 2), math.nan), xy)
    assert float(loss.detach()) == 0.0 and logs == {}
