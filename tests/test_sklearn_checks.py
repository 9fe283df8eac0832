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
    rnnfast.HopfieldNetwork(max_iter=5, random_state=0),
    rnnfast.ModernHopfield(),
    rnnfast.BAM(max_iter=5),
    rnnfast.Reservoir(n_reservoir=20, random_state=0),
    rnnfast.ESNRegressor(n_reservoir=20, random_state=0),
    rnnfast.ESNRegressor(n_reservoir=20, readout="rls", random_state=0),
    rnnfast.ESNClassifier(n_reservoir=20, random_state=0),
    rnnfast.NVARRegressor(),
]

# A 2-D X is one sequence whose rows are time steps: each prediction depends on the rows before.
_STATEFUL = {
    "check_methods_sample_order_invariance": "rows are time steps: reordering them changes "
    "the state each prediction sees",
    "check_methods_subset_invariance": "rows are time steps: a subset starts from a different "
    "state",
}


# Pattern memories store binary {0, 1} or bipolar {-1, +1} patterns and refuse other values
# with EncodingError; each of these checks fits on the continuous data it generates, so it stops
# there before testing its property. tests/test_hopfield.py and tests/test_memories.py test the
# same properties (clone, pickling, feature-count errors, NaN, threads) on binary data.
_BINARY_PATTERNS_ONLY = {
    check: "fits on continuous data; only binary/bipolar patterns are accepted"
    for check in (
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_dtype_object",
        "check_estimators_dtypes",
        "check_estimators_fit_returns_self",
        "check_estimators_nan_inf",
        "check_estimators_overwrite_params",
        "check_estimators_pickle",
        "check_estimators_pickle(readonly_memmap=True)",
        "check_f_contiguous_array_estimator",
        "check_fit2d_1feature",
        "check_fit2d_1sample",
        "check_fit2d_predict1d",
        "check_fit_check_is_fitted",
        "check_fit_idempotent",
        "check_fit_score_takes_y",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_n_features_in",
        "check_n_features_in_after_fitting",
        "check_pipeline_consistency",
        "check_positive_only_tag_during_fit",
        "check_readonly_memmap_input",
    )
}

# estimator class name -> {check name: reason it cannot pass}
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "RNNRegressor": {
        **_STATEFUL,
        "check_regressor_multioutput": "predictions keep the model's dtype (float32 by "
        "default), as the engine's outputs do, instead of float64",
    },
    "RNNClassifier": _STATEFUL,
    "HopfieldNetwork": _BINARY_PATTERNS_ONLY,
    "BAM": _BINARY_PATTERNS_ONLY,
    "Reservoir": _STATEFUL,
    "ESNRegressor": _STATEFUL,
    "ESNClassifier": _STATEFUL,
    "NVARRegressor": _STATEFUL,
}


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(type(est).__name__, {}),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
