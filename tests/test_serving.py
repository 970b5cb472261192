"""`vla serve` (issue 33): openpi's wire protocol over a real loopback socket, driven by our
client and by `openpi-client` from PyPI; bad input answered without stopping the server; chunks
run synchronously or while the next is computed."""

import json
import os
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

import msgpack
import numpy as np
import pytest

from tests.conftest import REPO_ROOT
from vla.serving import wire
from vla.serving.chunking import ChunkExecutor
from vla.serving.client import PolicyClient, ServerError
from vla.serving.server import ServeOptions, ServerThread

DEMO = REPO_ROOT / "checkpoints" / "demo"
OPENPI_PYTHON = Path(os.environ.get("VLA_OPENPI_PYTHON", REPO_ROOT / ".venv-openpi/bin/python"))


@pytest.fixture(scope="module")
def demo_policy():
    from vla.policies.vla_policy import VLAPolicy

    policy = VLAPolicy.from_pretrained(DEMO)
    policy.eval()
    return policy


def observation(policy, robot="ur5e", seed=0, size=None):
    rng = np.random.default_rng(seed)
    size = size or policy.config.image_size
    return {
        "images": {c: rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                   for c in policy.config.cameras},
        "state": np.linspace(-0.1, 0.1, policy.schemas[robot].state_dim).astype(np.float32),
        "instruction": "touch the red cube",
        "robot": robot,
    }  # fmt: skip


def test_the_wire_keeps_arrays_exact_and_refuses_what_it_cannot_trust():
    message = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.int64(3), "s": "x"}
    back = wire.unpack(wire.pack(message))
    np.testing.assert_array_equal(back["a"], message["a"])
    assert back["a"].dtype == np.float32 and back["n"] == 3 and back["s"] == "x"
    forged = {b"__ndarray__": True, b"data": b"\x00" * 7, b"dtype": "<f4", b"shape": [2]}
    for bad, says in (
        ({**forged, b"dtype": "|O"}, "not accepted"),  # an object array would unpickle
        (forged, "bytes, got 7"),
        ({**forged, b"dtype": "<f4", b"shape": [-1]}, "bad array shape"),
    ):
        with pytest.raises(wire.WireError, match=says):
            wire.unpack(msgpack.packb(bad, use_bin_type=True))
    with pytest.raises(wire.WireError, match="not a msgpack"):
        wire.unpack(b"\xc1garbage")
    with pytest.raises(wire.WireError, match="over the limit"):
        wire.unpack(wire.pack({"x": np.zeros(1000)}), max_bytes=100)
    with pytest.raises(TypeError):
        wire.pack({"x": np.array([object()])})


def test_served_actions_are_the_in_process_ones_and_healthz_answers(demo_policy):
    obs = observation(demo_policy)
    local = demo_policy.infer(obs)["actions"]
    with ServerThread(demo_policy) as server, PolicyClient(server.url) as client:
        meta = client.metadata
        assert sorted(meta["robots"]) == demo_policy.robots and meta["chunk_length"] == 8
        assert meta["image_size"] == demo_policy.config.image_size
        reply = client.infer(obs)
        np.testing.assert_allclose(reply["actions"], local, atol=1e-5)
        assert {"infer_ms", "queue_ms", "batch_size", "total_ms"} <= set(reply["server_timing"])
        # an image of another size is resized as in-process inference resizes it
        big = observation(demo_policy, size=2 * demo_policy.config.image_size)
        np.testing.assert_allclose(
            client.infer(big)["actions"], demo_policy.infer(big)["actions"], atol=1e-5
        )
        with urllib.request.urlopen(server.url.replace("ws://", "http://") + "/healthz") as health:
            assert health.status == 200 and health.read() == b"OK\n"
        assert server.server.options.host == "127.0.0.1"  # loopback unless told otherwise


