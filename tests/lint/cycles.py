#!/usr/bin/env python3
"""Checks the file-level dependency graph of a directory's objects: file A
depends on file B when A's object uses a symbol B's object defines (nm).
Prints every strongly connected component of more than MAX files, then the
closing line "cycles: N passed, N failed" (one check per directory), and
exits 1 when there is one.  Objects whose source is gone (a stale build
directory) are left out.
Usage: cycles.py SRC_DIR OBJ_DIR [MAX] (default MAX 2)."""
import os
import subprocess
import sys


def symbols(path):
    out = subprocess.run(["nm", path], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBR":
            defined.add(parts[2])
    return defined, used


def sccs(graph):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    if len(sys.argv) < 3:
        print("usage: cycles.py SRC_DIR OBJ_DIR [MAX]", file=sys.stderr)
        return 2
    srcdir, objdir = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    objs = sorted(f for f in os.listdir(objdir)
                  if f.endswith(".o") and os.path.exists(os.path.join(srcdir, f[:-2] + ".c")))
    if not objs:
        print(f"cycles: no objects of {srcdir} in {objdir}")
        print("cycles: 0 passed, 1 failed")
        return 1
    defs, uses = {}, {}
    for o in objs:
        d, u = symbols(os.path.join(objdir, o))
        defs[o[:-2]] = d
        uses[o[:-2]] = u
    owner = {s: f for f, ds in defs.items() for s in ds}
    graph = {f: sorted({owner[s] for s in uses[f] if s in owner and owner[s] != f}) for f in defs}
    bad = [c for c in sccs(graph) if len(c) > limit]
    for c in bad:
        print(f"cycle of {len(c)} files: {', '.join(c)}")
    print(f"{srcdir}: {len(objs)} files, {len(bad)} cycles longer than {limit}")
    print(f"cycles: {0 if bad else 1} passed, {1 if bad else 0} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
