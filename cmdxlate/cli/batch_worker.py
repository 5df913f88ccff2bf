"""One ``batch --jobs`` worker: JSON Lines requests on stdin, finished records on stdout.

Started by :mod:`cmdxlate.cli.batch_pool` only.  It exits at EOF on stdin, and
dies with its parent (``PR_SET_PDEATHSIG``, set by the parent before exec);
its QEMU children die with it the same way.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    op, target, machines, fmt = argv
    from cmdxlate.cli.batch import record

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    for line in stdin:
        items = json.loads(line)["items"]
        # Each record is written here, so the parent only moves text.
        results = [record(label, (kind, payload), op, target, machines or None, fmt)
                   for label, kind, payload in items]
        stdout.write(json.dumps({"results": results}).encode() + b"\n")
        stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
