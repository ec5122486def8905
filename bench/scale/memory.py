"""Where the operator's memory goes: the top allocation sites of a tracemalloc snapshot.

    python -m bench.scale.driver --sizes 1000 --tracemalloc /tmp/mem --out /tmp/x.json
    python -m bench.scale.memory /tmp/mem/operator-1000.tracemalloc [--by traceback]

``--by lineno`` (default) groups by the line that allocated; ``--by file`` by module;
``--by traceback`` shows the 16 frames of the largest sites, the caller that holds
the memory is usually a few frames up.
"""

from __future__ import annotations

import argparse
import tracemalloc
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("--by", choices=("lineno", "filename", "traceback"), default="lineno")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    snapshot = tracemalloc.Snapshot.load(str(args.snapshot)).filter_traces(
        (tracemalloc.Filter(False, tracemalloc.__file__),)
    )
    stats = snapshot.statistics(args.by)
    total = sum(s.size for s in stats)
    print(f"traced: {total / 2**20:.1f} MiB in {sum(s.count for s in stats):,} blocks")
    for stat in stats[: args.top]:
        print(f"{stat.size / 2**20:8.1f} MiB {stat.count:>10,} blocks")
        lines = stat.traceback.format() if args.by == "traceback" else [str(stat.traceback)]
        for line in lines:
            print(f"    {line}")


if __name__ == "__main__":
    main()
