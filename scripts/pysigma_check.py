#!/usr/bin/env python3
"""Run pySigma's validators over rule folders and print one JSON line per issue.

Used to compare `sigil lint` with pySigma (see docs/lint.md). Needs
``pip install pysigma==1.5.1 pyparsing==3.3.2 pysigma-validators-sigmahq``.
Works offline: the ATT&CK validator is fed a small STIX stand-in built from
sigma-core/data/attack.tsv, and validators that need downloaded data
(D3FEND, most SigmaHQ data-driven checks) are skipped and listed on stderr.

Usage: python3 scripts/pysigma_check.py FOLDER... > issues.jsonl
Each line: {"validator": ..., "file": ..., "severity": ..., "detail": ...}
"""
import dataclasses
import json
import os
import sys
import tempfile

from sigma.collection import SigmaCollection
from sigma.data import mitre_attack
from sigma.plugins import InstalledSigmaPlugins


def attack_standin(tsv):
    objects = []
    for line in open(tsv, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        kind, ext, name, extra = (line.rstrip("\n").split("\t") + [""])[:4]
        typ = {"tactic": "x-mitre-tactic", "technique": "attack-pattern", "group": "intrusion-set",
               "software": "tool", "mitigation": "course-of-action"}.get(kind)
        if typ is None:
            continue
        obj = {"type": typ, "name": name,
               "external_references": [{"source_name": "mitre-attack", "external_id": ext}]}
        if kind == "tactic":
            obj["x_mitre_shortname"] = extra
        elif kind == "technique":
            obj["kill_chain_phases"] = [
                {"kill_chain_name": "mitre-attack", "phase_name": p} for p in extra.split(",") if p
            ]
        objects.append(obj)
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump({"type": "bundle", "objects": objects}, f)
    return path


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    mitre_attack.set_url(attack_standin(os.path.join(here, "..", "sigma-core", "data", "attack.tsv")))
    plugins = InstalledSigmaPlugins.autodiscover()
    validators = plugins.validators
    for folder in sys.argv[1:]:
        coll = SigmaCollection.load_ruleset([folder], collect_errors=True)
        for rule in coll.rules:
            for e in rule.errors:
                print(json.dumps({"validator": "sigma_error", "file": str(rule.source.path) if rule.source else "",
                                  "severity": "high", "detail": str(e)}))
        skipped = []
        for name, cls in sorted(validators.items()):
            if name == "d3_fendtag":
                skipped.append(name)
                continue
            try:
                v = cls()
                issues = []
                for rule in coll.rules:
                    if rule.errors:
                        continue
                    try:
                        issues.extend(v.validate(rule))
                    except RuntimeError:
                        raise
                    except Exception as e:  # pySigma crashes on some rules
                        print(json.dumps({"validator": name, "file": str(rule.source.path), "severity": "crash",
                                          "detail": repr(e)}))
                issues.extend(v.finalize())
            except RuntimeError as e:
                skipped.append(name)
                continue
            for issue in issues:
                d = {f.name: getattr(issue, f.name) for f in dataclasses.fields(issue)}
                files = [str(r.source.path) for r in issue.rules if r.source]
                detail = {k: str(v) for k, v in d.items() if k not in ("rules", "description", "severity")}
                for f in files or [""]:
                    print(json.dumps({"validator": name, "file": f, "severity": str(issue.severity.name).lower(),
                                      "detail": detail}))
        print(f"{folder}: skipped {skipped}", file=sys.stderr)


if __name__ == "__main__":
    main()
