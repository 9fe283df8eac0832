"""rnnfast training demo: a GRU learns to forecast a signal, as a scikit-learn estimator.

Run by ``make demo``. Builds windows of a two-tone signal, trains ``RNNRegressor`` (BPTT in the
Rust core) on the first part of the series, and reports the fit time, the loss curve and the R²
of one-step-ahead forecasts on a later stretch it never saw; then shows that the estimator
drops into a scikit-learn ``Pipeline`` and ``GridSearchCV``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import rnnfast
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def windows(series: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ``width``-step window of ``series`` and the value that follows it."""
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], width)[:, :, None]
    return X.astype(np.float32), series[width:]


def main() -> None:
    t = np.arange(4000) * 0.05
    rng = np.random.default_rng(0)
    series = np.sin(t) + 0.5 * np.sin(2.7 * t) + 0.05 * rng.normal(size=t.size)
    X_train, y_train = windows(series[:3000], 30)
    X_test, y_test = windows(series[3000:], 30)

    model = rnnfast.RNNRegressor(
        "gru", hidden_sizes=(32,), learning_rate_init=0.01, max_iter=40, random_state=0
    )
    start = time.perf_counter()
    model.fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    print(f"rnnfast {rnnfast.__version__}, {rnnfast.get_num_threads()} threads")
    print(f"trained {model!r}")
    print(
        f"  {model.n_iter_} epochs over {len(X_train)} windows in {elapsed:.2f} s "
        f"({1e3 * elapsed / model.n_iter_:.1f} ms per epoch)"
    )
    curve = model.loss_curve_
    print(f"  loss {curve[0]:.4f} -> {curve[-1]:.5f}")
    print(f"  R² of one-step forecasts on unseen data: {model.score(X_test, y_test):.4f}")

    # A 2-D X is one sequence (rows are time steps): a scaler can sit in front of the network.
    X_rows = np.column_stack([100 + 20 * series[:-1], np.cos(t[:-1])])
    pipe = make_pipeline(
        StandardScaler(),
        rnnfast.RNNRegressor("gru", (16,), learning_rate_init=0.02, max_iter=60, random_state=0),
    ).fit(X_rows[:2000], series[1:2001])
    print(
        f"Pipeline(StandardScaler, RNNRegressor) R² in-sample: "
        f"{pipe.score(X_rows[:2000], series[1:2001]):.4f}"
    )

    # Ten epochs per candidate keep the search short; the estimator says they do not converge.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    search = GridSearchCV(
        rnnfast.RNNRegressor(learning_rate_init=0.01, max_iter=10, random_state=0),
        {"cell": ["gru", "lstm"], "hidden_sizes": [(8,), (24,)]},
        cv=2,
    ).fit(X_train[::4], y_train[::4])
    print(f"GridSearchCV best: {search.best_params_} (R² {search.best_score_:.4f})")


if __name__ == "__main__":
    main()
