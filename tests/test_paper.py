"""The paper's generated parts and its build: macro names, the inverse of the interval format, the comparison of
the papers' numbers with ours, the LaTeX log check (with the log lines it must and must not flag), and the skip
without LaTeX. The built PDF of the smoke results, and a changed result changing its text, are in test_pipeline."""

import json
import math

import pandas as pd
import pytest

from experiments import paper_build, paper_numbers, tables


def test_macro_names_are_letters_only_and_keep_their_source_words():
    assert paper_numbers.macro_name("Verdict", "marginal-momentum/vision") == "VerdictMarginalMomentumVision"
    assert paper_numbers.macro_name("Number", "overshoot", "saved.sgdo-3.mean") == "NumberOvershootSavedSgdoThreeMean"
    assert paper_numbers.macro_name("Comparison", "Momentum-SAM", "inside") == "ComparisonMomentumSAMInside"
    assert paper_numbers.macro_name("Comparison", "count", "") == "ComparisonCount"


@pytest.mark.parametrize("values", [(0.871, 0.862, 0.88), (-0.003, -0.0301, 0.063), (math.nan, math.nan, math.nan)])
def test_parse_ci_inverts_format_ci(values):
    parsed = paper_numbers.parse_ci(tables.format_ci(*values, digits=4))
    assert all((math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=5e-5) for a, b in zip(parsed, values))
    assert all(math.isnan(value) for value in paper_numbers.parse_ci(float("nan")))  # an empty CSV cell


def test_where_a_papers_number_lies():
    assert paper_numbers.where(15.3, 1.5, 19.7) == paper_numbers.INSIDE
    assert paper_numbers.where(23.8, 5.2, 14.2) == paper_numbers.ABOVE
    assert paper_numbers.where(0.27, 0.6, 2.3) == paper_numbers.BELOW
    assert paper_numbers.where(1.0, math.nan, 2.0) == paper_numbers.NO_INTERVAL


def fake_results(root):
    """The few result files the generated parts read: a ledger, two verdicts, Overshoot's averaged savings."""
    (root / "theory").mkdir(parents=True)
    (root / "theory" / "claims.json").write_text(json.dumps(
        [{"id": "a.one", "verdict": "verified"}, {"id": "b.two", "verdict": "refuted"},
         {"id": "c.three", "verdict": "verified"}]))
    for experiment, overall in (("overshoot", "contradicts"), ("marginal-momentum/svag", "cannot decide")):
        (root / experiment / "tables").mkdir(parents=True)
        (root / experiment / "verdict.json").write_text(json.dumps(
            {"experiment": experiment, "overall": overall, "claims": {"primary": overall},
             "numbers": {"gap.mean": 0.5}}))
    pd.DataFrame({"protocol": ["paper", "paper", "tuned"], "method": ["sgdo-3", "sgdo-3", "sgdo-3"],
                  "baseline": ["cm", "nag", "cm"], "reference": [True, False, True], "saved_percent": [8.8, 4.1, 0.0],
                  "low": [5.2, 0.0, 0.0], "high": [14.2, 27.0, 1.5], "paper_percent": [23.8, None, 23.8],
                  "scale": ["ours: small", "ours: small", "ours: small"]}).to_csv(
        root / "overshoot" / "tables" / "steps_saved_average.csv", index=False)
    (root / "overshoot" / "protocol.json").write_text(json.dumps(
        {"analysis": {"claimed_saving_percent": 15, "threshold": 0.95},
         "seeds": {"tuning": [100], "evaluation": [0, 1]},
         "methods": {"cm": {}, "sgdo-3": {}}, "workloads": [
             {"name": "w", "task": "t", "batch_size": 8, "steps": 10, "budget_unit": "steps",
              "search": {"cm": {"lr": {"values": [0.1, 0.2]}}, "sgdo-3": {"reuse": {"method": "cm"}}}}]}))
    return root


def macros(path):
    """``{name: value}`` of a generated numbers.tex."""
    found = {}
    for line in path.read_text().splitlines():
        if line.startswith(r"\newcommand{"):
            name, rest = line[len(r"\newcommand{\\") - 1:].split("}{", 1)
            found[name] = rest.rsplit("}%", 1)[0]
    return found


