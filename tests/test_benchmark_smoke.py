"""The optimizer-step benchmark runs end to end at a tiny scale and writes a well-formed table."""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "optimizer_step.py"


@pytest.fixture(scope="module")
def benchmark_module():
    spec = importlib.util.spec_from_file_location("optimizer_step", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_resnet50_shapes_match_the_architecture(benchmark_module):
    shapes = benchmark_module.resnet50_shapes()
    assert len(shapes) == 161
    assert sum(torch.Size(s).numel() for s in shapes) == 25_557_032
    assert shapes[0] == (64, 3, 7, 7) and shapes[-2:] == [(1000, 2048), (1000,)]


def test_every_registered_method_has_a_family_and_a_traffic_count(benchmark_module):
    import optimizers

    for name in optimizers.available():
        assert (name in benchmark_module.SGD_FAMILY) != (name in benchmark_module.ADAM_FAMILY), name
        assert name in benchmark_module.TRAFFIC, name


def test_tiny_run_writes_one_row_per_method_and_baseline(benchmark_module, tmp_path):
    threads = torch.get_num_threads()
    methods = ["sgdm", "msam", "sam", "overshoot-adamw[exact=False]"]
    try:
        benchmark_module.main(["--scale", "0.002", "--repeats", "1", "--threads", "1",
                               "--methods", *methods, "--csv", str(tmp_path / "steps.csv")])
    finally:
        torch.set_num_threads(threads)
    table = pd.read_csv(tmp_path / "steps.csv")
    assert list(table["method"]) == methods + [f"torch {base} {kind}" for base in ("SGD", "AdamW")
                                               for kind in ("default", "foreach", "fused")]
    assert table["x torch default"].notna().all()
    assert (table["ms/step"] > 0).all()
    state = dict(zip(table["method"], table["state B/param"]))
    assert state["msam"] == pytest.approx(4.0) and state["sgdm"] == pytest.approx(4.0)
    assert state["overshoot-adamw[exact=False]"] == pytest.approx(8.0, abs=0.01)
    assert table.loc[table["method"] == "sam", "note"].str.contains("closure").all()


def test_bfloat16_halves_the_bytes_counted_per_parameter(benchmark_module, tmp_path):
    threads = torch.get_num_threads()
    tables = {}
    try:
        for dtype in ("float32", "bfloat16"):
            benchmark_module.main(["--scale", "0.002", "--repeats", "1", "--threads", "1", "--methods", "msam",
                                   "--dtype", dtype, "--csv", str(tmp_path / f"{dtype}.csv")])
            tables[dtype] = pd.read_csv(tmp_path / f"{dtype}.csv").set_index("method")
    finally:
        torch.set_num_threads(threads)
    for column in ("traffic B/param", "state B/param"):
        assert (tables["bfloat16"][column] * 2).to_dict() == pytest.approx(tables["float32"][column].to_dict())
    assert set(tables["bfloat16"]["dtype"]) == {"bfloat16"} and set(tables["bfloat16"]["device"]) == {"cpu"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal where CUDA is absent")
def test_an_absent_gpu_is_refused_before_any_timing(benchmark_module, capsys):
    with pytest.raises(SystemExit):
        benchmark_module.main(["--device", "cuda", "--scale", "0.002", "--repeats", "1"])
    assert "sees no CUDA device" in capsys.readouterr().err