def test_bad_requests_get_their_error_and_the_server_serves_on(demo_policy):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    good = observation(demo_policy)
    options = ServeOptions(port=0, max_message_mb=0.5)
    with ServerThread(demo_policy, options) as server:
        bad = {
            "not msgpack": b"\xc1\x00\x01",
            "a text frame": "hello",
            "a list": wire.pack([1, 2, 3]),
            "missing keys": wire.pack({"state": good["state"], "robot": "ur5e"}),
            "unknown robot": wire.pack({**good, "robot": "r2d2"}),
            "wrong image shape": wire.pack(
                {**good, "images": {c: np.zeros((8, 8), np.uint8) for c in good["images"]}}
            ),
            "wrong state size": wire.pack({**good, "state": np.zeros(3, np.float32)}),
            "float images": wire.pack(
                {**good, "images": {c: im.astype(np.float32) for c, im in good["images"].items()}}
            ),
        }
        said = {}
        for name, message in bad.items():
            with connect(server.url, max_size=None) as ws:
                ws.recv()  # metadata
                ws.send(message)
                said[name] = ws.recv(timeout=30)
                with pytest.raises(ConnectionClosed) as closed:
                    ws.recv(timeout=30)
            assert closed.value.rcvd.code == 1011, name
        for name, text in said.items():
            assert isinstance(text, str) and text.startswith("vla serve could not answer"), name
        assert "Did you mean" in said["unknown robot"] or "r2d2" in said["unknown robot"]
        assert "lacks ['images', 'instruction']" in said["missing keys"]
        assert "uint8" in said["float images"] and "shape" in said["wrong state size"]
        # too large: websockets closes it (1009) before anything is decoded
        with connect(server.url, max_size=None) as ws:
            ws.recv()
            ws.send(b"\x00" * (1 << 20))
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=30)
        assert closed.value.rcvd.code == 1009
        with connect(server.url, max_size=None) as ws:  # a client that vanishes mid-request
            ws.recv()
            ws.send(wire.pack(good))
        with PolicyClient(server.url) as client:  # everyone else is still served
            assert client.infer(good)["actions"].shape == (8, 5)
            with pytest.raises(ServerError, match="r2d2"):
                client.infer({**good, "robot": "r2d2"})
        assert server.server.errors == len(bad) + 1


def test_a_token_is_required_when_set(demo_policy):
    good = observation(demo_policy)
    with ServerThread(demo_policy, ServeOptions(port=0, token="s3cret")) as server:
        with pytest.raises(Exception, match="401"):
            PolicyClient(server.url)
        with pytest.raises(Exception, match="401"):
            PolicyClient(server.url, api_key="wrong")
        with PolicyClient(server.url, api_key="s3cret") as client:
            assert client.infer(good)["actions"].shape == (8, 5)
        url = server.url.replace("ws://", "http://") + "/healthz"
        with urllib.request.urlopen(url) as health:
            assert health.status == 200  # health needs no token


def test_requests_that_arrive_together_share_a_forward_pass(demo_policy):
    options = ServeOptions(port=0, max_batch=8, batch_window_ms=50.0)
    with ServerThread(demo_policy, options) as server:
        clients = [PolicyClient(server.url) for _ in range(4)]
        replies = [None] * 4

        def ask(i):
            replies[i] = clients[i].infer(observation(demo_policy, seed=i))

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for i, reply in enumerate(replies):  # batched, yet each its own answer
            expected = demo_policy.infer(observation(demo_policy, seed=i))["actions"]
            np.testing.assert_allclose(reply["actions"], expected, atol=1e-5)
        assert server.server.batcher.stats.largest > 1
        for c in clients:
            c.close()


