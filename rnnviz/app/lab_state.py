"""The Training lab's state, apart from the page that draws it."""

from __future__ import annotations

from rnnviz.app.trainer import Snapshot
from rnnviz.engine import tasks, training


def runs_of(snapshot: Snapshot, data: tuple[tasks.Dataset, tasks.Dataset] | None = None) -> dict:
    """``{cell: training.ModelRun}`` for every model of ``snapshot``, as the Training lab draws them: each at
    its last evaluation point. A model with none yet (stopped while queued, or before its first evaluation
    point) is its untrained model evaluated at update 0, so every model shows a result and no update it
    never had is claimed. ``data`` = (train, test) of the configs, made from the first config when needed."""
    runs = {}
    for index, config in enumerate(snapshot.configs):
        if snapshot.histories[index] and snapshot.trained[index] is not None:
            runs[config.cell] = snapshot.run(index)
            continue
        if data is None:
            data = tasks.make_task(config.task, config.length, config.n_train, config.n_test, seed=config.seed)
        start = training.ModelRun(config, (), 0, 0.0, training.init_model(config, tasks.SPECS[config.task]))
        runs[config.cell] = training.evaluate_now(start, data)
    return runs
