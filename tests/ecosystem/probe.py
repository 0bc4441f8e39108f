"""Try every listed function with the sample calls and print what happens.

    python tests/ecosystem/probe.py [library ...] > probe.log         # probe, one JSON line each
    python tests/ecosystem/probe.py --draft probe.log cases_draft.py   # draft cases.py from its output
    python tests/ecosystem/probe.py --counts                           # per-library counts

For each function: the first template whose plain NumPy call (no xpgrad) returns
numbers, then xpgrad against central differences on NumPy and array-api-strict, and
the plain array-api-strict call (to tell library-side failures from ours). This is how
``cases.py`` was drafted; the suite itself (``test_ecosystem.py``) checks the result.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback

os.environ.setdefault("SCIPY_ARRAY_API", "1")
sys.path.insert(0, os.path.dirname(__file__))

import eco_harness as H  # noqa: E402


class Timeout(Exception):
    pass


def _alarm(*_):
    raise Timeout("took over 10 s")


def _err(e: BaseException) -> str:
    tb = traceback.extract_tb(e.__traceback__)
    where = next(
        (
            f"{fr.filename.split('site-packages/')[-1]}:{fr.lineno}"
            for fr in reversed(tb)
            if "xpgrad" not in fr.filename
        ),
        "",
    )
    return f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''} [{where}]"


def probe(name: str) -> dict:
    from custom_calls import CUSTOM

    obj = H.resolve(name)
    out: dict = {"name": name}
    e: BaseException | None = None
    cands = [("custom", CUSTOM[name])] if name in CUSTOM else list(H.TEMPLATES.items())
    for tname, tpl in cands:
        f = tpl.via(obj) if tpl.via else H.as_callable(obj)
        signal.alarm(10)
        try:
            res = H.call(f, tpl, tpl.args(H.np))
            ls = H.leaves(res)
        except BaseException as exc:  # noqa: BLE001
            signal.alarm(0)
            e = exc
            continue
        signal.alarm(0)
        if not ls:
            if tname == "custom":  # a tree, a string: nothing numeric to differentiate
                out.update(
                    template=tname,
                    numpy=["nondiff", "no numeric output"],
                    strict=["nondiff", "no numeric output"],
                    plain_strict="ok",
                )
                return out
            continue
        if any(H._float_kind(l) and not H.np.all(H.np.isfinite(H.to_numpy(l))) for l in ls):
            continue  # outside the function's domain: try the next sample call
        out["template"] = tname
        break
    else:
        out["template"] = None
        if name in CUSTOM:
            out["error"] = _err(e) if e else ""  # the sample call's own error
        return out
    for b in H.BACKENDS:
        signal.alarm(20)
        try:
            o = H.check(f, tpl, b)
            out[b] = [o.status, o.detail]
        except BaseException as e:  # noqa: BLE001
            out[b] = ["error", _err(e)]
        finally:
            signal.alarm(0)
        if b == "strict":
            signal.alarm(10)
            try:
                H.call(f, tpl, tpl.args(H.backend("strict")))
                out["plain_strict"] = "ok"
            except BaseException as e:  # noqa: BLE001
                out["plain_strict"] = _err(e)
            finally:
                signal.alarm(0)
    return out


KINDS = {  # column: the kinds of cases.py it counts
    "passing": ("ok",),
    "passing on NumPy (strict: library-side)": ("ok_numpy",),
    "not differentiable": ("nondiff", "zero"),
    "library-side": ("library",),
    "needs xp.special": ("special",),
    "xpgrad-side": ("xpgrad", "xpgrad_strict"),
    "untried": ("untried",),
}


def counts() -> str:
    """The per-library table of ``cases.py`` (which ``test_ecosystem.py`` verifies)."""
    from cases import CASES

    head = ["library", "listed", "tried", *KINDS]
    rows = [head]
    total = [0] * (len(head) - 1)
    for lib in H.LIBRARIES:
        kinds = [k for n, (k, _, _) in CASES.items() if n.split(".")[0] == lib]
        row = [len(kinds), sum(k != "untried" for k in kinds)]
        row += [sum(k in ks for k in kinds) for ks in KINDS.values()]
        total = [a + b for a, b in zip(total, row)]
        rows.append([lib, *map(str, row)])
    rows.append(["total", *map(str, total)])
    lines = ["| " + " | ".join(r) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("---" for _ in head) + "|")
    return "\n".join(lines)


def main() -> None:
    signal.signal(signal.SIGALRM, _alarm)  # the sample calls' time limit
    args = sys.argv[1:]
    if args[:1] == ["--counts"]:
        print(counts())
        return
    if args[:1] == ["--draft"]:
        with open(args[1]) as fh:
            write_cases([json.loads(l) for l in fh if l.startswith("{")], args[2])
        return
    path = None
    if args[:1] == ["--json"]:
        path, args = args[1], args[2:]
    libs = args or list(H.LIBRARIES)
    results = []
    import sklearn

    with sklearn.config_context(array_api_dispatch=True):
        for lib in libs:
            for name in H.LIBRARIES[lib]():
                r = probe(name)
                results.append(r)
                print(json.dumps(r), flush=True)
    if path:
        with open(path, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()


# -- drafting cases.py from a probe run ---------------------------------------------------

_LIBRARY_SIDE = (
    ("numpy.asarray() of a traced value", "converts its input to NumPy (np.asarray)"),
    ("float() of a traced value", "converts a result to a Python float(...)"),
    ("cannot be exported with DLPack", "exports the array to NumPy (DLPack)"),
    ("is not in the Array API standard", "calls a NumPy function"),
    ("is a NumPy method, not the standard's", "calls a NumPy-only method"),
)


def classify(r: dict) -> tuple[str, str | None, str]:
    """(kind, template, reason) of one probe record (see cases.py for the kinds)."""
    tpl = r["template"]
    if tpl is None:
        return "untried", None, r.get("error") or "no generic sample call fits its signature"
    n, s = r["numpy"], r["strict"]
    if n[0] == "nondiff":
        return "nondiff", tpl, n[1]
    if n[0] == "zero":
        if tpl == "n,s":
            return "zero", tpl, "depends only on the integer length (the float is a flag)"
        return "zero", tpl, "piecewise constant: derivative zero almost everywhere"
    if n[0] == "ok":
        if s[0] == "ok":
            return "ok", tpl, ""
        if r["plain_strict"] != "ok":
            return (
                "ok_numpy",
                tpl,
                f"array-api-strict fails without xpgrad too: {r['plain_strict']}",
            )
        return "xpgrad_strict", tpl, s[1]
    if n[0] == "error":
        if "special/_support_alternative_backends" in n[1]:
            return "special", tpl, "needs xp.special (pending branch)"
        for needle, why in _LIBRARY_SIDE:
            if needle in n[1]:
                return "library", tpl, f"{why}: {n[1].split('[')[-1].rstrip(']')}"
        if r["plain_strict"] != "ok":
            return "library", tpl, f"fails without xpgrad too: {r['plain_strict']}"
        return "xpgrad", tpl, n[1]
    return "xpgrad", tpl, f"wrong derivative: {n[1]}"


def write_cases(records: list[dict], path: str) -> None:
    lines = []
    for r in sorted(records, key=lambda r: r["name"]):
        kind, tpl, why = classify(r)
        lines.append(f"    {r['name']!r}: ({kind!r}, {tpl!r}, {why!r}),")
    body = "\n".join(lines)
    with open(path, "w") as fh:
        fh.write(f"CASES: dict[str, tuple[str, str | None, str]] = {{\n{body}\n}}\n")
