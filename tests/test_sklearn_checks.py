"""scikit-learn's own estimator checks, run on every rnnfast estimator.

Because state flows from one row of a sequence to the next, a few common checks cannot hold for
recurrent models (those that permute or subsample rows, for instance). Every expected failure is
listed here, once, with a one-line reason; each estimator family adds its instances below.
"""

from __future__ import annotations

import rnnfast
from sklearn.utils.estimator_checks import parametrize_with_checks

# Small, fast settings: the common checks fit each estimator dozens of times.
ESTIMATORS: list[object] = [
    rnnfast.RNNRegressor("gru", (8,), max_iter=30, learning_rate_init=0.02, random_state=0),
    rnnfast.RNNClassifier("gru", (8,), max_iter=30, learning_rate_init=0.02, random_state=0),
]

# A 2-D X is one sequence whose rows are time steps: each prediction depends on the rows before.
_STATEFUL = {
    "check_methods_sample_order_invariance": "rows are time steps: reordering them changes "
    "the state each prediction sees",
    "check_methods_subset_invariance": "rows are time steps: a subset starts from a different "
    "state",
}

# estimator class name -> {check name: reason it cannot pass}
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "RNNRegressor": {
        **_STATEFUL,
        "check_regressor_multioutput": "predictions keep the model's dtype (float32 by "
        "default), as the engine's outputs do, instead of float64",
    },
    "RNNClassifier": _STATEFUL,
}


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(type(est).__name__, {}),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
