"""Off-the-shelf offensive-language classifiers, scored beside Vigil in `vigil evaluate` when they are installed.

alt-profanity-check and hatesonar ship their models inside their packages (nothing is downloaded) and are not
runtime dependencies: `pip install -e '.[peers]'` adds them. They come pre-trained, so a protocol only scores its
test rows with them, and isca-cv scores every ISCA row once (no fold trains them). Each keeps its own decision
rule for precision, recall and F1; AUC and recall at precision 0.8 compare rankings across models.

hatesonar's model normalises text with the en_US.UTF-8 locale; where the machine has not generated it
(`locale-gen`), the peer is reported unavailable with onnxruntime's reason instead of failing the evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Scorer = Callable[[Sequence[str]], tuple[np.ndarray, np.ndarray]]  # texts -> (scores, flagged)
HATE_CLASS = "hate_speech"


def _alt_profanity_check() -> Scorer:
    """alt-profanity-check: score = its probability of offensive; flagged by its own predict()."""
    from profanity_check import predict, predict_prob

    def score(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        texts = list(texts)
        return np.asarray(predict_prob(texts), dtype=float), np.asarray(predict(texts)).astype(bool)
    return score


def _hatesonar() -> Scorer:
    """hatesonar (Davidson et al. 2017's classes): score = confidence of its hate_speech class; flagged when
    hate_speech is its top class (offensive language alone is not hate)."""
    from hatesonar import Sonar

    sonar = Sonar()

    def score(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        results = [sonar.ping(text) for text in texts]  # Sonar's public API scores one text per call
        scores = [next(c["confidence"] for c in r["classes"] if c["class_name"] == HATE_CLASS) for r in results]
        return np.asarray(scores, dtype=float), np.array([r["top_class"] == HATE_CLASS for r in results], dtype=bool)
    return score


PEERS: dict[str, Callable[[], Scorer]] = {"alt_profanity_check": _alt_profanity_check, "hatesonar": _hatesonar}
# Each peer's score and decision rule, as the model card states them.
RULES = {"alt_profanity_check": "its predict_prob, flagged by its own predict",
         "hatesonar": f"its {HATE_CLASS} confidence, flagged when {HATE_CLASS} is its top class"}


def peer_scorers(peers: dict[str, Callable[[], Scorer]] | None = None) -> tuple[dict[str, Scorer], dict[str, str]]:
    """(scorers of the peers that load, {name: "scored" or why it was left out}) for `peers` (default PEERS).

    A peer that is not installed or fails to load is left out with the reason; the evaluation goes on.
    """
    scorers, status = {}, {}
    for name, load in (PEERS if peers is None else peers).items():
        try:
            scorers[name] = load()
        except ImportError as exc:
            status[name] = f"not installed ({exc.name or exc}); pip install -e '.[peers]'"
        except Exception as exc:  # noqa: BLE001 - a broken peer is reported, never fatal to the evaluation
            status[name] = f"failed to load: {type(exc).__name__}: {str(exc).strip()[:300]}"
        else:
            status[name] = "scored"
    return scorers, status
