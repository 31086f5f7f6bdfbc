# CPython side of the differential fuzzer (see engine.mjs).
#
# Reads programs as JSON lines on stdin, runs each one through CPython's mmap and writes one
# JSON line per program on stdout:
#   {"id", "ctor": result, "ops": [{"r": result, "s": state}], "file": {"size", "md5"}}
# A result is {"v": value} (bytes as {"hex": ...}), {"e": class, "m": message[, "errno"]},
# or {"skip": reason} for a call deliberately not made (see GUARDS below).
# A state is {"c": closed, "p": pos, "l": len, "h": md5 of the content, "f": file size}.
#
# Argument values arrive tagged (engine.mjs, `Tagged values`); the JavaScript planner has
# already translated memmap's conventions into CPython 3.13 calls, so this side stays literal.
#
# multi_driver.py imports err(), out_value(), pattern(), file_result() and main() from here:
# importing this module runs nothing.
import hashlib
import json
import mmap
import os
import sys
import errno as errno_mod

PAGESIZE = mmap.PAGESIZE


def err(e):
    d = {"e": type(e).__name__, "m": str(e)}
    if isinstance(e, OSError) and e.errno is not None:
        d["e"] = "OSError"
        d["errno"] = errno_mod.errorcode.get(e.errno, str(e.errno))
    return d


def out_value(v):
    if isinstance(v, (bytes, bytearray)):
        return {"hex": bytes(v).hex()}
    return v


def slice_count(m, a, b, c):
    """Python's own slice length, or 1 when the bounds are not usable."""
    try:
        for x in (a, b, c):
            if x is not None and type(x) is not int:
                return 1
        return len(range(*slice(a, b, c).indices(len(m))))
    except Exception:
        return 1


def pattern(n, seed):
    return bytes(((seed + 7 * i) * 13 + (i >> 3)) & 255 for i in range(max(0, n)))


def file_result(path):
    """The file's size and MD5 (compared with memmap's run); the file is removed."""
    with open(path, "rb") as f:
        data = f.read()
    os.unlink(path)
    return {"size": len(data), "md5": hashlib.md5(data).hexdigest()}