def test_numbers_come_from_the_result_files_and_follow_them(tmp_path):
    results = fake_results(tmp_path / "results")
    paper_numbers.write(results, tmp_path / "generated")
    found = macros(tmp_path / "generated" / "numbers.tex")
    assert found["LedgerClaims"] == "3" and found["LedgerVerified"] == "2" and found["LedgerRefutedIds"] == "b.two"
    assert found["VerdictOvershoot"] == "contradicts" and found["VerdictMarginalMomentumSvag"] == "cannot decide"
    assert found["VerdictOvershootPrimary"] == "contradicts" and found["NumberMarginalMomentumSvagGapMean"] == "0.5"
    # Overshoot's reference row only: the paper's 23.8 % lies above our [5.2, 14.2]; the tuned protocol is not compared
    assert found["ComparisonCount"] == "1" and found["ComparisonAbove"] == "1" and found["ComparisonInside"] == "0"
    assert found["ComparisonCountOvershoot"] == "1" and found["OvershootClaimPercent"] == "15"
    assert (tmp_path / "generated" / "paper_vs_ours.tex").is_file()
    (results / "overshoot" / "tables" / "steps.tex").write_text("% a table")
    (results / "overshoot" / "tables" / "steps_seeds.tex").write_text("% per seed")
    (results / "marginal-momentum/svag" / "tables" / "gap.tex").write_text("% a table")
    assert paper_numbers.appendix_tables(results).splitlines()[1:] == [  # the paper's order; per-seed tables left out
        r"\subsection{\texttt{overshoot}}\label{app:overshoot}",
        rf"\resulttable{{report}}{{{results}/overshoot/tables/steps}}",
        r"\subsection{\texttt{marginal-momentum/svag}}\label{app:marginal-momentum/svag}",
        rf"\resulttable{{report}}{{{results}/marginal-momentum/svag/tables/gap}}"]
    protocol = pd.read_csv(tmp_path / "generated" / "protocol.csv")
    assert protocol["grid points"].tolist() == [2] and protocol["evaluation seeds"].tolist() == [2]

    # one result file changed: its macros change with it
    path = results / "overshoot" / "tables" / "steps_saved_average.csv"
    frame = pd.read_csv(path)
    frame.loc[0, "high"] = 30.0
    frame.to_csv(path, index=False)
    verdict = json.loads((results / "overshoot" / "verdict.json").read_text())
    (results / "overshoot" / "verdict.json").write_text(json.dumps({**verdict, "overall": "supports"}))
    paper_numbers.write(results, tmp_path / "generated")
    found = macros(tmp_path / "generated" / "numbers.tex")
    assert found["ComparisonInside"] == "1" and found["ComparisonAbove"] == "0"
    assert found["VerdictOvershoot"] == "supports"


LOG = r"""
LaTeX Warning: Reference `tab:missing' on page 3 undefined on input line 120.
Package natbib Warning: Citation `nobody2020' on page 1 undefined on input line 40.
Overfull \hbox (15.2pt too wide) in paragraph at lines 10--12
Overfull \hbox (4.5pt too wide) in paragraph at lines 20--22
Overfull \vbox (12.0pt too high) has occurred while \output is active
Package inertia Warning: Missing result file results/msam/figures/msam_spectrum.pdf on input line 180.
LaTeX Warning: There were undefined references.
"""


def test_log_check_flags_undefined_references_and_wide_boxes_only():
    undefined, overfull = paper_build.log_problems(LOG)
    assert undefined == ["undefined citation nobody2020", "undefined reference tab:missing"]
    boxes, missing = overfull[:2], overfull[2:]
    assert [line.split("(")[1].split("pt")[0] for line in boxes] == ["15.2", "12.0"]  # 4.5 pt is under 10 pt
    assert missing == ["Missing result file results/msam/figures/msam_spectrum.pdf"]
    assert paper_build.log_problems("Overfull \\hbox (9.9pt too wide) in alignment\n") == ([], [])


def test_without_latexmk_the_generated_parts_are_written_and_one_line_says_so(tmp_path, monkeypatch, capsys):
    results = fake_results(tmp_path / "results")
    monkeypatch.setattr(paper_build.shutil, "which", lambda name: None)
    assert paper_build.build(tmp_path / "source", results, tmp_path / "build", tmp_path / "paper.log") == 0
    assert capsys.readouterr().out.strip() == paper_build.SKIPPED and "make system-deps" in paper_build.SKIPPED
    assert (tmp_path / "build" / "generated" / "numbers.tex").is_file()
    assert not (tmp_path / "build" / "paper.pdf").exists()
