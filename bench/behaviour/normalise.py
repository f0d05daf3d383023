#!/usr/bin/env python3
"""Prints a JSON document with the fields that differ between runs of the same code removed:
times, folders and paths, hosts, workers and timestamps. Numbers are printed as read."""
import json, re, sys

VOLATILE = re.compile(r"^(seconds|secondsPerRun|wallSeconds|folder|speedupVsSync|.*(Seconds|Time|At|Path|Folder|Host|Worker)|started|finished|created|host|worker|pid)$")

def clean(v):
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if not VOLATILE.search(k)}
    if isinstance(v, list):
        return [clean(x) for x in v]
    if isinstance(v, str):
        v = re.sub(r"/tmp/hybrid-behaviour\.[A-Za-z0-9]+", "WORK", v)
        v = re.sub(r"\d{8}-\d{6}", "STAMP", v)
        # An experiment's folder is named by a hash of its configurations (which grows with new fields).
        v = re.sub(r"-[0-9a-f]{8}(?=/|$)", "-HASH", v)
    return v

text = open(sys.argv[1]).read()
try:
    doc = json.loads(text)
except ValueError:
    print(json.dumps({"unparsed": text[-2000:]}, indent=1))
    sys.exit(0)
print(json.dumps(clean(doc), indent=1, sort_keys=True))
