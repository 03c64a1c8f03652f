#!/usr/bin/env bash
# The checks that need a GPU, in one go (< 8 minutes on one CUDA GPU); prints a summary, exits 1 if any fails.
#
#     bash benchmarks/gpu_check.sh                  # on a CUDA machine, after `make setup`
#     DEVICE=cpu bash benchmarks/gpu_check.sh       # the same steps on the CPU at tiny sizes: a dry run of the script
#
#   cuda-tests     the test suite's CUDA tests: those named *cuda* (pytest -k cuda; they skip without CUDA, and a
#                  skip for "no CUDA device" fails this check on a CUDA machine)
#   training       the full profile's Overshoot mnist5k-vae job type (method sgdo-5: overshoot-sgd, momentum 0.9,
#                  overshoot 5, lr 0.001, batch 64) for TRAIN_STEPS steps; it must finish, not diverge, and lower
#                  the test loss; float32 weights, forward passes under bf16 autocast (--autocast bfloat16).
#   throughput     benchmarks/optimizer_step.py on ResNet-50's parameters, float32 and bfloat16: each of our
#                  optimizers' step time over torch's fused base step (SGD-m or AdamW, fused=True); goal: at most 1.10
#   determinism    two identical short runs end with bitwise-equal model tensors (SHA-256 of every tensor of the
#                  checkpoint); a third with another seed must differ (the check can fail)
#
# Environment: DEVICE (cuda | cpu; default cuda), PYTHON (default .venv/bin/python), OUT (a folder for the runs and
# logs; default a new temporary folder), TRAIN_STEPS (default 300; 10 on cpu).
set -euo pipefail

cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-.venv/bin/python}
OUT=${OUT:-$(mktemp -d -t inertia-gpu-check.XXXXXX)}
LIMIT_SECONDS=480
GOAL_RATIO=1.10
GOAL_METHODS=(overshoot-sgd "overshoot-sgd[fused]" overshoot-adamw "overshoot-adamw[fused]" adamomentum msam
              msam-adamw)
case "$DEVICE" in
  cuda) TRAIN_STEPS=${TRAIN_STEPS:-300}; BENCHMARK=(--repeats 21); DETERMINISM_STEPS=50 ;;
  cpu) TRAIN_STEPS=${TRAIN_STEPS:-10}; BENCHMARK=(--repeats 5 --scale 0.01); DETERMINISM_STEPS=5 ;;
  *) echo "DEVICE=$DEVICE is not allowed; allowed: cuda, cpu" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
TRAINING=(--task mnist5k-vae --optimizer overshoot-sgd --lr 0.001 --momentum 0.9 --overshoot 5 --batch-size 64
          --schedule constant --device "$DEVICE" --autocast bfloat16)

cuda_tests() {
  local status=0
  "$PYTHON" -m pytest tests -q -rs -k cuda -p no:cacheprovider | tee "$OUT/cuda_tests.txt" || status=$?
  [ "$status" -eq 5 ] && { echo "no test named *cuda* was collected"; return 1; }
  [ "$status" -eq 0 ] || return "$status"
  if [ "$DEVICE" = cuda ] && grep -q "no CUDA device" "$OUT/cuda_tests.txt"; then
    echo "a CUDA test skipped for lack of a CUDA device on DEVICE=cuda"; return 1
  fi
  tail -n 1 "$OUT/cuda_tests.txt" > "$OUT/cuda_tests.result"
}

training() {
  "$PYTHON" -m experiments.train "${TRAINING[@]}" --steps "$TRAIN_STEPS" --eval-every "$TRAIN_STEPS" \
    --out "$OUT/training"
  "$PYTHON" - "$OUT/training" > "$OUT/training.result" <<'EOF'
import sys
from experiments import run_directory

directory = sys.argv[1]
summary = run_directory.read_json(f"{directory}/summary.json")
evaluations = [r for r in run_directory.read_metrics(f"{directory}/metrics.jsonl") if r["kind"] == "eval"]
first, last = evaluations[0][summary["metric"]], evaluations[-1][summary["metric"]]
print(f"{summary['steps']} steps, {summary['timing']['steps_per_second']:.1f} steps/s, {summary['metric']} "
      f"{first:.4g} -> {last:.4g}")
if summary["diverged_step"] is not None or not last < first:
    sys.exit(f"the run diverged or did not lower {summary['metric']}")
EOF
  cat "$OUT/training.result"
}

