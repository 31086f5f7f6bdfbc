# CPython side of the multi-map differential fuzzer (see multi.mjs).
#
# Reads programs as JSON lines on stdin: one file, two or three maps of it ("slots"), and
# operations on a slot or on the file itself (through the descriptor the maps were made from).
# Writes one JSON line per program: {"id", "ops": [{"r": result, "s": state}], "file": {...}}.
# A result is {"v": value}, {"e": class, "m": message[, "errno"]} or {"skip": reason}.
# A state is {"f": file size, "m": [per slot: null (no map), {"c": true}, or
#   {"c": false, "p", "l", "h": md5 of the bytes of the map still backed by the file, "n": how many}]}.
#
# An operation that would touch a page of a map past the end of its (shrunk) file kills
# CPython with SIGBUS. Such a call is first run in a forked child: if SIGBUS kills the child,
# the result is {"skip": "sigbus"} (whatever the child wrote to the shared file before the
# fault stays, as it would in CPython), and the slot's map is closed: memmap must have thrown
# ERR_MMAP_TRUNCATED there (docs/safety.md, "Faults contained"). If the child survives, the call
# is run again for real (it only reads, or only wrote bytes it writes again).
import hashlib
import mmap
import os
import re
import signal
import sys

# Shared with the single-map driver (this directory is on sys.path: the script's own); no
# __pycache__ left in the test tree.
sys.dont_write_bytecode = True
from driver import err, out_value, pattern, file_result, main

PAGESIZE = mmap.PAGESIZE
PY_NAME = {"readByte": "read_byte", "writeByte": "write_byte"}
WRITERS = ("write", "setSlice", "set", "writeByte", "move")
READERS = ("get", "slice", "read", "readByte", "readline", "find", "rfind", "search")


def slice_indices(n, a, b, c):
    return range(*slice(a, b, c).indices(n))


