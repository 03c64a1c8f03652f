"""Each experiment's report: tables, figures and verdict.md from its arms' results (one module per paper).

    python -m experiments.reports.<module> [part] --protocol results/<experiment>/protocol.json \\
        --arms results/<experiment>/arms/*/*.json --out results/<experiment>

An arm's result (written by ``experiments.arm``) is one JSON object:

    experiment, workload, method        the arm; method is the protocol's label (e.g. "sgdo-5")
    optimizer, hyperparameters          the registry name and the fixed hyperparameters
    task, task_options, batch_size, steps, svag, epochs
    budget_unit                         "steps", or "gradient-evaluations" (then steps = the workload's / e)
    metric, higher_is_better            the task's watched metric on its first eval split (e.g. "test/accuracy")
    gradient_evaluations_per_step       e: 2 for SAM and Step-Tuned SGD, doubled again under SVAG
    arm_sha256                          of the arm's own protocol
    chosen_point                        the grid point evaluated, e.g. {"effective_lr": 0.1}
    tuning                              null, or {axes, runs, chosen_point, chosen, edge}: every grid point on every
                                        tuning seed, the point chosen (best median final metric) and the axes on
                                        whose grid edge it lies; reused_point: the other arm's point this one
                                        searched on top of (null without reuse); runs' points include it
    evaluation                          {setting, point, runs}: the chosen point on every evaluation seed

and each run: seed, point, setting (the optimizer's arguments), directory, metric, higher_is_better, final (null iff
diverged), best (over evaluations), diverged_step, final_train_loss, train_examples, final_metrics (every metric of
the last evaluation, e.g. {"test/accuracy", "test/loss", "train/accuracy", "train/loss"}; the split ``train`` — the
first ``train_eval_size`` training examples — only where the workload asks for it), gradient_evaluations_per_step,
curve {step, value} (the metric at every evaluation; step × e = gradient evaluations), train_loss (per step, at the base weights: for Overshoot and MSAM, which train at shifted weights, the harness's
``base_loss``, the minibatch loss before the step at the weights it evaluates; null where not finite),
run_seconds, and, for evaluation runs of a workload with ``hessian``, hessian: null (diverged) or {eigenvalues
(descending), examples, count, matrix_vector_products, seconds} at the final base weights (``experiments.hessian``).

The protocol (results/<experiment>/protocol.json) is the experiment's section of the config plus its SHA-256, which
every table records.
"""
