#!/usr/bin/env python3
"""Makes the mutants `vaultsim mutate` runs the suite against: single-edit versions of an SDK's
source files, each a plausible bug a release could ship.

    python mutants.py --sdk-dir DIR --files client.py,models.py --out DIR

Two sources of edits:

* mutmut's operators (mutmut 2.5, its `list_mutations` / `mutate` API: numbers, strings,
  operators, keywords, names, arguments, and/or), one mutant per mutation it lists;
* the contract's operators, on the standard library's `ast` (positions) with line edits:
  - exception_parent: `raise XError(...)` raises X's parent class instead (from exceptions.py);
  - drop_header:      an entry of a dict literal whose key is an HTTP header name is removed;
  - drop_field:       an entry of a dict literal with snake_case string keys (a request body,
                      an error's details) is removed;
  - drop_store:       `target["key"] = value` becomes `pass` (a header or field set one by one);
  - unit:             `x * 1000`, `x / 1000`, `x * 60`, `x / 60` lose the factor;
  - precedence:       `{**a, **b}` becomes `{**b, **a}`, and `a or b` becomes `b or a` where
                      both sides are names or attributes (which of two inputs wins).

Every candidate is listed first, in a stable order (so an id such as client-0042 names the same
edit in every run); `--sample N --seed S` then makes only N of them, chosen at random by S.
Writes OUT/mutants.json: {"candidates", "by_operator", "made", "mutants": [{"id", "file", "line",
"operator", "description", "original", "mutated", "diff", "path"}]}, and each mutant's whole
file at OUT/<id>/<file>. Exits 2 on bad arguments.
"""

import argparse
import ast
import difflib
import json
import os
import random
import re
import sys


def fail(message):
    sys.stderr.write("mutants: " + message + "\n")
    sys.exit(2)


def mutmut_ids(source, filename):
    """mutmut's mutations of one file, as ids (one parse); `mutmut_apply` makes one of them."""
    from mutmut import Context, list_mutations

    return list_mutations(Context(source=source, filename=filename))


def mutmut_apply(source, filename, mutation_id):
    from mutmut import Context, mutate

    mutated, count = mutate(Context(source=source, filename=filename, mutation_id=mutation_id))
    return mutated if count == 1 else source


def exception_parents(sdk_dir):
    """Exception class -> its parent, from the SDK's exceptions.py."""
    path = os.path.join(sdk_dir, "exceptions.py")
    if not os.path.exists(path):
        return {}
    tree = ast.parse(open(path, encoding="utf-8").read())
    parents = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.bases and isinstance(node.bases[0], ast.Name):
            parent = node.bases[0].id
            if parent not in ("Exception", "BaseException"):
                parents[node.name] = parent
    return parents


HEADER_KEY = re.compile(r"^(?:[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+|[xX]-[A-Za-z0-9-]+|Authorization|Content-Type|Accept|User-Agent)$")
FIELD_KEY = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


class Edits:
    """Single edits of a source, by (line, column) spans, each kept as a whole mutated source."""

    def __init__(self, source):
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))
        self.found = []

    def offset(self, line, column):
        # ast columns are UTF-8 byte offsets; convert within the line.
        text = self.lines[line - 1]
        return self.starts[line - 1] + len(text.encode("utf-8")[:column].decode("utf-8", errors="ignore"))

    def span(self, node):
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def replace(self, start, end, text, line, operator, description):
        mutated = self.source[:start] + text + self.source[end:]
        try:
            ast.parse(mutated)
        except SyntaxError:
            return
        if mutated != self.source:
            self.found.append((line, operator, description, mutated))


