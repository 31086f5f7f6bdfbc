"""CPython 3.13 side of the benchmark suite: the reference every ratio is taken against.

Run by bench/run.mjs as `PYENV_VERSION=3.13.0 python3 bench/py_impl.py '<json>'`, where the JSON
holds {"workload", "reps", "warmup", "params"}. Prints {"times": [wall ns per rep], "cpu": [CPU ns
per rep], "check": value}, and "ops": [operations per rep] for a workload that stops on a time
budget.
Each workload is written the way a Python user writes it, with the same operation count as
the memmap, fs and C versions; only the operation loop is timed.
"""

import array
import json
import mmap
import os
import re
import sys
import time

# A timed region: t0 = now(); ...; since(t0) returns the wall time and adds the process's CPU
# time to cpu_spent (a second clock, which a busy machine disturbs less: bench/run.mjs --clock).
cpu_spent = 0


def now():
    return time.perf_counter_ns(), time.process_time_ns()


def since(t0):
    global cpu_spent
    cpu_spent += time.process_time_ns() - t0[1]
    return time.perf_counter_ns() - t0[0]


def elapsed(t0):
    return time.perf_counter_ns() - t0[0]


def load_idx(path, count):
    a = array.array("I")
    with open(path, "rb") as f:
        a.frombytes(f.read(count * 4))
    if sys.byteorder != "little":
        a.byteswap()
    return a


def map_read(path, size):
    fd = os.open(path, os.O_RDONLY)
    try:
        return mmap.mmap(fd, size, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)


def timed_map(fn):
    """A workload on a read-only map of params' file: fn(m, p) -> (ns, check)."""

    def setup(p):
        m = map_read(p["file"], p["size"])
        return (lambda: fn(m, p)), m.close

    return setup


def _search(backward):
    @timed_map
    def run(m, p):
        needle = p["needle"].encode("latin-1")
        passes = p.get("passes", 1)
        search = m.rfind if backward else m.find
        r = -1
        t0 = now()
        for _ in range(passes):
            r = search(needle, 0)
        return since(t0), r

    return run


find8 = find1 = find8c = _search(False)
rfind8 = rfind8c = _search(True)


@timed_map
def readline(m, p):
    passes = p.get("passes", 1)
    n = 0
    t0 = now()
    for _ in range(passes):
        m.seek(0)
        while True:
            line = m.readline()
            if not line:
                break
            n += 1
    return since(t0), n // passes


readline4m = readlineOnce = readline


def _with_idx(body):
    def setup(p):
        m = map_read(p["file"], p["size"])
        idx = load_idx(p["idx"], p["count"])
        return (lambda: body(m, idx, p)), m.close

    return setup


@_with_idx
def seekread(m, idx, p):
    s = 0
    t0 = now()
    for pos in idx:
        m.seek(pos)
        s += m.read(64)[0]
    return since(t0), s


@_with_idx
def slice(m, idx, p):  # noqa: A001 - the workload's name
    s = 0
    t0 = now()
    for pos in idx:
        s += m[pos : pos + 64][0]
    return since(t0), s


seekread4m = seekread
slice4m = slice


@_with_idx
def get(m, idx, p):
    s = 0
    t0 = now()
    for i in idx:
        s += m[i]
    return since(t0), s


@timed_map
def readbyte(m, p):
    m.seek(0)
    n = p["size"]
    s = 0
    t0 = now()
    for _ in range(n):
        s += m.read_byte()
    return since(t0), s


def writebyte(p):
    fd = os.open(p["file"], os.O_RDWR)
    m = mmap.mmap(fd, p["size"])
    os.close(fd)

    def rep():
        m.seek(0)
        n = p["size"]
        t0 = now()
        for i in range(n):
            m.write_byte(i & 255)
        return since(t0), n

    return rep, m.close


