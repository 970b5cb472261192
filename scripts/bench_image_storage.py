"""PNG in parquet (LeRobot's "image" feature) vs per-episode mp4 (its "video" feature) for one
camera of a LeRobot v3 dataset: size on disk, random-frame decode time, sequential decode
throughput, and the pixel fidelity of the lossy video against the PNG originals.

    python scripts/bench_image_storage.py --dataset outputs/datasets/demo/ur5e --episodes 100

Needs PyAV (`pip install av`; not a dependency of vla: lerobot's venv has it). Video is
encoded as LeRobot's encode_video_frames does (yuv420p, g=2; libsvtav1 crf 30, libx264 crf 23).
"""

import argparse
import glob
import io
import json
import os
import platform
import re
import shutil
import statistics
import sys
import time
from fractions import Fraction

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image


def machine_info():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return os.cpu_count(), len(os.sched_getaffinity(0)), cpu


def decode_png(b):
    return np.asarray(Image.open(io.BytesIO(b)).convert("RGB"))


# ---------------------------------------------------------------- encoding (mirrors lerobot encode_video_frames)
def encode_episode(frames, path, vcodec, fps, g, crf, pix_fmt="yuv420p"):
    """frames: list of HxWx3 uint8. Options as in lerobot.datasets.video_utils.encode_video_frames:
    add_stream(vcodec, fps, options={'g': str(g), 'crf': str(crf)}), pix_fmt, width, height."""
    h, w = frames[0].shape[:2]
    opts = {"g": str(g), "crf": str(crf)}
    with av.open(path, "w") as out:
        st = out.add_stream(vcodec, Fraction(fps).limit_denominator(1001), options=opts)
        st.pix_fmt = pix_fmt
        st.width = w
        st.height = h
        st.codec_context.time_base = 1 / Fraction(fps).limit_denominator(1001)
        pkt_bytes = 0
        for i, arr in enumerate(frames):
            fr = av.VideoFrame.from_ndarray(arr, format="rgb24")
            fr.pts = i
            for p in st.encode(fr):
                pkt_bytes += p.size
                out.mux(p)
        for p in st.encode():
            pkt_bytes += p.size
            out.mux(p)
    return pkt_bytes


# ---------------------------------------------------------------- decoding
def decode_all(path):
    with av.open(path) as c:
        s = c.streams.video[0]
        return [f.to_ndarray(format="rgb24") for f in c.decode(s)]


def seek_decode_one(container, ts, tol=1e-4):
    """As lerobot decode_video_frames_torchvision(pyav): seek to the keyframe at/before ts,
    then decode forward until the frame whose timestamp reaches ts. Returns (frame_rgb, frame_time)."""
    s = container.streams.video[0]
    container.seek(int(ts / s.time_base), stream=s, backward=True, any_frame=False)
    last = None
    for f in container.decode(s):
        last = f
        if f.time >= ts - tol:
            break
    return last.to_ndarray(format="rgb24"), last.time


def random_access_mp4(paths, picks, fps, keep_open=False, seq=None):
    """picks: list of (ep, frame_idx). Returns times (s) and number of wrong frames returned."""
    times, wrong = [], 0
    opened = {}
    for ep, fi in picks:
        ts = fi / fps
        t0 = time.perf_counter()
        if keep_open:
            c = opened.get(ep)
            if c is None:
                c = opened[ep] = av.open(paths[ep])
            arr, t = seek_decode_one(c, ts)
        else:
            with av.open(paths[ep]) as c:
                arr, t = seek_decode_one(c, ts)
        times.append(time.perf_counter() - t0)
        if abs(t - ts) > 0.5 / fps or (seq is not None and not np.array_equal(arr, seq[ep][fi])):
            wrong += 1
    for c in opened.values():
        c.close()
    return times, wrong


def fidelity(ref_eps, dec_eps):
    se, ae, n = 0.0, 0.0, 0
    worst_psnr = float("inf")
    nframe_mismatch = 0
    for ref, dec in zip(ref_eps, dec_eps, strict=True):
        if len(ref) != len(dec):
            nframe_mismatch += 1
        for a, b in zip(ref, dec, strict=False):  # a length mismatch is counted above
            d = a.astype(np.float64) - b.astype(np.float64)
            mse_f = float((d * d).mean())
            se += float((d * d).sum())
            ae += float(np.abs(d).sum())
            n += d.size
            p = 10 * np.log10(255.0**2 / mse_f) if mse_f > 0 else float("inf")
            worst_psnr = min(worst_psnr, p)
    mse = se / n
    psnr = 10 * np.log10(255.0**2 / mse) if mse > 0 else float("inf")
    return ae / n, psnr, worst_psnr, nframe_mismatch