throughput() {
  local dtype
  for dtype in float32 bfloat16; do
    "$PYTHON" benchmarks/optimizer_step.py --device "$DEVICE" --dtype "$dtype" "${BENCHMARK[@]}" \
      --methods "${GOAL_METHODS[@]}" --csv "$OUT/optimizer_step-$dtype.csv"
  done
  "$PYTHON" - "$GOAL_RATIO" "$OUT"/optimizer_step-*.csv > "$OUT/throughput.result" <<'EOF'
import sys
import pandas as pd

goal, missed = float(sys.argv[1]), []
for path in sys.argv[2:]:
    table = pd.read_csv(path)
    ours = table[~table["method"].str.startswith("torch ")]
    print(f"{table['dtype'][0]}: " + ", ".join(f"{row.method} x{row['x torch fused']:.2f}"
                                             for _, row in ours.iterrows()))
    missed += [f"{method} ({table['dtype'][0]})" for method in ours[ours["x torch fused"] > goal]["method"]]
if missed:
    sys.exit(f"over {goal} x torch's fused step: {', '.join(missed)}")
EOF
  cat "$OUT/throughput.result"
}

determinism() {
  local seed run
  for run in first:0 second:0 other-seed:1; do
    seed=${run#*:}
    "$PYTHON" -m experiments.train "${TRAINING[@]}" --steps "$DETERMINISM_STEPS" --eval-every "$DETERMINISM_STEPS" \
      --seed "$seed" --out "$OUT/determinism/${run%:*}" > "$OUT/determinism-${run%:*}.log"
  done
  "$PYTHON" - "$OUT/determinism" > "$OUT/determinism.result" <<'EOF'
import hashlib
import sys

import torch

from experiments import run_directory


def model_sha256(directory: str) -> str:
    """SHA-256 over every tensor of the checkpoint's model, with its name, dtype and shape."""
    digest = hashlib.sha256()
    for name, tensor in sorted(run_directory.load_checkpoint(f"{directory}/checkpoint.pt")["model"].items()):
        digest.update(f"{name} {tensor.dtype} {tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


first, second, other = (model_sha256(f"{sys.argv[1]}/{name}") for name in ("first", "second", "other-seed"))
print(f"sha256 {first[:16]} (run 1) {second[:16]} (run 2) {other[:16]} (seed 1)")
if first != second:
    sys.exit("two identical runs ended with different model tensors")
if first == other:
    sys.exit("another seed gave the same model tensors: the comparison cannot see a difference")
EOF
  cat "$OUT/determinism.result"
}

SUMMARY=()
FAILED=0
check() {  # NAME: run the function NAME in a subshell that stops at its first failing command; log and time it
  local name=$1 started=$SECONDS status
  echo "=== $name"
  set +e
  (set -e; "$name") 2>&1 | tee "$OUT/$name.log"
  status=${PIPESTATUS[0]}
  set -e
  local verdict=PASS detail
  detail=$(cat "$OUT/$name.result" 2>/dev/null || true)
  if [ "$status" -ne 0 ]; then
    verdict=FAIL; FAILED=1; detail="$detail | $(tail -n 1 "$OUT/$name.log")"
  fi
  SUMMARY+=("$(printf '%-12s %s %4d s  %s' "$name" "$verdict" $((SECONDS - started)) "$detail")")
}

echo "gpu_check: DEVICE=$DEVICE OUT=$OUT $("$PYTHON" -c 'import torch; print("torch", torch.__version__,
  torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA")')"
for name in cuda_tests training throughput determinism; do
  check "$name"
done
echo "=== summary (DEVICE=$DEVICE, $SECONDS s in all, limit $LIMIT_SECONDS s)"
printf '%s\n' "${SUMMARY[@]}"
if [ "$SECONDS" -gt "$LIMIT_SECONDS" ]; then
  echo "took $SECONDS s, over the $LIMIT_SECONDS s limit"; FAILED=1
fi
exit "$FAILED"
