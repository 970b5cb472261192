"""Checkpoints written before the conditioning parts owned their options (format 1): a flat
PolicyConfig with ~20 part flags, fitted state among them, and tensors named by the old
attributes. `split_fitted` turns such a config into today's shape and its fitted state;
`tensor_name` renames a tensor. Shipped checkpoints load through this, unchanged on disk."""

from __future__ import annotations

# old flat option -> (part, option); the value moves as it is unless VALUES maps it (anchor_xy,
# whether the anchors part is there at all, is read apart)
FLAT_OPTIONS = {
    "word_tokens": ("words", "tokens"),
    "text_pooling": ("words", "pooling"),
    "text_noise_words": ("words", "noise_words"),
    "sentence_layer": ("sentence", "layer"),
    "sentence_span": ("sentence", "span"),
    "sentence_readout": ("sentence", "readout"),
    "sentence_temperature": ("sentence", "temperature"),
    "image_encoder": ("images", "encoder"),
    "patch_size": ("images", "patch_size"),
    "keypoint_stride": ("images", "keypoint_stride"),
    "film_from": ("images", "film_from"),
    "target_probe_weight": ("localizer", "weight"),
    "target_token": ("localizer", "token"),
    "goal_token": ("localizer", "goal"),
    "table_map": ("localizer", "table_map"),
    "anchor_frame": ("anchors", "frame"),
}
FLAT_FITTED = {
    "sentence_reference": ("sentence", "reference"),
    "sentence_tasks": ("sentence", "tasks"),
    "table_planes": ("localizer", "planes"),
}
VALUES = {("images", "film_from"): {"words": "text"}}
# old attribute prefix -> today's, for tensor names
TENSOR_PREFIXES = {
    "text_pool.": "parts.words.pool.",
    "sentence_token.": "parts.sentence.token.",
    "images.": "parts.images.encoder.",
    "state_tokens.": "parts.state.tokens.",
    "target_localizer.": "parts.localizer.net.",
    "target_token.": "parts.localizer.target_token.",
    "goal_token.": "parts.localizer.goal_token.",
}


def is_flat(values: dict) -> bool:
    return any(k in values for k in (*FLAT_OPTIONS, *FLAT_FITTED))


def split_fitted(values: dict) -> tuple[dict, dict]:
    """A saved policy config, flat or not -> (today's config values, {part: fitted state})."""
    if not is_flat(values):
        return values, {}
    values, parts, fitted = dict(values), {}, {}
    anchored = bool(values.pop("anchor_xy", False))
    for old, (name, option) in FLAT_OPTIONS.items():
        if old in values:
            value = values.pop(old)
            parts.setdefault(name, {})[option] = VALUES.get((name, option), {}).get(value, value)
    for old, (name, key) in FLAT_FITTED.items():
        value = values.pop(old, None)
        if value:
            fitted.setdefault(name, {})[key] = value
    if parts.get("sentence", {}).get("layer") is None:
        parts["sentence"] = None  # the old span/readout meant nothing without a layer
        fitted.pop("sentence", None)
    localizer = parts.get("localizer", {})
    if localizer.get("weight", 0) <= 0 and localizer.get("token", "none") == "none":
        parts["localizer"] = None
    parts["anchors"] = parts.get("anchors", {}) if anchored else None
    values["parts"] = parts
    return values, fitted


def tensor_name(name: str) -> str:
    for old, new in TENSOR_PREFIXES.items():
        if name.startswith(old):
            return new + name[len(old) :]
    return name
