"""Benchmark for image hash banks: index lookups (numpy multi-index hashing vs faiss) and hashing.

One command:

    PYTHONPATH=. python bench/media.py --sizes 1000000,10000000

Each (method, size) runs in its own child process pinned to one CPU core, so the memory figures
(RSS growth while building, peak RSS) belong to that index alone. Hashes are uniformly random
256-bit values; queries are half near-duplicates of banked hashes (1-16 flipped bits, which must
be found) and half random misses. Threshold 31 (PDQ default). Results of every method are checked
against a brute-force scan for a sample of queries, so a fast wrong index would show up as
"exact: NO".
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

THRESHOLD = 31


def rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def peak_rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def make_data(size: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**64, size=(size, 4), dtype=np.uint64)
    half = queries // 2
    targets = rng.integers(0, size, half)
    near = words[targets].copy()
    for row in near:
        for bit in rng.choice(256, size=int(rng.integers(1, 17)), replace=False):
            row[bit // 64] ^= np.uint64(1 << int(bit % 64))
    misses = rng.integers(0, 2**64, size=(queries - half, 4), dtype=np.uint64)
    return words, np.concatenate([near, misses]), targets


def brute(words: np.ndarray, q: np.ndarray) -> set[int]:
    from kidshield.safety.media.index import popcount_distances

    return set(np.flatnonzero(popcount_distances(words, q) <= THRESHOLD).tolist())


class NumpyMih:
    name = "numpy-mih"

    def __init__(self, words: np.ndarray) -> None:
        from kidshield.safety.media.index import HammingIndex

        self.index = HammingIndex(words, background=False)

    def nbytes(self) -> int:
        return self.index.nbytes

    def search(self, q: np.ndarray) -> set[int]:
        return {h.id for h in self.index.search(q, THRESHOLD)}

    def add_one(self, q: np.ndarray, ident: int) -> None:
        self.index.add(q[None, :], [ident])


class FaissIndex:
    def __init__(self, words: np.ndarray, kind: str) -> None:
        import faiss

        faiss.omp_set_num_threads(1)
        self.faiss = faiss
        self.name = f"faiss-{kind}"
        codes = np.ascontiguousarray(words).view(np.uint8).reshape(len(words), 32)
        if kind == "flat":
            self.index = faiss.IndexBinaryFlat(256)
        else:  # 16 tables of 16 bits, probing radius 1: exact for threshold <= 31
            self.index = faiss.IndexBinaryMultiHash(256, 16, 16)
            self.index.nflip = 1
        self.index.add(codes)
        self.codes_bytes = codes.nbytes

    def nbytes(self) -> int:
        return self.codes_bytes  # faiss does not report its hash tables' size

    def search(self, q: np.ndarray) -> set[int]:
        code = np.ascontiguousarray(q).view(np.uint8).reshape(1, 32)
        _lims, _dist, ids = self.index.range_search(code, THRESHOLD + 1)  # radius is exclusive
        return set(ids.tolist())

    def add_one(self, q: np.ndarray, ident: int) -> None:
        self.index.add(np.ascontiguousarray(q).view(np.uint8).reshape(1, 32))


def worker(method: str, size: int, queries: int, seed: int, budget: float) -> dict[str, Any]:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    words, qs, targets = make_data(size, queries, seed)
    base_rss = rss_bytes()
    started = time.perf_counter()
    if method == "numpy-mih":
        index: Any = NumpyMih(words)
    else:
        index = FaissIndex(words, method.removeprefix("faiss-"))
    build_s = time.perf_counter() - started
    index_rss = rss_bytes() - base_rss
    times = []
    found_near = 0
    deadline = time.perf_counter() + budget
    for i, q in enumerate(qs):
        t0 = time.perf_counter_ns()
        hits = index.search(q)
        times.append(time.perf_counter_ns() - t0)
        if i < len(targets) and int(targets[i]) in hits:
            found_near += 1
        if time.perf_counter() > deadline and i >= 20:
            break
    done = len(times)
    exact = True
    for i in [*list(range(0, min(done, len(targets)), max(1, done // 20)))[:10], len(qs) - 1]:
        if i < done and index.search(qs[i]) != brute(words, qs[i]):
            exact = False
    newcomer = np.random.default_rng(seed + 1).integers(0, 2**64, 4, dtype=np.uint64)
    t0 = time.perf_counter_ns()
    index.add_one(newcomer, size)
    add_ms = (time.perf_counter_ns() - t0) / 1e6
    addable = size in index.search(newcomer)
    arr = np.array(times) / 1e6
    near_done = min(done, len(targets))
    return {
        "method": index.name,
        "size": size,
        "queries": done,
        "lookups_per_s": done / (arr.sum() / 1e3),
        "p50_ms": float(np.percentile(arr, 50)),
        "p99_ms": float(np.percentile(arr, 99)),
        "recall_near": found_near / near_done if near_done else 0.0,
        "exact": exact,
        "build_s": build_s,
        "index_bytes": index.nbytes(),
        "rss_delta_bytes": index_rss,
        "data_bytes": words.nbytes,
        "peak_rss_bytes": peak_rss_bytes(),
        "add_one_ms": add_ms,
        "added_found": addable,
    }


def hashing_throughput(count: int) -> dict[str, float]:
    from PIL import Image, ImageDraw

    from kidshield.safety.media.hashing import hash_image

    rng = np.random.default_rng(0)
    blobs = []
    for _ in range(count):
        x = np.linspace(0, 255, 1024)[None, :]
        y = np.linspace(0, 255, 768)[:, None]
        arr = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=2).astype(np.uint8)
        img = Image.fromarray(arr)
        draw = ImageDraw.Draw(img)
        for _ in range(15):
            x0, y0 = int(rng.integers(0, 1024)), int(rng.integers(0, 768))
            draw.ellipse(
                [x0, y0, x0 + int(rng.integers(40, 400)), y0 + int(rng.integers(40, 300))],
                fill=tuple(int(c) for c in rng.integers(0, 256, 3)),
            )
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=85)
        blobs.append(buffer.getvalue())
    out: dict[str, float] = {}
    runs = (
        ("images_per_s", False, None),
        ("images_per_s_dihedral", True, None),
        ("images_per_s_max_side_512", False, 512),
    )
    for label, dihedral, max_side in runs:
        t0 = time.perf_counter()
        for blob in blobs:
            hash_image(blob, dihedral=dihedral, max_side=max_side)
        out[label] = count / (time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--methods", default="numpy-mih,faiss-multihash,faiss-flat")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds of queries per run")
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--hashing-only", action="store_true", help="skip the index runs")
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        method, size = args.worker
        print(json.dumps(worker(method, int(size), args.queries, args.seed, args.budget)))
        return

    try:
        import faiss  # noqa: F401

        have_faiss = True
    except ImportError:
        have_faiss = False
    methods = [m for m in args.methods.split(",") if have_faiss or not m.startswith("faiss")]
    sizes = [int(s) for s in args.sizes.split(",")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    print(f"threshold {THRESHOLD}; queries: half near-duplicates (1-16 bits), half misses")
    if not have_faiss:
        print("faiss-cpu not installed: numpy only (pip install faiss-cpu to compare)")
    header = (
        f"{'method':<16}{'hashes':>11}{'lookups/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'exact':>7}"
        f"{'index MiB':>11}{'RSS+ MiB':>10}{'peak MiB':>10}{'build s':>9}{'add ms':>8}"
    )
    print(header)
    for size in [] if args.hashing_only else sizes:
        for method in methods:
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                method,
                str(size),
                "--queries",
                str(args.queries),
                "--seed",
                str(args.seed),
                "--budget",
                str(args.budget),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if proc.returncode != 0:
                print(f"{method:<16}{size:>11}  failed: {proc.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(proc.stdout)
            mib = 1024 * 1024
            exact = "yes" if r["exact"] and r["recall_near"] == 1.0 and r["added_found"] else "NO"
            print(
                f"{r['method']:<16}{size:>11,}{r['lookups_per_s']:>11,.0f}{r['p50_ms']:>9.3f}"
                f"{r['p99_ms']:>9.3f}{exact:>7}{r['index_bytes'] / mib:>11.0f}"
                f"{r['rss_delta_bytes'] / mib:>10.0f}{r['peak_rss_bytes'] / mib:>10.0f}"
                f"{r['build_s']:>9.1f}{r['add_one_ms']:>8.2f}"
                + ("" if r["queries"] == args.queries else f"  ({r['queries']} queries)")
            )
    h = hashing_throughput(args.images)
    print(
        f"hashing (1024x768 JPEG, PDQ, one thread): {h['images_per_s']:.1f} images/s, "
        f"{h['images_per_s_dihedral']:.1f} images/s with 8 dihedral variants, "
        f"{h['images_per_s_max_side_512']:.1f} images/s with --max-side 512"
    )


if __name__ == "__main__":
    main()