class Prog:
    def __init__(self, spec, tmpdir):
        self.spec = spec
        self.tmpdir = tmpdir
        self.m = None
        self.fd = None
        self.path = None

    # ------------------------------------------------------------------ values

    def length(self):
        try:
            return len(self.m)
        except Exception:
            return 0

    def pos(self):
        try:
            return self.m.tell()
        except Exception:
            return 0

    def content(self, a, b):
        try:
            return self.m[a:b]
        except Exception:
            return b""

    def as_kind(self, data, kind):
        if kind == "u8":
            return bytearray(data)
        if kind == "ab":
            return memoryview(data)
        return bytes(data)

    def val(self, t, ctx=None):
        if t is None or isinstance(t, bool):
            return t
        if isinstance(t, (int, float)):
            return t
        if isinstance(t, list):
            return [self.val(x) for x in t]
        tag = t["$"]
        if tag == "big":
            return int(t["v"])
        if tag == "num":
            v = t["v"]
            return 0 if v == "-0" else float(v.replace("Infinity", "inf"))
        if tag == "str":
            return t["v"]
        if tag == "pybytes":  # a JavaScript string, UTF-8 encoded (normalisation "strings-as-bytes")
            return bytes.fromhex(t["hex"])
        if tag == "arr":
            return [1, 2]
        if tag == "obj":
            return {}
        if tag == "bool":
            return bool(t["v"])
        if tag == "bigint":
            return int(t["v"])
        if tag == "len":
            n = self.length()
            return (-n if t.get("neg") else n) + t["d"]
        if tag == "pos":
            return self.pos() + t["d"]
        if tag == "bytes":
            return self.as_kind(bytes.fromhex(t["hex"]), t.get("as"))
        if tag == "needle":
            data = self.content(t["a"], t["b"]) + bytes.fromhex(t["x"])
            return self.as_kind(data, t.get("as"))
        if tag == "sized":
            if t["rel"] == "rest":
                n = self.length() - self.pos()
            else:
                a, b, c = ctx
                n = slice_count(self.m, a, b, c)
            return self.as_kind(pattern(n + t["d"], t["seed"]), t.get("as"))
        if tag == "tell":  # memmap's find/rfind default start, given explicitly (see engine.mjs)
            return self.pos()
        if tag == "size315":
            # flush's size as memmap (CPython 3.15) reads it: omitted or -1 means "to the end",
            # given to 3.13 explicitly as len(m) - offset (normalisation "flush-to-end").
            v = t["v"]
            if not (isinstance(v, dict) and v.get("$") == "undef"):
                v = self.val(v)
                if not (type(v) is int and v == -1):
                    return v
            self.flush_to_end = True
            off = self.val(t["off"])
            if type(off) is not int:
                return None
            return self.length() - off
        raise ValueError("unknown tag " + tag)

    # ------------------------------------------------------------------ state

    def state(self):
        m = self.m
        s = {"c": m.closed}
        if not m.closed:
            s["p"] = m.tell()
            s["l"] = len(m)
            s["h"] = hashlib.md5(m[:]).hexdigest()
        if self.fd is not None:
            s["f"] = os.fstat(self.fd).st_size
        return s

    # ------------------------------------------------------------------ guards

    def guard(self, op, args):
        """Calls CPython 3.13.0 must not make: the reason, or None (see engine.mjs NORMALISATIONS)."""
        sp = self.spec["map"]
        m = self.m
        if op == "madvise" and not m.closed and args and args[0] == getattr(mmap, "MADV_REMOVE", None) \
                and sp["kind"] == "file" and self.read_only(sp) and self.madvise_valid(m, args) \
                and not (len(args) > 2 and args[2] == 0):
            # "madvise-remove-readonly": through its shared read-only mapping CPython punches a
            # hole in the file; memmap's read-only file maps are private mappings. A length of 0
            # is compared: the kernel does nothing for either (found by seed 20261206).
            return "madvise-remove-readonly"
        if op != "resize" or m.closed or len(args) != 1:
            return None
        n = args[0]
        if type(n) is not int or not sp.get("trackfd", True):
            return None
        if sp.get("access", 0) in (mmap.ACCESS_READ, mmap.ACCESS_COPY):
            return None
        prot = sp.get("prot", mmap.PROT_READ | mmap.PROT_WRITE)
        if sp.get("access", 0) == 0 and not (prot & mmap.PROT_WRITE):
            return None  # derived ACCESS_READ
        if n == 0:
            # "resize-zero": CPython truncates the file to `offset` and then fails in mremap,
            # leaving pages past the end of the file (SIGBUS on the next access).
            return "resize0"
        anon_shared = sp["kind"] == "anon" and not (sp.get("flags", mmap.MAP_SHARED) & mmap.MAP_PRIVATE) \
            and sp.get("access", 0) != mmap.ACCESS_COPY
        if anon_shared and len(m) < n < 2 ** 63:
            # "shared-anon-grow": 3.13.0 lets it grow (the new pages then raise SIGBUS); later
            # 3.13/3.14 releases raise this ValueError, and memmap follows them.
            return "grow-shared-anon"
        return None

    @staticmethod
    def madvise_valid(m, args):
        """Arguments that CPython's madvise accepts before calling the kernel."""
        start = args[1] if len(args) > 1 else 0
        length = args[2] if len(args) > 2 else None
        if type(start) is not int or not 0 <= start < len(m):
            return False
        return length is None or (type(length) is int and 0 <= length < 2 ** 63)

    @staticmethod
    def read_only(sp):
        """ACCESS_READ, or ACCESS_DEFAULT with a prot without PROT_WRITE."""
        access = sp.get("access", 0)
        if access == mmap.ACCESS_READ:
            return True
        return access == 0 and not (sp.get("prot", mmap.PROT_READ | mmap.PROT_WRITE) & mmap.PROT_WRITE)

    # ------------------------------------------------------------------ run

    def open(self):
        sp = self.spec["map"]
        kw = {}
        for k in ("flags", "prot", "access", "offset", "trackfd"):
            if k in sp:
                kw[k] = sp[k]
        fileno = -1
        if sp["kind"] == "file":
            self.path = os.path.join(self.tmpdir, "py-%d.bin" % self.spec["id"])
            with open(self.path, "wb") as f:
                f.write(bytes.fromhex(sp["file"]))
            self.fd = os.open(self.path, os.O_RDONLY if sp.get("fdmode") == "r" else os.O_RDWR)
            fileno = self.fd
        self.m = mmap.mmap(fileno, sp["len"], **kw)
        init = sp.get("init")
        if init:
            self.m[:] = bytes.fromhex(init)

    def call(self, op, raw):
        m = self.m
        self.flush_to_end = False
        if op == "setSlice":
            a, b, c = (self.val(x) for x in raw[0:3])
            data = self.val(raw[3], (a, b, c))
            m[a:b:c] = data
            return None
        args = [self.val(x) for x in raw]
        g = self.guard(op, args)
        if g is not None:
            return {"skip": g}
        if op == "get":
            return m[args[0]]
        if op == "set":
            m[args[0]] = args[1]
            return None
        if op == "slice":
            return m[args[0]:args[1]:args[2]]
        if op == "length":
            return len(m)
        if op == "closed":
            return m.closed
        if op == "resize" and self.fd is not None:
            return self.resize(args)
        return getattr(m, op)(*args)

    def resize(self, args):
        # Normalisation "failed-resize-undone": memmap sets the file back when the map cannot
        # follow it; CPython leaves it resized. Do the same here before the states are compared.
        before = os.fstat(self.fd).st_size
        saved = os.pread(self.fd, before, 0)
        try:
            return self.m.resize(*args)
        except OSError:
            if os.fstat(self.fd).st_size != before:
                os.ftruncate(self.fd, before)
                os.pwrite(self.fd, saved, 0)
                self.undone = True
            raise

    def run(self):
        out = {"id": self.spec["id"], "ops": []}
        try:
            self.open()
        except Exception as e:
            out["ctor"] = err(e)
            self.cleanup(out)
            return out
        out["ctor"] = {"v": None}
        for o in self.spec["ops"]:
            self.undone = False
            self.flush_to_end = False
            if "py" not in o:
                r = {"skip": "jsonly"}
            else:
                try:
                    v = self.call(o["py"], o["args"])
                    r = v if isinstance(v, dict) and "skip" in v else {"v": out_value(v)}
                except Exception as e:
                    r = err(e)
            if self.undone:
                r["undone"] = True
            if self.flush_to_end:
                r["flushToEnd"] = True
            out["ops"].append({"r": r, "s": self.state()})
        self.cleanup(out)
        return out

    def cleanup(self, out):
        if self.m is not None:
            self.m.close()
        if self.fd is not None:
            os.close(self.fd)
            out["file"] = file_result(self.path)
        elif self.path is not None and os.path.exists(self.path):
            os.unlink(self.path)


def main(prog_class):
    """Runs each program of stdin (JSON lines) as prog_class(spec, tmpdir).run(); one JSON line out per program."""
    if sys.version_info[:2] != (3, 13):
        sys.exit("the reference is CPython 3.13 (PYENV_VERSION=3.13.0 python3), not %s" % sys.version.split()[0])
    tmpdir = sys.argv[1]
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        spec = json.loads(line)
        sys.stdout.write(json.dumps(prog_class(spec, tmpdir).run()) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(Prog)