@pytest.mark.skipif(
    not OPENPI_PYTHON.exists(),
    reason=f"no openpi-client venv at {OPENPI_PYTHON}: `make openpi-client` makes it",
)
def test_openpi_client_from_pypi_drives_vla_serve(demo_policy):
    obs = observation(demo_policy)
    with ServerThread(demo_policy, ServeOptions(port=0, token="k")) as server:
        out = subprocess.run(
            [str(OPENPI_PYTHON), str(REPO_ROOT / "tests/openpi_client_check.py"), server.url,
             "ur5e", str(demo_policy.config.image_size), str(len(obs["state"])), "k"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["robots"] == demo_policy.robots and got["chunk_length"] == 8
    np.testing.assert_allclose(got["actions"], demo_policy.infer(obs)["actions"], atol=1e-5)
    assert "infer_ms" in got["timing"] and "r2d2" in got["error"]


def chunks_from(step_of):
    """A predictor whose chunk says which step each action was meant for, from `step_of`."""

    def predict(obs):
        return np.array([[step_of(obs) + i] for i in range(8)], np.float32)

    return predict


def test_sync_execution_waits_and_async_runs_on_while_it_thinks():
    waits = {"sync": [], "async": []}
    runs = {}
    for mode in ("sync", "async"):
        run = ChunkExecutor(chunks_from(lambda o: o["t"]), 4, 8, mode, latency_s=0.4, fps=10,
                            on_wait=waits[mode].append)  # fmt: skip
        runs[mode] = [float(run({"t": run.step})[0]) for _ in range(24)]
        runs[mode + "_asked"] = run.requests
    # sync: every chunk of 4 waits 0.4 s of held commands; async (latency = a whole
    # n_action_steps) waits only for its first answer, then each lands as the queue runs out
    assert waits["sync"] == [0.4] * 6 and waits["async"] == [0.4]
    assert runs["async"][8:] == [float(s) for s in range(12, 28)]  # on time, never stale
    zero = ChunkExecutor(chunks_from(lambda o: o["t"]), 4, 8, "async", latency_s=0.0, fps=10)
    assert [float(zero({"t": zero.step})[0]) for _ in range(12)] == [float(s) for s in range(12)]


def test_executor_hands_a_state_history_policy_the_states_it_saw_newest_first():
    seen = []

    def predict(obs):
        seen.append(obs["past_states"][:, 0].tolist())
        return np.zeros((8, 1), np.float32)

    run = ChunkExecutor(predict, 2, 8, state_history=3)
    for t in range(5):
        run({"state": [float(t), 0.0]})
    # asked at steps 0, 2 and 4; the first state stands in for steps not run yet, as in training
    assert seen == [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [3.0, 2.0, 1.0]]
    run.reset()
    run({"state": [9.0, 0.0]})
    assert seen[-1] == [9.0, 9.0, 9.0]  # a new episode forgets the last one's states
    plain = ChunkExecutor(lambda obs: np.zeros((8, 1)) + ("past_states" in obs), 2, 8)
    assert float(plain({"state": [0.0]})[0]) == 0.0  # no history asked: none handed over


def test_async_blends_where_chunks_overlap_instead_of_jumping():
    """The next chunk says 1.0 where the last said 0.0: the queued actions ease into it."""
    level = {"v": 0.0}

    def predict(obs):
        chunk = np.full((8, 1), level["v"], np.float32)
        level["v"] = 1.0
        return chunk

    run = ChunkExecutor(predict, 4, 8, "async", latency_s=0.2, fps=10)
    actions = [float(run({})[0]) for _ in range(12)]
    assert actions[:6] == [0.0] * 6 and actions[-1] == 1.0
    steps = np.diff(actions)
    assert steps.max() < 0.5 and (steps >= 0).all(), actions  # no jump, never back
    with pytest.raises(ValueError, match="simulated latency"):
        ChunkExecutor(predict, 4, 8, "async", measured=True)


def test_temporal_ensembling_averages_every_chunk_that_covers_the_step():
    # each chunk says which step each of its actions is for: any weighting agrees on it
    run = ChunkExecutor(chunks_from(lambda o: o["t"]), 4, 8, ensemble=0.01)
    assert [float(run({"t": run.step})[0]) for _ in range(12)] == [float(s) for s in range(12)]
    assert run.requests == 12  # it replans at every step
    asked = {"n": 0}

    def numbered(obs):  # the k-th chunk says k throughout
        asked["n"] += 1
        return np.full((8, 1), asked["n"] - 1, np.float32)

    plain = ChunkExecutor(numbered, 4, 8, ensemble=0.0)
    actions = [float(plain({})[0]) for _ in range(11)]
    # step 3 averages chunks 0..3; step 10 the 8 chunks asked at steps 3..10 (older ones ended)
    assert actions[3] == pytest.approx(1.5) and actions[10] == pytest.approx(6.5)
    asked["n"] = 0
    oldest = ChunkExecutor(numbered, 4, 8, ensemble=50.0)  # the oldest prediction wins
    assert [float(oldest({})[0]) for _ in range(11)][10] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="execution=sync"):
        ChunkExecutor(numbered, 4, 8, "async", ensemble=0.01)
    with pytest.raises(ValueError, match="weight decay >= 0"):
        ChunkExecutor(numbered, 4, 8, ensemble=-0.5)


# Six demo-policy episodes and a Ray policy server (minutes on 2 busy cores): CI's slow step.
# test_served_actions_are_the_in_process_ones checks the served actions fast.
@pytest.mark.slow
def test_eval_through_the_server_repeats_the_in_process_episodes(
    demo_policy, ray_cluster, tmp_path
):
    """`vla eval server=ws://...`: the same seeds give the same episodes as the policy loaded
    in-process (batching cannot change a lone request's answer), and async execution runs."""
    from vla.evaluation.evaluate import EvalConfig, evaluate

    common = dict(robots=["ur5e"], tasks=["reach"], episodes=2, workers=1, videos=0,
                  language_checks=False, progress=False)  # fmt: skip
    local = evaluate(EvalConfig(policy_path=str(DEMO), output=str(tmp_path / "local"), **common))
    with ServerThread(demo_policy) as server:
        served = evaluate(EvalConfig(policy_path="expert", server=server.url,
                                     output=str(tmp_path / "served"), **common))  # fmt: skip
        late = evaluate(EvalConfig(policy_path="expert", server=server.url, execution="async",
                                   latency_ms=200.0, output=str(tmp_path / "async"), **common))  # fmt: skip

    def episodes(output):
        lines = (tmp_path / output / "episodes.jsonl").read_text().splitlines()
        return sorted((r["seed"], r["success"], r["length"]) for r in map(json.loads, lines))

    assert episodes("served") == episodes("local")
    assert served["cells"][0]["successes"] == local["cells"][0]["successes"]
    assert served["policy"] == server.url and late["execution"] == "async"
    assert all(
        r["policy_wait_s"] > 0
        for r in map(json.loads, (tmp_path / "async" / "episodes.jsonl").read_text().splitlines())
    )


def test_vla_serve_refuses_a_missing_checkpoint(capsys):
    from vla.cli import main

    assert main(["serve", "policy.path=/no/such/ckpt"]) == 2
    assert "serve one with policy.path=CKPT" in capsys.readouterr().err


# The console script end to end (interpreter start and a policy load, ~10 s): CI's slow step.
@pytest.mark.slow
def test_vla_serve_answers_then_stops_cleanly_on_sigterm(vla_exe, demo_policy):
    import re
    import signal

    proc = subprocess.Popen(
        [vla_exe, "serve", f"policy.path={DEMO}", "port=0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        url = None
        for line in proc.stdout:
            found = re.search(r"serving on (ws://\S+)", line)
            if found:
                url = found.group(1)
                break
        assert url and url.startswith("ws://127.0.0.1:")
        with PolicyClient(url) as client:
            assert client.infer(observation(demo_policy))["actions"].shape == (8, 5)
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=60)[0]
        assert proc.returncode == 0 and "stopped" in rest
    finally:
        proc.kill()
