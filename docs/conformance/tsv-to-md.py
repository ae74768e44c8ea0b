#!/usr/bin/env python3
"""Turns a MODULAR_CONFORMANCE_LOG file (tab-separated: backend, op, shape, error, tolerance, pass) into Markdown
tables: one row per comparison, then the perf notes. Usage: tsv-to-md.py LOG.tsv > part.md"""
import sys

rows, notes = [], []
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if not line:
        continue
    if line.startswith("# "):
        notes.append(line[2:])
        continue
    backend, op, shape, err, tol, status = line.split("\t")
    rows.append((op, shape, err, tol, status))

print("| op | shape / case | max error | tolerance | result |")
print("| --- | --- | --- | --- | --- |")
for op, shape, err, tol, status in rows:
    print(f"| {op} | {shape.replace('|', '/')} | {err} | {tol} | {status} |")
print()
perf = [n for n in notes if n.startswith("perf ")]
other = [n for n in notes if not n.startswith("perf ")]
for n in other:
    print(f"- {n}")
if perf:
    print()
    print("| perf op | shape | median | rate |")
    print("| --- | --- | --- | --- |")
    for n in perf:
        _, op, shape, ms, rate = n.split("\t")
        print(f"| {op} | {shape} | {ms} | {rate} |")
