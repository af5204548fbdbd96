"""Which task does a network solve? Predict a zoo column (the detected class, by default) from the weights.

Features: the flat weight vector, or per-layer statistics. Splits are stratified and by network; scaling and PCA
are fit on the training split only (the seed's scripts fit PCA before splitting, which leaks test data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from weightspace.nets import layer_statistics
from weightspace.zoo.split import own_split
from weightspace.zoo.store import Zoo, ZooError

CLASSIFIERS = ("logreg", "forest", "mlp")
FEATURES = ("flat", "stats")


def _classifier(name: str, seed: int):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    if name == "logreg":
        return LogisticRegression(max_iter=2000, C=1.0)
    if name == "forest":
        return RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=1)
    return MLPClassifier(hidden_layer_sizes=(128,), max_iter=1000, random_state=seed, early_stopping=False)


@dataclass
class ClassifyResult:
    scores: dict[tuple[str, str], float]  # (features, classifier) -> test accuracy
    best: tuple[str, str]
    labels: list[str]
    recall: dict[str, float]  # per class, for the best pair
    confusion: np.ndarray
    chance: float
    n_train: int
    n_test: int

    def as_dict(self, target: str = "task") -> dict:
        """Plain JSON-ready data (what `zoo classify` writes as classify.json)."""
        return {
            "target": target, "scores": {f"{f}+{c}": v for (f, c), v in self.scores.items()},
            "features": list(FEATURES), "classifiers": list(CLASSIFIERS), "best": list(self.best),
            "labels": [str(x) for x in self.labels], "confusion": self.confusion.tolist(), "chance": self.chance,
            "recall": self.recall, "n_train": self.n_train, "n_test": self.n_test,
        }  # fmt: skip


def features_of(zoo: Zoo, kind: str) -> np.ndarray:
    if kind == "flat":
        return zoo.flat().numpy()
    return layer_statistics(zoo.batch().params).numpy()


def classify(
    zoo: Zoo, target: str = "task", test_fraction: float = 0.2, seed: int = 0, epoch: int | None = None
) -> ClassifyResult:
    """Fit every (features, classifier) pair on the zoo's own split if it has one, else a stratified split of its
    networks; report test accuracy."""
    # scikit-learn loads here, not with the package: it costs every `zoo generate` worker 1.6 s otherwise
    from sklearn.decomposition import PCA
    from sklearn.metrics import confusion_matrix
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if target not in zoo.table.columns:
        raise ZooError(f"no column {target!r}; columns: {', '.join(zoo.table.columns)}")
    if "epoch" in zoo.table.columns:  # one row per network: its last (or the chosen) checkpoint
        zoo = zoo.filter(epoch=int(epoch if epoch is not None else zoo.table["epoch"].max()))
    y_text = zoo.table[target].astype(str).to_numpy()
    labels = sorted(set(y_text))
    if len(labels) < 2:
        raise ZooError(f"column {target!r} has one value only; nothing to classify")
    y = np.array([labels.index(v) for v in y_text])
    n_test = max(round(test_fraction * len(y)), len(labels))  # a stratified split needs one per class at least
    if np.bincount(y).min() < 2 or n_test > len(y) - len(labels):
        raise ZooError(f"too few networks to classify {len(labels)} values of {target!r}: give each at least 3")
    if own_split(zoo.table):  # the zoo's own split: its test networks are the test set, the rest train
        test = (zoo.table["split"] == "test").to_numpy()
        idx_train, idx_test = np.flatnonzero(~test), np.flatnonzero(test)
        if not len(idx_train) or not len(idx_test):
            raise ZooError("the zoo's own split leaves no training or no test networks to classify with")
    else:
        idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=n_test, stratify=y, random_state=seed)
    scores, preds = {}, {}
    for kind in FEATURES:
        x = features_of(zoo, kind)
        for name in CLASSIFIERS:
            steps = [StandardScaler()]
            if kind == "flat":  # tens of thousands of weights, a few hundred networks: reduce first
                steps.append(PCA(n_components=min(50, len(idx_train) - 1), random_state=seed))
            model = make_pipeline(*steps, _classifier(name, seed)).fit(x[idx_train], y[idx_train])
            preds[kind, name] = model.predict(x[idx_test])
            scores[kind, name] = float((preds[kind, name] == y[idx_test]).mean())
    best = max(scores, key=scores.get)
    cm = confusion_matrix(y[idx_test], preds[best], labels=range(len(labels)))
    recall = {lab: float(cm[i, i] / cm[i].sum()) if cm[i].sum() else float("nan") for i, lab in enumerate(labels)}
    chance = float(np.bincount(y[idx_train]).max() / len(idx_train))
    return ClassifyResult(scores, best, labels, recall, cm, chance, len(idx_train), len(idx_test))
