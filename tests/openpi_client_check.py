"""Run by tests/test_serving.py with the Python of .venv-openpi (openpi-client from PyPI, numpy
< 2): openpi's own WebsocketClientPolicy drives `vla serve` unchanged. Prints one JSON line."""

import json
import sys

import numpy as np
from openpi_client.websocket_client_policy import WebsocketClientPolicy

url, robot, size, state_dim = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
api_key = sys.argv[5] if len(sys.argv) > 5 else None
client = WebsocketClientPolicy(url, api_key=api_key)
meta = client.get_server_metadata()
rng = np.random.default_rng(0)
obs = {
    "images": {c: rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for c in meta["cameras"]},
    "state": np.linspace(-0.1, 0.1, state_dim).astype(np.float32),
    "instruction": "touch the red cube",
    "robot": robot,
}
reply = client.infer(obs)
try:
    client.infer({**obs, "robot": "r2d2"})
    error = None
except RuntimeError as err:  # openpi's client turns the server's text frame into this
    error = str(err)
print(json.dumps({
    "robots": sorted(meta["robots"]),
    "chunk_length": meta["chunk_length"],
    "actions": np.asarray(reply["actions"]).tolist(),
    "timing": sorted(reply["server_timing"]),
    "error": error,
}))  # fmt: skip
