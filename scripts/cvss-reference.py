#!/usr/bin/env python3
"""Reference CVSS scores for vulndesk-core's severity tests.

Reads CVSS 3.x / 4.0 vectors on stdin, one per line, and prints
`vector<TAB>base score<TAB>severity` for each, scored by the PyPI `cvss` package
(pinned in scripts/test-requirements.txt). A vector the package rejects prints
`vector<TAB>ERROR<TAB>message`, so the caller sees which one and why instead of a
traceback that loses the rest of the batch.

Run it with the project's test virtualenv: .venv/bin/python scripts/cvss-reference.py
"""

import sys

from cvss import CVSS3, CVSS4


def score(vector):
    if vector.startswith("CVSS:4."):
        c = CVSS4(vector)
        return c.base_score, c.severity
    c = CVSS3(vector)
    # scores()/severities() are (base, temporal, environmental); the base is what we compare.
    return c.scores()[0], c.severities()[0]


def main():
    out = sys.stdout
    for line in sys.stdin:
        vector = line.strip()
        if not vector:
            continue
        try:
            base, severity = score(vector)
        except Exception as e:  # noqa: BLE001 - any rejection is reported per vector
            out.write("{0}\tERROR\t{1}\n".format(vector, str(e).replace("\t", " ")))
            continue
        # One decimal, so Decimal (CVSS3) and float (CVSS4) scores print alike.
        out.write("{0}\t{1:.1f}\t{2}\n".format(vector, float(base), severity))


if __name__ == "__main__":
    main()