def write(p):
    size = p["size"]
    chunk = bytes((ord("a") + i % 26) for i in range(p["chunk"]))
    count = size // len(chunk)

    def rep():
        fd = os.open(p["file"], os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        os.ftruncate(fd, size)
        m = mmap.mmap(fd, size, access=mmap.ACCESS_WRITE)
        os.close(fd)
        t0 = now()
        for _ in range(count):
            m.write(chunk)
        m.flush()
        t = since(t0)
        m.close()
        return t, size

    return rep, None


def mapfile(p):
    fd = os.open(p["file"], os.O_RDWR)
    count = p["count"]

    def rep():
        t0 = now()
        for _ in range(count):
            mmap.mmap(fd, 0).close()
        return since(t0), count

    return rep, lambda: os.close(fd)


def mapanon(p):
    count, size = p["count"], p["size"]

    def rep():
        t0 = now()
        for _ in range(count):
            mmap.mmap(-1, size).close()
        return since(t0), count

    return rep, None


def _resize(file):
    def setup(p):
        target, seqs, touch = p["target"], p["seqs"], p.get("touch", 0)

        def rep():
            total = 0
            size = 0
            for _ in range(seqs):
                size = 4096
                if file:
                    fd = os.open(p["file"], os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.ftruncate(fd, size)
                    m = mmap.mmap(fd, size)
                    os.close(fd)
                else:
                    m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE)
                t0 = now()
                while size < target:
                    size *= 2
                    m.resize(size)
                    if touch:
                        m[size - 1] = 1  # the next access, as a user makes one
                total += since(t0)
                m.close()
            return total, size

        return rep, None

    return setup


resizefile = _resize(True)
resizeanon = _resize(False)


def move(p):
    size, count = p["size"], p["count"]
    m = mmap.mmap(-1, 2 * size, flags=mmap.MAP_PRIVATE)
    block = b"\x01" * (1 << 20)
    for off in range(0, size, len(block)):
        m[off : off + len(block)] = block
    block = b"\x02" * (1 << 20)
    for off in range(size, 2 * size, len(block)):
        m[off : off + len(block)] = block

    def rep():
        t0 = now()
        for k in range(count):
            if k % 2 == 0:
                m.move(size, 0, size)
            else:
                m.move(0, size, size)
        return since(t0), m[0] + m[size]

    return rep, m.close


@timed_map
def reEarly(m, p):
    rx = re.compile(p["pattern"].encode("latin-1"))
    budget = p["budgetMs"] * 1e6
    r = None
    k = 0
    t0 = now()
    while k < p["count"]:
        r = rx.search(m)
        k += 1
        if elapsed(t0) > budget:
            break
    return since(t0), -1 if r is None else r.start(), {"ops": k}


@timed_map
def reLiteral(m, p):
    rx = re.compile(p["pattern"].encode("latin-1"))
    t0 = now()
    r = rx.search(m)
    return since(t0), -1 if r is None else r.start()


reClass = reLiteral


@timed_map
def reMatchAll(m, p):
    rx = re.compile(p["pattern"].encode("latin-1"))
    t0 = now()
    n = sum(1 for _ in rx.finditer(m))
    return since(t0), n


@timed_map
def reLoop(m, p):
    """search(m, pos) from the end of each match, as memmap's loop does (no budget needed)."""
    rx = re.compile(p["pattern"].encode("latin-1"))
    n = 0
    pos = 0
    t0 = now()
    while True:
        r = rx.search(m, pos)
        if r is None:
            break
        n += 1
        pos = r.end()
    return since(t0), n


reLoopBig = reLoop


def _cold(advise):
    def setup(p):
        idx = load_idx(p["idx"], p["count"])
        size = p["size"]

        def rep():
            fd = os.open(p["file"], os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            m = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
            os.close(fd)
            if advise:
                m.madvise(mmap.MADV_RANDOM)
            s = 0
            t0 = now()
            for pos in idx:
                s += m[pos : pos + 4096][0]
            t = since(t0)
            m.close()
            return t, s

        return rep, None

    return setup


cold = _cold(False)
coldrandom = _cold(True)


def main():
    cfg = json.loads(sys.argv[1])
    setup = globals()[cfg["workload"]]
    rep, teardown = setup(cfg["params"])
    for _ in range(cfg.get("warmup", 1)):
        rep()
    global cpu_spent
    out = {"times": [], "cpu": [], "check": None}
    for _ in range(cfg["reps"]):
        cpu_spent = 0
        t, check, *extra = rep()
        out["times"].append(t)
        out["cpu"].append(cpu_spent)
        out["check"] = check
        if extra and "ops" in extra[0]:
            out.setdefault("ops", []).append(extra[0]["ops"])
    if teardown is not None:
        teardown()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
