"""`vla serve`: a trained policy behind a websocket, speaking openpi's protocol.

On connect the server sends its metadata (robots and their schemas, cameras, image size, chunk
length); then each binary msgpack message is one observation ({"images": {camera: uint8
(H, W, 3)}, "state", "instruction", "robot"}) and each answer {"actions": (H, D) float32,
"robot", "server_timing"}. `GET /healthz` answers 200 without a websocket. A request that
cannot be served (not msgpack, a missing key, an unknown robot, a wrong image shape, too
large) is answered with a text frame saying why, then the connection is closed with 1011, as
openpi does; the server goes on serving everyone else. Requests that arrive together are one
forward pass (vla/serving/batcher.py). It binds 127.0.0.1 unless told otherwise, can require
`Authorization: Api-Key TOKEN`, never unpickles, and stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import http
import logging
import signal
import threading
import time
from dataclasses import dataclass

from vla.serving import wire
from vla.serving.batcher import Batcher

log = logging.getLogger("vla.serve")
INTERNAL_ERROR = 1011  # the close code openpi's server uses after its error frame


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"  # loopback only; 0.0.0.0 to accept other machines
    port: int = 8000  # 0: any free port
    token: str | None = None  # when set, clients send `Authorization: Api-Key <token>`
    max_batch: int = 8  # requests answered by one forward pass, at most
    batch_window_ms: float = 2.0  # how long a request waits for others to join its batch
    max_message_mb: float = 16.0  # larger messages close the connection (1009)


def metadata(policy) -> dict:
    """What a client needs before its first request."""
    c = policy.config
    return {
        "server": "vla",
        "robots": {r: s.to_dict() for r, s in policy.schemas.items()},
        "cameras": list(c.cameras),
        "image_size": c.image_size,
        "chunk_length": c.horizon,
        "n_action_steps": c.n_action_steps,
        "temporal_ensemble": c.temporal_ensemble,
        # > 0: every observation also carries past_states (k, state_dim), newest first
        "state_history": policy.state_history,
        "observation": "images {camera: uint8 (H, W, 3)}, state, instruction, robot"
        + (", past_states" if policy.state_history else ""),
    }


class PolicyServer:
    def __init__(self, policy, options: ServeOptions):
        self.policy, self.options = policy, options
        self.batcher = Batcher(policy, options.max_batch, options.batch_window_ms)
        self.meta = wire.pack(metadata(policy))
        self.max_bytes = int(options.max_message_mb * 2**20)
        self.port: int | None = None
        self.errors = 0

    def _check_request(self, connection, request):
        """/healthz without a websocket; the token, when one is required."""
        if request.path == "/healthz":
            return connection.respond(http.HTTPStatus.OK, "OK\n")
        if self.options.token is not None:
            given = request.headers.get("Authorization", "")
            if given != f"Api-Key {self.options.token}":
                return connection.respond(
                    http.HTTPStatus.UNAUTHORIZED, "send the header Authorization: Api-Key <token>\n"
                )
        return None

    def observation(self, message):
        """A request -> a checked Observation, or ValueError saying what is wrong with it."""
        from vla.policies.processor import Observation

        if not isinstance(message, dict):
            raise wire.WireError(
                f"a request is a map (an observation), got {type(message).__name__}"
            )
        missing = [k for k in ("images", "state", "instruction", "robot") if k not in message]
        if missing:
            raise wire.WireError(
                f"the observation lacks {missing}; send images, state, instruction, robot"
            )
        return self.policy.pre.check(Observation.of(message))

    async def handle(self, websocket) -> None:
        await websocket.send(self.meta)
        self.batcher.peers += 1
        try:
            await self._serve_connection(websocket)
        finally:
            self.batcher.peers -= 1

    async def _serve_connection(self, websocket) -> None:
        from websockets.exceptions import ConnectionClosed

        while True:
            try:
                message = await websocket.recv()
            except ConnectionClosed:
                return
            start = time.perf_counter()
            try:
                observation = self.observation(wire.unpack(message, self.max_bytes))
                result, timing = await self.batcher.infer(observation)
            except (ValueError, KeyError, TypeError) as err:
                self.errors += 1
                text = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
                try:
                    await websocket.send(f"vla serve could not answer this request: {text}")
                    await websocket.close(INTERNAL_ERROR, "bad request, see the previous frame")
                except ConnectionClosed:
                    pass
                return
            timing["total_ms"] = 1000 * (time.perf_counter() - start)
            reply = {"actions": result["actions"].astype("float32"), "robot": observation.robot,
                     "server_timing": timing}  # fmt: skip
            try:
                await websocket.send(wire.pack(reply))
            except ConnectionClosed:  # the client left mid-request: nothing to do
                return

    async def serve(self, ready=None, stop: asyncio.Future | None = None) -> None:
        from websockets.asyncio.server import serve

        self.batcher.start()
        stop = stop or asyncio.get_running_loop().create_future()
        async with serve(
            self.handle,
            self.options.host,
            self.options.port,
            process_request=self._check_request,
            max_size=self.max_bytes,
            compression=None,
            close_timeout=2,  # a stop waits this long for a peer that does not close
        ) as server:
            self.port = server.sockets[0].getsockname()[1]
            if ready is not None:
                ready(self)
            await stop
        await self.batcher.stop()

    def run_forever(self) -> None:
        """Serve until SIGTERM or SIGINT; the connections open then are closed cleanly."""

        async def main():
            loop = asyncio.get_running_loop()
            stop = loop.create_future()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))

            def ready(server):
                print(
                    f"serving on ws://{self.options.host}:{server.port}  (GET /healthz)", flush=True
                )

            await self.serve(ready, stop)

        asyncio.run(main())


class ServerThread:
    """A server on its own event loop in a background thread: for tests, benchmarks and
    evaluations that serve and drive a policy from one process. `url` once started."""

    def __init__(self, policy, options: ServeOptions | None = None):
        self.server = PolicyServer(policy, options or ServeOptions(port=0))
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop = None
        self._thread = threading.Thread(target=self._main, daemon=True, name="vla-serve")

    def _main(self):
        asyncio.set_event_loop(self._loop)
        self._stop = self._loop.create_future()
        self._loop.run_until_complete(self.server.serve(lambda _: self._ready.set(), self._stop))

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("the policy server did not start within 60 s")
        return self

    @property
    def url(self) -> str:
        return f"ws://{self.server.options.host}:{self.server.port}"

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(lambda: self._stop.done() or self._stop.set_result(None))
        self._thread.join(30)