def ms(x):
    return 1000.0 * x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", required=True, help="one LeRobot v3 dataset (a robot's folder)")
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--camera", default="front")
    ap.add_argument("--samples", type=int, default=2000, help="random PNG frame picks")
    ap.add_argument(
        "--mp4-samples",
        type=int,
        default=None,
        help="random mp4 frame picks (default: same as --samples)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--outdir", default=None, help="where mp4/parquet outputs go")
    args = ap.parse_args()
    mp4_samples = args.mp4_samples if args.mp4_samples is not None else args.samples

    col = f"observation.images.{args.camera}"
    outdir = args.outdir or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), f"out_{args.camera}_{args.episodes}"
    )
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)

    # ---------------- environment
    nproc, affinity, cpu = machine_info()
    print("## Environment")
    print(f"- python {sys.version.split()[0]} ({sys.executable})")
    print(f"- PyAV {av.__version__}, FFmpeg {av.ffmpeg_version_info}, libs {av.library_versions}")
    libdir = os.path.join(os.path.dirname(av.__file__), os.pardir, "av.libs")
    if os.path.isdir(libdir):
        libs = sorted(x for x in os.listdir(libdir) if re.search(r"svt|x264|dav1d|aom", x, re.I))
        print(f"- codec libs bundled with av: {libs}")
    print(
        f"- numpy {np.__version__}, pyarrow {pa.__version__}, PIL {Image.__version__ if hasattr(Image, '__version__') else __import__('PIL').__version__}"
    )
    print(
        f"- machine: os.cpu_count()={nproc}, usable cpus={affinity}, CPU model: {cpu}, {platform.platform()}"
    )

    # ---------------- load data
    info = json.load(open(os.path.join(args.dataset, "meta", "info.json")))
    fps = float(info.get("fps", 10))
    by_episode = {}  # episode_index -> its PNG bytes, frames in order
    for f in sorted(glob.glob(os.path.join(args.dataset, "data", "*", "*.parquet"))):
        t = pq.read_table(f, columns=[col, "episode_index"])
        data = t.column(col).combine_chunks().field("bytes").to_pylist()
        for ep, b in zip(t.column("episode_index").to_pylist(), data, strict=True):
            by_episode.setdefault(ep, []).append(b)
    files = sorted(by_episode)[: args.episodes]
    png_eps = [by_episode[ep] for ep in files]
    lens = [len(e) for e in png_eps]
    nframes = sum(lens)
    ref = [[decode_png(b) for b in e] for e in png_eps]
    H, W, C = ref[0][0].shape
    print(
        f"\n## Data\n- {args.dataset}, camera `{col}`, {len(files)} episodes, {nframes} frames "
        f"(per episode min/median/max {min(lens)}/{int(statistics.median(lens))}/{max(lens)}), "
        f"{W}x{H}x{C}, fps {fps:g}"
    )
    raw_bytes = nframes * H * W * C

    rng = np.random.default_rng(args.seed)
    flat = [(e, i) for e, L in enumerate(lens) for i in range(L)]
    picks = [flat[j] for j in rng.integers(0, nframes, size=args.samples)]
    mp4_picks = (
        picks[:mp4_samples]
        if mp4_samples <= len(picks)
        else [flat[j] for j in rng.integers(0, nframes, size=mp4_samples)]
    )

    rows = []

    # ---------------- PNG
    png_bytes = sum(len(b) for e in png_eps for b in e)
    tab = pa.table({col: pa.array([b for e in png_eps for b in e], type=pa.binary())})
    pq_path = os.path.join(outdir, f"png_{args.camera}_zstd.parquet")
    pq.write_table(tab, pq_path, compression="zstd")
    pq_size = os.path.getsize(pq_path)
    # per-episode files (as in this dataset's layout)
    pq_ep_size = 0
    for k, e in enumerate(png_eps):
        p = os.path.join(outdir, f"png_ep{k:06d}.parquet")
        pq.write_table(pa.table({col: pa.array(e, type=pa.binary())}), p, compression="zstd")
        pq_ep_size += os.path.getsize(p)
        os.remove(p)

    for b in png_eps[0][:20]:
        decode_png(b)  # warm-up
    times = []
    for ep, fi in picks:
        b = png_eps[ep][fi]
        t0 = time.perf_counter()
        decode_png(b)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    for e in png_eps:
        for b in e:
            decode_png(b)
    png_seq_fps = nframes / (time.perf_counter() - t0)
    rows.append(
        dict(
            fmt="PNG bytes (sum of PNG lengths)",
            bytes=png_bytes,
            rand=times,
            nrand=len(times),
            seq=png_seq_fps,
            fid="lossless (exact)",
        )
    )
    rows.append(
        dict(
            fmt="PNG column in parquet, zstd, 1 file",
            bytes=pq_size,
            rand=None,
            seq=None,
            fid="lossless (exact)",
        )
    )
    rows.append(
        dict(
            fmt=f"PNG column in parquet, zstd, {len(files)} per-episode files",
            bytes=pq_ep_size,
            rand=None,
            seq=None,
            fid="lossless (exact)",
        )
    )

    # ---------------- mp4
    cfgs = []
    if "libsvtav1" in av.codecs_available:
        cfgs.append(("libsvtav1", 2, 30))
    else:
        print("- libsvtav1 not available in this av build; skipped")
    if "libx264" in av.codecs_available:
        cfgs.append(("libx264", 2, 23))
    enc_notes = []
    for vcodec, g, crf in cfgs:
        d = os.path.join(outdir, f"mp4_{vcodec}")
        os.makedirs(d)
        paths = []
        pkt_total = 0
        t0 = time.perf_counter()
        for k, e in enumerate(ref):
            p = os.path.join(d, f"episode_{k:06d}.mp4")
            pkt_total += encode_episode(e, p, vcodec, fps, g, crf)
            paths.append(p)
        enc_s = time.perf_counter() - t0
        total = sum(os.path.getsize(p) for p in paths)
        with av.open(paths[0]) as c:
            s = c.streams.video[0]
            dec_name = s.codec_context.name
            keyframes = sum(1 for pk in c.demux(s) if pk.size and pk.is_keyframe)
        if vcodec == "libx264":
            m = re.search(rb"x264 - core \d+[^-]*", open(paths[0], "rb").read())
            if m:
                enc_notes.append(f"{vcodec}: {m.group(0).decode()}")
        enc_notes.append(
            f"{vcodec}: encode {enc_s:.1f}s for {nframes} frames; decoder used: {dec_name}; "
            f"episode 0 has {keyframes} keyframe packets for {lens[0]} frames; "
            f"packet payload {pkt_total} B vs file {total} B "
            f"(container overhead {(total - pkt_total) / len(paths):.0f} B/episode)"
        )

        # fidelity + sequential decode
        t0 = time.perf_counter()
        dec = [decode_all(p) for p in paths]
        seq_fps = nframes / (time.perf_counter() - t0)
        mae, psnr, worst, mism = fidelity(ref, dec)
        fid = f"MAE {mae:.2f}, PSNR {psnr:.2f} dB (worst frame {worst:.2f} dB)"
        if mism:
            fid += f", {mism} episodes with frame-count mismatch"

        random_access_mp4(paths, mp4_picks[:20], fps)  # warm-up
        times, wrong = random_access_mp4(paths, mp4_picks, fps, seq=dec)
        rows.append(
            dict(
                fmt=f"mp4 {vcodec} yuv420p g={g} crf={crf}, per episode; open+seek+decode",
                bytes=total,
                rand=times,
                nrand=len(times),
                seq=seq_fps,
                fid=fid,
                wrong=wrong,
            )
        )
        times2, wrong2 = random_access_mp4(paths, mp4_picks, fps, keep_open=True, seq=dec)
        rows.append(
            dict(
                fmt="  same files, container kept open (seek+decode only)",
                bytes=None,
                rand=times2,
                nrand=len(times2),
                seq=None,
                fid="",
                wrong=wrong2,
            )
        )

    # ---------------- table
    print(
        f"\n## Results ({len(files)} episodes, {nframes} frames, {W}x{H} RGB; raw uint8 = {raw_bytes} B, "
        f"{raw_bytes // nframes} B/frame)\n"
    )
    print(
        "| format | bytes total | bytes/frame | random-frame decode ms median / mean (n) | "
        "sequential decode frames/s | fidelity vs PNG |"
    )
    print("|---|---:|---:|---|---:|---|")
    for r in rows:
        b = f"{r['bytes']:,}" if r["bytes"] is not None else ""
        bpf = f"{r['bytes'] / nframes:,.0f}" if r["bytes"] is not None else ""
        if r["rand"]:
            ra = f"{ms(statistics.median(r['rand'])):.3f} / {ms(statistics.mean(r['rand'])):.3f} (n={r['nrand']})"
            if "wrong" in r:
                ra += f", {r['wrong']} wrong frames"
        else:
            ra = "n/a"
        sq = f"{r['seq']:,.0f}" if r["seq"] else ("n/a" if r["bytes"] is not None else "")
        print(f"| {r['fmt']} | {b} | {bpf} | {ra} | {sq} | {r['fid']} |")
    print("\nNotes:")
    print(
        "- PNG random decode = PIL decode of in-memory bytes + convert RGB + np.asarray "
        "(excludes reading the row from parquet)."
    )
    print(
        "- mp4 random decode = av.open(file) + seek(backward, keyframe) + decode forward to the target "
        "timestamp + to_ndarray(rgb24); files are in page cache after encoding. 'wrong frames' = returned "
        "frame's timestamp or pixels differ from the same frame in a full sequential decode."
    )
    print(
        "- sequential = decode every frame of every episode in order (mp4 includes one open per episode)."
    )
    for n in enc_notes:
        print(f"- {n}")
    print(f"- outputs in {outdir}")


if __name__ == "__main__":
    main()
