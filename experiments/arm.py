"""One arm of an experiment in one process: tune on the tuning seeds, then evaluate the chosen point.

    python -m experiments.arm --spec '<arm JSON>' --runs results/<experiment>/runs \\
        --out results/<experiment>/arms/<workload>/<method>.json
    python -m experiments.arm --spec '[<arm JSON>, ...]' ... --out results/<experiment>/jobs/<group>.json
    python -m experiments.arm ... --gpus 8 --nodes 2     # each run on 2 nodes x 8 GPUs (experiments.launch)

Tuning runs every grid point on every tuning seed and picks the point with the best median final metric (a
diverged seed counts as the worst value; ``experiments.statistics.choose``); a chosen point on the edge of its grid
is recorded as such. Evaluation re-runs the chosen point on the evaluation seeds, which tuning never saw. An arm
with one point skips tuning; an arm with ``reuse`` takes another arm's chosen point (``--reuse`` names its JSON) and
searches its own axes, if any, on top of it. With ``hessian`` in the arm, the top eigenvalues of the training loss
at each evaluation run's final base weights are computed here too (``experiments.hessian``).

Every run keeps its own directory ``results/<experiment>/runs/<workload>/<method>/<phase>/<point>/seed<k>/``,
resumes from its checkpoint and is bitwise deterministic; running them in one process only saves the start-up
(imports, data decoding) that one process per run would repeat. With ``--gpus`` N > 1 or ``--nodes`` M > 1 each
run is started as torchrun processes instead (``experiments.launch``); the record read back is the same. The output
JSON (its format: ``experiments/reports/__init__.py``) is written last and atomically: its presence means the arm
finished.
"""

import argparse
import json
import os
import sys
import time

from tqdm import tqdm

from experiments import atomic, protocol, statistics
from experiments import run_directory as files
from experiments.config import ConfigError, validate
from experiments.launch import Placement, train


def run_record(arm: protocol.Arm, point: dict, seed: int, directory: str, data_workers: int = 0,
               spectrum: bool = False, placement: Placement = Placement()) -> dict:
    """Train one run on ``placement`` (or read it back if finished) and return what the reports need of it; with
    ``spectrum``, also the top Hessian eigenvalues at its final base weights (``arm.hessian``; null for a diverged
    run)."""
    started = time.perf_counter()
    config = validate({**protocol.run_values(arm, point, seed), "data_workers": data_workers})
    summary = train(config, directory, placement)
    seconds = time.perf_counter() - started
    metric = summary["metric"]
    records = files.read_metrics(os.path.join(directory, files.METRICS))
    evaluations = [record for record in records if record["kind"] == "eval"]
    return {
        "seed": seed, "point": point, "setting": protocol.setting(arm, point), "directory": directory,
        "metric": metric, "higher_is_better": summary["higher_is_better"],
        "final": None if summary["diverged_step"] is not None else (summary["final"] or {}).get(metric),
        "best": summary["best"].get(metric, {}).get("value"), "diverged_step": summary["diverged_step"],
        "final_train_loss": summary["final_train_loss"], "train_examples": summary.get("train_examples"),
        "final_metrics": summary["final"], "gradient_evaluations_per_step": summary["gradient_evaluations_per_step"],
        "curve": {"step": [record["step"] for record in evaluations],
                  "value": [record.get(metric) for record in evaluations]},
        # At the base weights: for Overshoot and MSAM the harness logs both, and the base model is what is trained.
        "train_loss": [record.get("base_loss", record["loss"]) for record in records if record["kind"] == "train"],
        "run_seconds": seconds,
        **({"hessian": None if summary["diverged_step"] is not None else final_spectrum(directory, config, arm)}
           if spectrum else {}),
    }


def final_spectrum(directory: str, config, arm: protocol.Arm) -> dict:
    """``experiments.hessian.final_model_eigenvalues`` of the run (imported here: only arms with ``hessian`` pay for
    scipy.sparse)."""
    from experiments import hessian

    return hessian.final_model_eigenvalues(directory, config, **arm.hessian)


