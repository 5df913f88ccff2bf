"""One ``batch --jobs`` worker: JSON Lines requests on stdin, results on stdout.

Started by :mod:`cmdxlate.cli.batch_pool` only.  It exits at EOF on stdin, and
dies with its parent (``PR_SET_PDEATHSIG``, set by the parent before exec);
its QEMU children die with it the same way.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    op, target, machines = argv
    from cmdxlate.cli.batch import process

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    for line in stdin:
        items = json.loads(line)["items"]
        results = [process((kind, payload), op, target, machines or None)
                   for kind, payload in items]
        stdout.write(json.dumps({"results": results}).encode() + b"\n")
        stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
