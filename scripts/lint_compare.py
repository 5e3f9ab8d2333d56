#!/usr/bin/env python3
"""Compare `sigil lint` with pySigma's validators, per check and folder.

Runs scripts/pysigma_check.py (needs pysigma==1.5.1, pyparsing==3.3.2 and
pysigma-validators-sigmahq in the current Python) and `sigil lint --enable all
--format json` on each folder, then prints a Markdown table of findings per
check, "pySigma / sigil", and lists the files where the two disagree.

Usage: python3 scripts/lint_compare.py [--sigil target/release/sigil] FOLDER...
"""
import argparse
import collections
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--sigil", default=os.path.join(here, "..", "target", "release", "sigil"))
ap.add_argument("folders", nargs="+")
args = ap.parse_args()

py, sg = {}, {}
for f in args.folders:
    out = subprocess.run([sys.executable, os.path.join(here, "pysigma_check.py"), f],
                         capture_output=True, text=True).stdout
    py[f] = collections.Counter()
    for line in out.splitlines():
        d = json.loads(line)
        if d["severity"] != "crash":
            py[f][(d["validator"], d["file"])] += 1
    out = subprocess.run([args.sigil, "lint", "--enable", "all", "--format", "json", f],
                         capture_output=True, text=True).stdout
    sg[f] = collections.Counter()
    for line in out.splitlines():
        d = json.loads(line)
        sg[f][(d["id"], d["file"])] += 1

checks = sorted({c for f in args.folders for (c, _) in list(py[f]) + list(sg[f])})
names = [os.path.basename(f.rstrip("/")) for f in args.folders]
print("| check | " + " | ".join(names) + " |")
print("|---|" + "---|" * len(names))
for c in checks:
    cells = []
    for f in args.folders:
        a = sum(n for (k, _), n in py[f].items() if k == c)
        b = sum(n for (k, _), n in sg[f].items() if k == c)
        cells.append(f"{a} / {b}")
    print(f"| `{c}` | " + " | ".join(cells) + " |")
print()
# File-level differences, for the checks pySigma has (sigil-only checks are
# expected to differ).
from sigma.plugins import InstalledSigmaPlugins  # noqa: E402

pysigma_ids = set(InstalledSigmaPlugins.autodiscover().validators)
for f in args.folders:
    for key in sorted(set(py[f]) | set(sg[f])):
        if key[0] in pysigma_ids and py[f][key] != sg[f][key]:
            print(f"differs: {key[0]} {key[1]}: pySigma {py[f][key]}, sigil {sg[f][key]}")