def contract_mutants(source, parents):
    tree = ast.parse(source)
    edits = Edits(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name):
            name = node.exc.func.id
            if name in parents:
                start, end = edits.span(node.exc.func)
                edits.replace(start, end, parents[name], node.lineno, "exception_parent", "raise %s instead of %s" % (parents[name], name))
        elif isinstance(node, ast.Dict):
            for index, key in enumerate(node.keys):
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    continue
                operator = "drop_header" if HEADER_KEY.match(key.value) else "drop_field" if FIELD_KEY.match(key.value) else None
                if operator is None:
                    continue
                start, _ = edits.span(key)
                _, end = edits.span(node.values[index])
                # Take the following comma (or the preceding one, for the last entry) too.
                rest = source[end:]
                comma = re.match(r"\s*,", rest)
                if comma:
                    end += comma.end()
                else:
                    before = source[:start].rstrip()
                    if before.endswith(","):
                        start = len(before) - 1
                edits.replace(start, end, "", key.lineno, operator, "drop %r from a dict literal" % key.value)
            spreads = [i for i, key in enumerate(node.keys) if key is None]
            if len(node.keys) == 2 and len(spreads) == 2:
                first, second = node.values
                a, b = source[slice(*edits.span(first))], source[slice(*edits.span(second))]
                start, end = edits.span(node)
                edits.replace(start, end, "{**%s, **%s}" % (b, a), node.lineno, "precedence", "swap the order of {**%s, **%s}" % (a, b))
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Subscript):
            target = node.targets[0]
            if isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str):
                start, end = edits.span(node)
                edits.replace(start, end, "pass", node.lineno, "drop_store", "do not set [%r]" % target.slice.value)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)) \
                and isinstance(node.right, ast.Constant) and node.right.value in (60, 1000, 1000.0, 60.0):
            start, end = edits.span(node)
            left = source[slice(*edits.span(node.left))]
            edits.replace(start, end, "(%s)" % left, node.lineno, "unit", "drop the factor %r" % node.right.value)
        elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2 \
                and all(isinstance(v, (ast.Name, ast.Attribute)) for v in node.values):
            a, b = (source[slice(*edits.span(v))] for v in node.values)
            start, end = edits.span(node)
            edits.replace(start, end, "%s or %s" % (b, a), node.lineno, "precedence", "%s or %s becomes %s or %s" % (a, b, b, a))
    return edits.found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sdk-dir", required=True)
    parser.add_argument("--files", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--sample", type=int, default=0, help="make only this many, chosen at random (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not os.path.isdir(args.sdk_dir):
        fail("no SDK folder at %s" % args.sdk_dir)
    if args.sample < 0:
        fail("--sample must be 0 (all) or more")
    parents = exception_parents(args.sdk_dir)
    # Every candidate first (cheap: one parse per file), in a stable order, so a mutant's id is
    # the same in every run and every sample; then only the chosen ones are made.
    candidates = []
    sources = {}
    for name in [f.strip() for f in args.files.split(",") if f.strip()]:
        path = os.path.join(args.sdk_dir, name)
        if not os.path.isfile(path):
            fail("the SDK has no file %s (in %s)" % (name, args.sdk_dir))
        source = open(path, encoding="utf-8").read()
        sources[name] = (source, path)
        stem = os.path.splitext(name)[0].replace("/", "_")
        mine = []
        seen = set()
        for line, operator, description, mutated in contract_mutants(source, parents):
            if mutated not in seen:
                seen.add(mutated)
                mine.append({"file": name, "line": line, "operator": operator, "description": description, "mutated": mutated})
        for mutation_id in mutmut_ids(source, path):
            mine.append({"file": name, "line": mutation_id.line_number + 1, "operator": "mutmut", "mutmut_id": mutation_id,
                         "description": "mutmut mutation %d of this line" % mutation_id.index})
        for index, candidate in enumerate(mine, 1):
            candidate["id"] = "%s-%04d" % (stem, index)
        candidates += mine
    chosen = candidates
    if args.sample and args.sample < len(candidates):
        picked = sorted(random.Random(args.seed).sample(range(len(candidates)), args.sample))
        chosen = [candidates[i] for i in picked]
    mutants = []
    for candidate in chosen:
        source, path = sources[candidate["file"]]
        mutated = candidate.get("mutated") or mutmut_apply(source, path, candidate["mutmut_id"])
        if mutated == source:
            continue
        name = candidate["file"]
        diff = "".join(difflib.unified_diff(source.splitlines(keepends=True), mutated.splitlines(keepends=True),
                                            "a/alter_sdk/" + name, "b/alter_sdk/" + name, n=1))
        removed = [l[1:].strip() for l in diff.splitlines() if l.startswith("-") and not l.startswith("---")]
        added = [l[1:].strip() for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")]
        if candidate["operator"] == "mutmut":
            candidate["description"] = "%s  ->  %s" % (removed[0] if removed else "", added[0] if added else "(removed)")
        folder = os.path.join(args.out, candidate["id"])
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, os.path.basename(name))
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(mutated)
        mutants.append({"id": candidate["id"], "file": name, "line": candidate["line"], "operator": candidate["operator"],
                        "description": candidate["description"], "original": removed[0] if removed else "",
                        "mutated": added[0] if added else "", "diff": diff, "path": target})
    counts = {}
    for candidate in candidates:
        counts[candidate["operator"]] = counts.get(candidate["operator"], 0) + 1
    summary = {"candidates": len(candidates), "by_operator": counts, "made": len(mutants), "mutants": mutants}
    with open(os.path.join(args.out, "mutants.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=1)
    print(json.dumps({"candidates": len(candidates), "made": len(mutants), "by_operator": counts}))


if __name__ == "__main__":
    main()
