"""Evaluation protocols: metrics, the test-set adapters (on synthetic files) and the `evaluate` command."""

import csv
import math

from typer.testing import CliRunner

from classifiers.commands import app
from classifiers.evaluation import (
    hatexplain_jewish,
    metrics,
    mhc_jewish,
    recall_at_precision,
    train_reference,
)


def test_metrics():
    m = metrics([True, True, False, False], [0.9, 0.4, 0.6, 0.1], [True, False, True, False])
    assert m == {"rows": 4, "positive": 2, "precision": 0.5, "recall": 0.5, "f1": 0.5, "auc": 0.75}
    assert math.isnan(metrics([False, False], [0.1, 0.2], [False, False])["auc"])


def test_recall_at_precision_counted_by_hand():
    y = [True, True, False, True, False, True]
    s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    # thresholds 0.9 / 0.8: precision 1, recall 1/4 then 2/4; 0.6: 3 of 4 flagged are right (0.75 < 0.8);
    # 0.4: 4 of 6 (0.667). The best recall with precision >= 0.8 is therefore 0.5.
    assert recall_at_precision(y, s, 0.8) == 0.5
    assert recall_at_precision(y, s, 0.6) == 1.0
    assert math.isnan(recall_at_precision([False, False], [0.1, 0.2]))


def test_brier_and_calibration_error_counted_by_hand():
    from classifiers.evaluation import calibration_error, protocol_metrics

    y = [True, False, True, False]
    s = [0.95, 0.91, 0.15, 0.05]
    # bins: [0.9, 1.0) holds 0.95 and 0.91 (mean 0.93, observed 0.5): gap 0.43 over 2 of 4 rows; [0.1, 0.2) holds
    # 0.15 (observed 1): 0.85 over 1 of 4; [0.0, 0.1) holds 0.05 (observed 0): 0.05 over 1 of 4.
    assert calibration_error(y, s) == round((2 * 0.43 + 0.85 + 0.05) / 4, 4) == 0.44
    m = protocol_metrics(y, s, [v >= 0.5 for v in s])
    assert m["brier"] == round((0.05**2 + 0.91**2 + 0.85**2 + 0.05**2) / 4, 4)
    assert m["calibration_error"] == 0.44
    assert calibration_error([True, False], [1.0, 0.0]) == 0.0  # a score of 1.0 falls in the top bin


def _write_csv(path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def test_hatexplain_jewish_keeps_jewish_targets_and_normal_test_posts(tmp_path):
    header = ["post_id", "split", "text", "label", "annotator_labels", "annotator_targets", "targets_majority",
              "target_jewish_any", "target_jewish_majority"]
    _write_csv(tmp_path / "hatexplain_test_val.csv", header, [
        ["1", "test", "synthetic a", "hatespeech", "", "", "", "1", "1"],
        ["2", "test", "synthetic b", "offensive", "", "", "", "1", "1"],
        ["3", "test", "synthetic c", "hatespeech", "", "", "", "0", "0"],  # other target: left out
        ["4", "test", "synthetic d", "normal", "", "", "", "0", "0"],
        ["5", "val", "synthetic e", "hatespeech", "", "", "", "1", "1"],  # validation: left out
    ])
    rows = hatexplain_jewish(tmp_path)
    assert [(r["text"], r["antisemitic"]) for r in rows] == [("synthetic a", True), ("synthetic b", True),
                                                            ("synthetic d", False)]


def test_mhc_jewish_filters_target_per_language(tmp_path):
    header = ["mhc_case_id", "functionality", "test_case", "label_gold", "target_ident"]
    for name in ("german", "polish", "spanish", "portuguese", "arabic"):
        _write_csv(tmp_path / f"hatecheck_cases_final_{name}.csv", header, [
            ["1", "f", f"{name} one", "hateful", "jews"], ["2", "f", f"{name} two", "non-hateful", "Jews"],
            ["3", "f", f"{name} three", "hateful", "women"]])
    per_lang = mhc_jewish(tmp_path)
    assert set(per_lang) == {"de", "pl", "es", "pt", "ar"}
    assert [r["antisemitic"] for r in per_lang["de"]] == [True, False]


def test_reference_model_moves_the_right_way():
    rows = [{"text": f"the jews control the banks {i}", "antisemitic": True} for i in range(10)]
    rows += [{"text": f"the weather is nice today {i}", "antisemitic": False} for i in range(10)]
    scores, flagged = train_reference(rows)(["jews control banks", "nice weather"])
    assert scores[0] > scores[1] and flagged[0] and not flagged[1]


def test_evaluate_refuses_unknown_protocols(tmp_path):
    result = CliRunner().invoke(app, ["evaluate", "--data", str(tmp_path), "-p", "made-up"])
    assert result.exit_code != 0
    assert "unknown protocols" in result.output
