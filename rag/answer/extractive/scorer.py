"""The learned parts of the answer step, loaded from ``model/``.

Three models, all fitted by ``python -m eval.train_scorer`` on the training part of the gold sets
(seeded; the validation part is never fitted on):

- ``sentence.txt``: P(a sentence states a gold fact) from ``features.SENTENCE_FEATURES``;
  gradient-boosted trees (LightGBM, Ke et al. 2017), saved in LightGBM's text format.
- ``candidate.txt``: P(a candidate is the answer) from ``features.CANDIDATE_FEATURES``; same.
- ``calibrator.json``: P(the composed answer is right) from ``CONFIDENCE_FEATURES`` of the answer
  (logistic regression: Platt-style calibration of the two models' scores, Platt 1999), with the
  abstention threshold chosen on the validation part for a target error rate (selective question
  answering, Kamath et al. 2020, "Selective Question Answering under Domain Shift", ACL).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

MODEL_DIR = Path(__file__).with_name("model")
CONFIDENCE_FEATURES = (
    "kind",
    "wh",
    "has_value",
    "value_score",
    "value_margin",
    "value_window",
    "value_in_question",
    "value_adjacent",
    "sentence_prob",
    "sentence_margin",
    "s_cov",
    "a_cov",
    "a_names_missing",
    "s_names",
    "win_names",
    "focus_missing",
    "focus_head_missing",
    "measure_missing",
    "q_unknown",
    "n_values",
    "competing",
    "window_missing",
    "value_type",
    "wh_type",
    "value_unit",
    "value_focus",
)
# columns one-hot encoded by the calibrator (a value seen at least ``MIN_CATEGORY_ROWS`` times in
# training gets a column); wh_type = "<wh>:<value type>" lets a linear model learn which types
# answer which interrogatives
CONFIDENCE_CATEGORICAL = ("kind", "wh", "value_type", "wh_type")


@dataclass
class Calibrator:
    """Logistic regression over ``CONFIDENCE_FEATURES`` (one-hot for the categories, as fitted).

    features: the column names it was fitted on (``kind=<k>``/``wh=<w>`` one-hot, then numbers);
    mean/scale: standardisation; coef/intercept: the fitted weights; threshold: abstain below it.
    """

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    threshold: float

    def vector(self, row: dict[str, float | str]) -> list[float]:
        """The fitted columns of one answer's confidence row (``{name: value}``)."""
        out = []
        for name in self.features:
            if "=" in name:
                key, val = name.split("=", 1)
                out.append(1.0 if str(row.get(key)) == val else 0.0)
            else:
                out.append(float(row.get(name, 0.0)))
        return out

    def prob(self, row: dict[str, float | str]) -> float:
        """P(the answer is right), in [0, 1]."""
        z = self.intercept
        for x, m, s, w in zip(self.vector(row), self.mean, self.scale, self.coef):
            z += w * (x - m) / (s or 1.0)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, indent=1)


class Scorer:
    """The three models (see the module docstring).

    raises FileNotFoundError: a model file is missing (run ``python -m eval.train_scorer``).
    """

    def __init__(self, model_dir: Path = MODEL_DIR):
        import lightgbm as lgb

        self.model_dir = Path(model_dir)
        self.sentence_model = lgb.Booster(model_file=str(self.model_dir / "sentence.txt"))
        self.candidate_model = lgb.Booster(model_file=str(self.model_dir / "candidate.txt"))
        self.calibrator = Calibrator(**json.loads((self.model_dir / "calibrator.json").read_text("utf-8")))

    @property
    def threshold(self) -> float:
        return self.calibrator.threshold

    def sentences(self, rows: list[list[float]]) -> list[float]:
        """P(states a gold fact) per sentence row."""
        return _predict(self.sentence_model, rows)

    def candidates(self, rows: list[list[float]]) -> list[float]:
        """P(is the answer) per candidate row."""
        return _predict(self.candidate_model, rows)

    def confidence(self, row: dict[str, float | str]) -> float:
        """P(the composed answer is right)."""
        return self.calibrator.prob(row)


def _predict(model, rows: list[list[float]]) -> list[float]:
    if not rows:
        return []
    import numpy as np

    return model.predict(np.asarray(rows, dtype=np.float64), num_threads=1).tolist()
