"""The peers datavet is compared with, each a function (data path) -> result dict.

Every peer reads the file itself (pandas; timed as `read_s`), then computes (`compute_s`).
A result holds `flagged` (bool per row) and `score` (float per row, higher = more
suspicious). Settings (documented in docs/benchmarks.md):

  cleanlab   StandardScaler + LogisticRegression() (sklearn defaults), 5-fold stratified
             out-of-fold predict_proba, then cleanlab.filter.find_label_issues (its
             default prune_by_noise_rate); score = 1 - self-confidence label quality.
  datalab    the same out-of-fold pred_probs, then Datalab.find_issues(features=X_std,
             pred_probs=P) with its default issue types; flagged = any is_*_issue;
             score = 1 - min(label_score, outlier_score, near_duplicate_score).
  iforest, ecod, knn
             PyOD with default parameters (contamination 0.1, so 10 % of rows are
             flagged; n_jobs=1) on standardised features; score = decision_scores_.
             IForest gets random_state=0.
  dup_rule   the exact "same features, different label" rule: rows whose feature
             values are identical to another row's but whose label differs; score 0/1.

Time for cleanlab and datalab includes computing the out-of-fold probabilities, which
both need and a user has to produce.
"""
import time
import warnings

import numpy as np
import pandas as pd

LABEL = "label"
warnings.filterwarnings("ignore")  # convergence and deprecation chatter from the peers


def read(path):
    """Feature frame and string labels of a case file (CSV or Parquet)."""
    if path.endswith(".parquet"):
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(path)
    y = df.pop(LABEL).astype(str).to_numpy()
    return df, y


def standardise(df):
    from sklearn.preprocessing import StandardScaler

    X = df.to_numpy(dtype=np.float64)
    return StandardScaler().fit_transform(X)


def oof_pred_probs(X, y):
    """5-fold stratified out-of-fold class probabilities of a logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    classes, yi = np.unique(y, return_inverse=True)
    folds = min(5, int(np.bincount(yi).min())) if len(classes) > 1 else 2
    folds = max(folds, 2)
    P = cross_val_predict(
        LogisticRegression(),
        X,
        yi,
        cv=StratifiedKFold(folds, shuffle=True, random_state=0),
        method="predict_proba",
    )
    return yi, P


def _timed(path, compute):
    t0 = time.perf_counter()
    df, y = read(path)
    t1 = time.perf_counter()
    flagged, score = compute(df, y)
    t2 = time.perf_counter()
    return {
        "flagged": np.asarray(flagged, dtype=bool),
        "score": np.nan_to_num(np.asarray(score, dtype=np.float64), nan=0.0),
        "read_s": t1 - t0,
        "compute_s": t2 - t1,
    }


def cleanlab_peer(path):
    def compute(df, y):
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores

        yi, P = oof_pred_probs(standardise(df), y)
        flagged = find_label_issues(yi, P)
        return flagged, 1.0 - get_label_quality_scores(yi, P)

    return _timed(path, compute)


def datalab_peer(path):
    def compute(df, y):
        from cleanlab import Datalab

        X = standardise(df)
        yi, P = oof_pred_probs(X, y)
        lab = Datalab(data={LABEL: yi}, label_name=LABEL, verbosity=0)
        lab.find_issues(features=X, pred_probs=P)
        issues = lab.get_issues()
        flagged = issues.filter(regex=r"^is_.*_issue$").any(axis=1).to_numpy()
        cols = [c for c in ("label_score", "outlier_score", "near_duplicate_score") if c in issues]
        score = 1.0 - issues[cols].min(axis=1).to_numpy()
        return flagged, score

    return _timed(path, compute)


def _pyod(make):
    def peer(path):
        def compute(df, _y):
            model = make()
            model.fit(standardise(df))
            return model.labels_ == 1, model.decision_scores_

        return _timed(path, compute)

    return peer


def _iforest():
    from pyod.models.iforest import IForest

    return IForest(random_state=0)


def _ecod():
    from pyod.models.ecod import ECOD

    return ECOD()


def _knn():
    from pyod.models.knn import KNN

    return KNN()


def dup_rule_peer(path):
    def compute(df, y):
        key = pd.util.hash_pandas_object(df, index=False).to_numpy()
        frame = pd.DataFrame({"k": key, "y": y})
        n_labels = frame.groupby("k")["y"].transform("nunique").to_numpy()
        flagged = n_labels > 1
        return flagged, flagged.astype(np.float64)

    return _timed(path, compute)


PEERS = {
    "cleanlab": cleanlab_peer,
    "datalab": datalab_peer,
    "iforest": _pyod(_iforest),
    "ecod": _pyod(_ecod),
    "knn": _pyod(_knn),
    "dup_rule": dup_rule_peer,
}


def preload():
    """Import everything the peers use, so that no peer pays for imports in its timing."""
    import cleanlab.filter  # noqa: F401
    import cleanlab.rank  # noqa: F401
    import pyod.models.ecod  # noqa: F401
    import pyod.models.iforest  # noqa: F401
    import pyod.models.knn  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.model_selection  # noqa: F401
    import sklearn.preprocessing  # noqa: F401
    from cleanlab import Datalab

    Datalab(data={LABEL: [0, 1]}, label_name=LABEL, verbosity=0)
