"""The client side of `vla serve`: `PolicyClient` sends one observation and gets a chunk back
(what `openpi-client`'s WebsocketClientPolicy does, with the same wire format)."""

from __future__ import annotations

from vla.serving import wire


class ServerError(RuntimeError):
    """The server answered with an error frame (its text says what was wrong)."""


class PolicyClient:
    def __init__(self, url: str, api_key: str | None = None, timeout_s: float = 60.0):
        from websockets.sync.client import connect

        if not url.startswith(("ws://", "wss://")):
            raise ValueError(f"server= is a websocket URL such as ws://127.0.0.1:8000, got {url!r}")
        headers = {"Authorization": f"Api-Key {api_key}"} if api_key else None
        try:
            # held open for many requests: entered as the context manager websockets wants,
            # left in close()
            self.ws = connect(
                url, additional_headers=headers, max_size=None, compression=None,
                open_timeout=timeout_s,
            ).__enter__()  # fmt: skip
        except OSError as err:
            raise ConnectionError(
                f"no policy server at {url} ({err}): start one with `vla serve policy.path=CKPT`"
            ) from None
        self.timeout = timeout_s
        self.metadata = wire.unpack(self.ws.recv(timeout=timeout_s))

    def infer(self, obs: dict) -> dict:
        """{"images", "state", "instruction", "robot"} -> {"actions": (H, D), ...}."""
        self.ws.send(wire.pack(obs))
        reply = self.ws.recv(timeout=self.timeout)
        if isinstance(reply, str):
            raise ServerError(reply)
        return wire.unpack(reply)

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> PolicyClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
