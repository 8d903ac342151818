"""Record the training runs that the Lessons page replays: rnnviz/content/data/lessons.json.

    python scripts/make_lessons_data.py                # everything: about a minute on an idle two-core machine
    python scripts/make_lessons_data.py small timing   # only those parts (train, small, timing)

Lessons 6 to 8 read this file so a class never waits for training; the page's "Train it again, live"
button reruns the same configs. Training is seeded, so the metrics come out the same on a rerun; the
timings are measurements of the machine it ran on.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnviz.content import lesson_runs, lessons  # noqa: E402  (after the path is set: runs from a checkout)


def main() -> None:
    parts = tuple(sys.argv[1:]) or lesson_runs.PARTS
    unknown = set(parts) - set(lesson_runs.PARTS)
    if unknown:
        raise SystemExit(f"unknown parts {sorted(unknown)}; choose from {', '.join(lesson_runs.PARTS)}")
    old = lessons.load_data() if lessons.DATA_PATH.exists() and parts != lesson_runs.PARTS else None
    data = lesson_runs.make_data(log=lambda line: print(line, flush=True), parts=parts, data=old)
    lessons.DATA_PATH.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {lessons.DATA_PATH}")


if __name__ == "__main__":
    main()
