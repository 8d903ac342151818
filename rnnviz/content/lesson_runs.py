"""The measurements lessons 6 to 8 replay: training records and update timings.

``make_data`` makes ``rnnviz/content/data/lessons.json`` (``python scripts/make_lessons_data.py``); the
Lessons page's "Train it again, live" reruns the same configs through ``train_record`` and ``time_updates``
(see ``lessons.live_update``). Training is seeded, so a rerun gives the same metrics on the same machine; the
timings are measurements of the machine that ran them. Nothing here imports streamlit or plotly.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, replace

import numpy as np

from rnnviz.engine import provenance, tasks, training
from rnnviz.engine.cells import KINDS

TRAIN = training.TrainConfig()  # the Training lab's default: adding problem, lag 50, 1000 updates
PARTS = ("train", "small", "timing")


def small_config() -> training.TrainConfig:
    """The LSTM at the Training lab's small-data preset (training.SMALL_DATA), where it memorises its
    training set: the lesson and the lab's toggle agree."""
    return replace(training.TrainConfig(cell="lstm"), **training.SMALL_DATA)


def train_record(config: training.TrainConfig) -> dict:
    """One training run as JSON-ready data: its config, every evaluation point, and the summary."""
    start = time.perf_counter()
    result = training.train(config)
    return {
        "wall_seconds": round(time.perf_counter() - start, 2),  # evaluation included: what a live run waits
        "config": asdict(config),
        "history": [asdict(p) for p in result.history],
        **result.summary(),
    }


def time_updates(config: training.TrainConfig, kinds=KINDS, repeats: int = 40) -> dict:
    """Median milliseconds per training update (forward, backward, the optimiser step and the new model on
    one batch: the training loop's own update, its evaluation excluded), the models interleaved so that load
    on the machine hits them alike."""
    data, _ = tasks.make_task(config.task, config.length, config.batch_size, 1, seed=config.seed)
    data = data.as_dtype(config.dtype)
    trainers = {}
    for k in kinds:
        kind_config = replace(config, cell=k)
        model = training.init_model(kind_config, tasks.SPECS[config.task])
        trainers[k] = training.Trainer(kind_config, model, lambda: data)  # no check: nothing is evaluated
    times = {k: [] for k in kinds}
    for _ in range(repeats):
        for k, trainer in trainers.items():
            before = trainer.run.seconds
            trainer.update()
            times[k].append(trainer.run.seconds - before)
    return {
        "ms_per_update": {k: round(1000 * float(np.median(v)), 3) for k, v in times.items()},
        "params": {k: t.run.model.num_params for k, t in trainers.items()},
        "repeats": repeats,
        "load_average": round(os.getloadavg()[0], 1),  # of the machine while it measured (0: idle)
    }


def make_data(log=print, parts=PARTS, data: dict | None = None) -> dict:
    """Everything lessons 6 to 8 replay (about a minute on an idle two-core machine). ``parts`` remakes
    only those parts of ``data``."""
    data = dict(data or {})
    if "train" in parts:
        data["train"] = {}
        for kind in KINDS:
            data["train"][kind] = record = train_record(replace(TRAIN, cell=kind))
            log(f"{kind}: solved={record['solved']} test {record['metric']} {record['test_metric']:.4f}")
    if "small" in parts:
        data["small"] = small = train_record(small_config())
        log(f"small-data lstm: train {small['history'][-1]['train_metric']:.4f} test {small['test_metric']:.4f}")
    if "timing" in parts:
        data["timing"] = time_updates(TRAIN)
        log(f"ms per update: {data['timing']['ms_per_update']}")
    data["made_by"] = "python scripts/make_lessons_data.py"
    data["made_on"] = provenance.made_on()  # the replay caption names it: a rerun elsewhere may differ
    data.pop("machine", None)  # the older, shorter record
    return data