def arm_result(arm: protocol.Arm, reused: dict | None, root: str, data_workers: int = 0,
               placement: Placement = Placement()) -> dict:
    """Tune (when the arm has a grid), evaluate, and return the arm's result JSON; each run on ``placement``."""
    tuning_jobs = [(point, seed) for point in arm.points for seed in arm.tuning_seeds] if arm.tuned else []
    bar = tqdm(total=len(tuning_jobs) + len(arm.evaluation_seeds), unit="run", file=sys.stdout,
               desc=f"{arm.experiment} {arm.workload}/{arm.method}", mininterval=5)

    def record(phase: str, point: dict, seed: int) -> dict:
        directory = os.path.join(root, arm.workload, arm.method, phase, protocol.point_name(point), f"seed{seed}")
        spectrum = phase == "evaluation" and arm.hessian is not None
        result = run_record(arm, point, seed, directory, data_workers, spectrum, placement)
        bar.update()
        return result

    base = reused["chosen_point"] if reused is not None else {}  # searched further on this arm's own axes
    tuning = None
    if arm.tuned:
        runs = [record("tuning", {**base, **point}, seed) for point, seed in tuning_jobs]
        own = [{**run, "point": {axis: run["point"][axis] for axis in arm.axes}} for run in runs]
        chosen, edge = statistics.choose(own, arm.axes, runs[0]["higher_is_better"])
        point = {**base, **chosen}
        tuning = {"axes": arm.axes, "runs": runs, "chosen_point": point, "chosen": protocol.setting(arm, point),
                  "edge": edge, "reused_point": base if reused is not None else None}
    else:
        point = {**base, **(arm.points[0] if arm.axes else {})}
    evaluation = [record("evaluation", point, seed) for seed in arm.evaluation_seeds]
    bar.close()
    first = evaluation[0]
    steps = protocol.run_values(arm, point, arm.evaluation_seeds[0])["steps"]
    per_step = first["gradient_evaluations_per_step"]
    return {
        "experiment": arm.experiment, "workload": arm.workload, "method": arm.method, "optimizer": arm.optimizer,
        "hyperparameters": arm.hyperparameters, "task": arm.task, "task_options": arm.options,
        "batch_size": arm.budget["batch_size"], "steps": steps, "svag": arm.budget.get("svag", 1),
        "budget_unit": arm.budget.get("budget_unit", "steps"),
        "epochs": None if first["train_examples"] is None else steps * arm.budget["batch_size"] / first[
            "train_examples"],
        "metric": first["metric"], "higher_is_better": first["higher_is_better"],
        "gradient_evaluations_per_step": per_step,
        "arm_sha256": protocol.sha256(arm.as_json()),
        "chosen_point": point, "tuning": tuning,
        "evaluation": {"setting": protocol.setting(arm, point), "point": point, "runs": evaluation},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.arm", description=__doc__.split("\n")[0])
    parser.add_argument("--spec", required=True, help="the arm, as JSON (experiments.protocol.Arm.as_json()), or a "
                        "list of arms")
    parser.add_argument("--reuse", help="result JSON of the arm whose chosen point this arm takes")
    parser.add_argument("--runs", required=True, help="folder of this experiment's run directories")
    parser.add_argument("--out", required=True, help="the arm's result JSON")
    parser.add_argument("--data-workers", type=int, default=0, help="DataLoader workers per run (never changes "
                        "results)")
    parser.add_argument("--gpus", type=int, default=0, help="GPUs of this job on each node: with more than 1, each "
                        "run is that many torchrun processes, one per GPU (without CUDA, gloo processes on the CPU; "
                        "default: 0, each run in this process)")
    parser.add_argument("--nodes", type=int, default=1, help="nodes of this job: with more than 1, each run is "
                        "started on all of them through srun (needs a SLURM allocation; default: 1)")
    arguments = parser.parse_args(argv)
    spec = json.loads(arguments.spec)
    reused = files.read_json(arguments.reuse) if arguments.reuse else None
    try:  # one arm, or a list of them (grouped jobs): then the output is the list of their results
        placement = Placement(gpus=arguments.gpus, nodes=arguments.nodes)
        results = [arm_result(protocol.Arm(**arm), reused, arguments.runs, arguments.data_workers, placement)
                   for arm in (spec if isinstance(spec, list) else [spec])]
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    atomic.write_json(arguments.out, results if isinstance(spec, list) else results[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
