"""Messages on the wire: msgpack, with numpy arrays as typed bytes, as openpi's websocket
protocol writes them, so `openpi-client` (PyPI) and our own client speak to `vla serve` alike.

An array travels as the map {"__ndarray__": True, "data": raw bytes, "dtype": its dtype string
("<f4", "|u1"), "shape": [..]}, a numpy scalar as {"__npgeneric__": True, "data": value,
"dtype": ..}. Decoding builds arrays only from plain numeric dtypes: an object dtype (which
would unpickle), a byte count that does not match the shape, or a message over the size limit
is refused with a `WireError` that says what was wrong. Nothing here ever unpickles.
"""

from __future__ import annotations

import math

import msgpack
import numpy as np

ALLOWED_KINDS = set("biuf")  # bool, signed, unsigned, float: never object, void or strings


class WireError(ValueError):
    """A message that is not a valid request; the text is sent back to the client."""


def _encode(value):
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in ALLOWED_KINDS:
            raise TypeError(f"cannot send an array of dtype {value.dtype}")
        array = np.ascontiguousarray(value)
        return {b"__ndarray__": True, b"data": array.tobytes(), b"dtype": array.dtype.str,
                b"shape": list(array.shape)}  # fmt: skip
    if isinstance(value, np.generic):
        return {b"__npgeneric__": True, b"data": value.item(), b"dtype": value.dtype.str}
    raise TypeError(f"cannot send a {type(value).__name__}")


def _key(obj: dict, name: str):
    return obj.get(name.encode(), obj.get(name))


def _checked_dtype(text) -> np.dtype:
    try:
        dtype = np.dtype(text.decode() if isinstance(text, bytes) else str(text))
    except TypeError:
        raise WireError(f"unknown array dtype {text!r}") from None
    if dtype.kind not in ALLOWED_KINDS:
        raise WireError(f"arrays of dtype {dtype} are not accepted (numbers and booleans only)")
    return dtype


def _decode(obj: dict):
    if _key(obj, "__ndarray__") is True:
        dtype = _checked_dtype(_key(obj, "dtype"))
        shape = _key(obj, "shape")
        data = _key(obj, "data")
        if not isinstance(data, bytes) or not isinstance(shape, list | tuple):
            raise WireError("an array is {__ndarray__, data: bytes, dtype, shape: [..]}")
        if any(not isinstance(n, int) or n < 0 for n in shape):
            raise WireError(f"bad array shape {shape!r}")
        if math.prod(shape) * dtype.itemsize != len(data):
            raise WireError(
                f"an array of shape {tuple(shape)} and dtype {dtype} is "
                f"{math.prod(shape) * dtype.itemsize} bytes, got {len(data)}"
            )
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if _key(obj, "__npgeneric__") is True:
        return _checked_dtype(_key(obj, "dtype")).type(_key(obj, "data"))
    return obj


def pack(message) -> bytes:
    return msgpack.packb(message, default=_encode, use_bin_type=True)


def unpack(data: bytes, max_bytes: int | None = None):
    """bytes -> the message (str keys; arrays rebuilt), or WireError."""
    if not isinstance(data, bytes | bytearray):
        raise WireError("requests are binary msgpack frames, not text")
    if max_bytes is not None and len(data) > max_bytes:
        raise WireError(f"message of {len(data)} bytes is over the limit of {max_bytes}")
    try:
        return msgpack.unpackb(
            data, object_hook=_decode, raw=False, strict_map_key=False, use_list=True
        )
    except WireError:
        raise
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as err:
        raise WireError(f"not a msgpack message: {err}") from None