class Prog:
    def __init__(self, spec, tmpdir):
        self.spec = spec
        self.path = os.path.join(tmpdir, "pym-%d.bin" % spec["id"])
        self.slots = [None] * len(spec["maps"])
        self.lost = {}  # slot -> where its map's lost bytes begin (after a SIGBUS)

    # ------------------------------------------------------------------ values

    def fsize(self):
        return os.fstat(self.fd).st_size

    def open_map(self, k):
        m = self.slots[k]
        return m if m is not None and not m.closed else None

    def safe_end(self, k):
        """The bytes [0, safe_end) of slot k's map lie on pages the file still backs."""
        m = self.open_map(k)
        if m is None:
            return 0
        backed = -(-self.fsize() // PAGESIZE) * PAGESIZE
        off = self.spec["maps"][k].get("offset", 0)
        return max(0, min(len(m), backed - off))

    def val(self, t, k, ctx=None):
        if t is None or isinstance(t, (int, float)):
            return t
        tag = t["$"]
        m = self.open_map(k) if k is not None else None
        if tag == "len":
            return (len(m) if m is not None else 0) + t["d"]
        if tag == "pos":
            return (m.tell() if m is not None else 0) + t["d"]
        if tag == "fsize":
            return self.fsize() + t["d"]
        if tag == "ext":
            o = self.open_map(t["k"])
            if o is None:
                return self.fsize() + t["d"]
            return self.spec["maps"][t["k"]].get("offset", 0) + len(o) + t["d"]
        if tag == "bytes":
            return bytes.fromhex(t["hex"])
        if tag == "re":
            return t["src"].encode("latin-1")
        if tag == "needle":
            # bytes of the file under the map (read with pread: no page of a map is touched)
            off = self.spec["maps"][k].get("offset", 0) if k is not None else 0
            n = len(m) if m is not None else 0
            a = max(0, min(t["a"], n))
            b = max(a, min(t["b"], n))
            return os.pread(self.fd, b - a, off + a) + bytes.fromhex(t["x"])
        if tag == "sized":
            if t["rel"] == "rest":
                n = (len(m) - m.tell()) if m is not None else 0
            else:
                a, b, c = ctx
                n = len(slice_indices(len(m), a, b, c)) if m is not None and c != 0 else 1
            return pattern(n + t["d"], t["seed"])
        raise ValueError("unknown tag " + tag)

    # ------------------------------------------------------------------ state

    def state(self):
        ms = []
        for k, m in enumerate(self.slots):
            if m is None:
                ms.append(None)
            elif m.closed:
                ms.append({"c": True})
            else:
                n = min(self.safe_end(k), self.lost.get(k, len(m)))
                ms.append({"c": False, "p": m.tell(), "l": len(m), "n": n, "h": hashlib.md5(m[:n]).hexdigest()})
        return {"f": self.fsize(), "m": ms}

    # ------------------------------------------------------------------ touching

    def touched(self, k, op, a):
        """The bytes [lo, hi) of the map that the call may touch (None: none), for arguments CPython accepts."""
        m = self.slots[k]
        n = len(m)
        pos = m.tell()
        try:
            if op in ("get", "set"):
                i = a[0] + n if a[0] < 0 else a[0]
                return (i, i + 1) if 0 <= i < n else None
            if op in ("slice", "setSlice"):
                r = slice_indices(n, a[0], a[1], a[2])
                return (min(r), max(r) + 1) if len(r) else None
            if op in ("readByte", "writeByte"):
                return (pos, pos + 1) if pos < n else None
            if op == "read":
                cnt = n - pos if (len(a) == 0 or a[0] is None or a[0] < 0) else min(a[0], n - pos)
                return (pos, pos + cnt) if cnt > 0 else None
            if op == "readline":
                return (pos, n) if pos < n else None
            if op == "write":
                return (pos, pos + len(a[0])) if len(a[0]) else None
            if op in ("find", "rfind"):
                s = a[1] if len(a) > 1 and a[1] is not None else pos
                e = a[2] if len(a) > 2 and a[2] is not None else n
                s = max(0, s + n if s < 0 else s)
                e = min(n, max(0, e + n if e < 0 else e))
                return (s, e) if s < e else None
            if op == "search":
                s = a[1] if len(a) > 1 else 0
                e = a[2] if len(a) > 2 else n
                e = max(0, min(e, n))
                # memmap's text is [0, end) whatever the start (a lookbehind sees before it)
                return (0, e) if e > 0 else None
            if op == "move":
                d, s, c = a
                if c <= 0:
                    return None
                return (min(d, s), max(d, s) + c)
        except Exception:
            return None
        return None

    def call(self, m, op, a):
        if op == "get":
            return m[a[0]]
        if op == "set":
            m[a[0]] = a[1]
            return None
        if op == "slice":
            return m[a[0]:a[1]:a[2]]
        if op == "setSlice":
            m[a[0]:a[1]:a[2]] = a[3]
            return None
        if op == "search":
            if m.closed:  # re.search says TypeError for a closed mmap's buffer; the method would say:
                raise ValueError("mmap closed or invalid")
            p = re.compile(a[0])
            mt = p.search(m, *a[1:])
            return None if mt is None else [mt.start(), mt.end(), mt.group(0).hex()]
        if op == "length":
            return len(m)
        return getattr(m, PY_NAME.get(op, op))(*a)

    def in_child(self, m, op, a):
        """Runs the call in a forked child: "sigbus" when SIGBUS killed it, "raised" or "ok"."""
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                self.call(m, op, a)
            except BaseException:
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGBUS:
            return "sigbus"
        return "raised" if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 1 else "ok"

    def relearn(self, k=None):
        """A map that lost bytes counts them again from the file's end whenever it next looks after
        any fault (lazily: at its next call or the next state read, whichever touches it first).
        Rather than model that, other maps that had lost bytes are closed on both sides."""
        for j in list(self.lost):
            o = self.open_map(j)
            if j == k:
                if o is not None:
                    off = self.spec["maps"][j].get("offset", 0)
                    self.lost[j] = min(self.lost[j], max(0, min(len(o), self.fsize() - off)))
            elif o is not None:
                o.close()
                self.closed_lost.append(j)

    @staticmethod
    def shared_writable(sp):
        acc = sp.get("access", 0)
        if acc == mmap.ACCESS_WRITE:
            return True
        return acc == 0 and not (sp.get("flags", mmap.MAP_SHARED) & mmap.MAP_PRIVATE) and sp.get("prot", 3) & mmap.PROT_WRITE

    def probe(self, k, m, op, a):
        """in_child(), undoing what the child wrote through a shared map (it reached the file)."""
        restore = op in WRITERS and self.shared_writable(self.spec["maps"][k])
        safe = self.safe_end(k)
        before = m[:safe] if restore else None
        how = self.in_child(m, op, a)
        if restore and how != "raised":
            m[:safe] = before
        return how

    @staticmethod
    def resize_refused(sp, a):
        """CPython refuses this resize before touching the file (so memmap's argument and mode checks come first too)."""
        acc = sp.get("access", 0)
        if acc in (mmap.ACCESS_READ, mmap.ACCESS_COPY) or (acc == 0 and sp.get("prot", 3) == mmap.PROT_READ):
            return True
        return not sp.get("trackfd", True) or not a or a[0] < 0

    def file_op(self, op, raw):
        a = [self.val(x, None) for x in raw]
        if op == "pwrite":
            return os.pwrite(self.fd, a[1], max(0, a[0]))  # Node's writeSync takes a negative position as "the current one"
        if op == "fwrite":
            return os.write(self.fd, a[0])
        if op == "truncate":
            os.ftruncate(self.fd, max(0, a[0]))  # Node's ftruncate takes a negative length as 0
            return None
        if op == "fread":
            return os.pread(self.fd, self.fsize() + 1, 0).hex()
        if op == "fsize":
            return self.fsize()
        raise ValueError(op)

    def map_op(self, k, op, raw):
        if op == "open":
            self.lost.pop(k, None)
            m = self.slots[k]
            if m is not None:
                m.close()
            self.slots[k] = None
            kw = dict(self.spec["maps"][k])
            length = kw.pop("len")
            via = kw.pop("fd", "shared")
            if via == "shared":
                self.slots[k] = mmap.mmap(self.fd, length, **kw)
            else:
                own = os.open(self.path, os.O_RDONLY if via == "ro" else os.O_RDWR)
                try:
                    self.slots[k] = mmap.mmap(own, length, **kw)
                finally:
                    os.close(own)
            return None
        m = self.slots[k]
        sp = self.spec["maps"][k]
        if m is None:
            return {"skip": "nomap"}
        if op == "setSlice":
            a0, a1, a2 = (self.val(x, k) for x in (raw[0], raw[1], raw[3]))
            a = [a0, a1, a2, self.val(raw[2], k, (a0, a1, a2))]
        else:
            a = [self.val(x, k) for x in raw]
        if op == "madvise" and not m.closed and a and a[0] == getattr(mmap, "MADV_REMOVE", None) and (
                sp.get("access") == mmap.ACCESS_READ or (sp.get("access", 0) == 0 and sp.get("prot", 3) == mmap.PROT_READ)) \
                and 0 <= (a[1] if len(a) > 1 else 0) < len(m) and not (len(a) > 2 and a[2] == 0):
            return {"skip": "madvise-remove-readonly"}  # docs/python.md: memmap's read-only file maps are private
        if op == "resize" and not m.closed and a and a[0] == 0:
            return {"skip": "resize0"}  # docs/python.md: memmap refuses resize(0) before anything happens
        if not m.closed and k in self.lost:
            # docs/safety.md: a method touching a lost range throws, and resize() of a map that
            # lost bytes throws, before anything happens (CPython would die, or resize)
            t = self.touched(k, op, a)
            if op == "resize" and not self.resize_refused(sp, a):
                return {"skip": "lost"}
            if op == "madvise" and a:
                # memmap refuses advice over a range it knows lost with ERR_MMAP_TRUNCATED before
                # the kernel sees it (docs/safety.md); CPython's shared map takes it: not run on
                # either side when the range reaches the lost bytes (test/faults.test.mjs
                # "madvise over a range the file lost …" checks memmap's side)
                n = len(m)
                s0 = a[1] if len(a) > 1 else 0
                ln = a[2] if len(a) > 2 and a[2] is not None else n - s0
                if ln > 0 and min(n, s0 + ln) > self.lost[k]:
                    return {"skip": "lost-madvise"}
            if op == "flush":
                # memmap's flush reports bytes it knows lost in its range (ERR_MMAP_TRUNCATED, after
                # the msync: test/faults.test.mjs "flush() and flushAsync() over bytes the file
                # lost ..."); CPython's msync does not fault. Its errors (range, EINVAL) come first.
                v = self.call(m, op, a)
                # CPython's access as it resolves it: prot without PROT_WRITE is ACCESS_READ (no msync)
                acc = sp.get("access", 0)
                if acc == 0 and not (sp.get("prot", 3) & mmap.PROT_WRITE):
                    acc = mmap.ACCESS_READ
                if acc not in (mmap.ACCESS_READ, mmap.ACCESS_COPY):
                    off = a[0] if a else 0
                    size = a[1] if len(a) > 1 else len(m) - off
                    if size > 0 and off + size > self.lost[k]:
                        return {"skip": "lost"}
                return v
            if t is not None and t[1] > self.lost[k]:
                how = self.probe(k, m, op, a)
                if how == "sigbus" or (how == "ok" and op not in READERS):
                    return {"skip": "lost"}  # memmap refuses it before touching: it learns nothing new
                if how == "ok":
                    # a read CPython finished short of the lost bytes (a newline or a match before
                    # them), or past them where the file grew back: memmap may give the same
                    # answer or throw ERR_MMAP_TRUNCATED; the map is closed after the call
                    self.lost_ok = self.close_after = True
                # "raised": CPython refuses the arguments before touching anything; so must memmap
        if not m.closed:
            t = self.touched(k, op, a)
            safe = self.safe_end(k)
            if t is not None and t[1] > safe:
                if self.probe(k, m, op, a) == "sigbus":
                    # What the child wrote before the fault depends on the C library's memcpy
                    # (glibc's stores the head of a large copy last), and probe() set it back;
                    # now write what memmap documents (docs/safety.md, Limits: the fault handler
                    # puts zeros in place of the lost tail and the access runs on, so a write or
                    # setSlice writes every byte of its range the file still backs; move() and
                    # one-byte writes throw before writing).
                    self.partial_write(m, op, a, safe)
                    if sp.get("trackfd", True):
                        # memmap learned the loss from the file's end (fstat in its fault
                        # handler): bytes from there on are gone for good, the rest keeps working.
                        self.lost[k] = len(m)
                    else:
                        m.close()  # without a descriptor memmap counts from the page it touched first
                    self.relearn(k)
                    return {"skip": "sigbus"}
                # The child survived (a search that stopped short of the lost pages, a stepped
                # slice that skips them): CPython's answer stands, but memmap may have touched more
                # and thrown ERR_MMAP_TRUNCATED; either way the map is closed after the call.
                self.close_after = True
        return self.call(m, op, a)

    @staticmethod
    def partial_write(m, op, a, safe):
        if op == "write":
            pos = m.tell()
            if pos < safe:
                m[pos:safe] = a[0][:safe - pos]
        elif op == "setSlice":
            for i, j in enumerate(slice_indices(len(m), a[0], a[1], a[2])):
                if j < safe:
                    m[j] = a[3][i]

    # ------------------------------------------------------------------ run

    def run(self):
        out = {"id": self.spec["id"], "ops": []}
        with open(self.path, "wb") as f:
            f.write(bytes.fromhex(self.spec["file"]))
        self.fd = os.open(self.path, os.O_RDWR)
        for o in self.spec["ops"]:
            self.close_after = False
            self.lost_ok = False
            self.closed_lost = []
            try:
                if o["t"] == "f":
                    v = self.file_op(o["op"], o["args"])
                else:
                    v = self.map_op(o["t"], o["op"], o["args"])
                r = v if isinstance(v, dict) and "skip" in v else {"v": out_value(v)}
            except Exception as e:
                r = err(e)
            if self.closed_lost:
                r["closeLost"] = self.closed_lost
            if self.lost_ok:
                r["lostOk"] = True
            if self.close_after:
                r["danger"] = True
                self.slots[o["t"]].close()
            out["ops"].append({"r": r, "s": self.state()})
        for m in self.slots:
            if m is not None:
                m.close()
        os.close(self.fd)
        out["file"] = file_result(self.path)
        return out


if __name__ == "__main__":
    main(Prog)
