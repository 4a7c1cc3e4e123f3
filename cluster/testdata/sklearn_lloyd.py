"""Writes sklearn_lloyd.json: the oracle for TestFitMatchesScikitLearn.

scikit-learn's Lloyd K-means (float64) on L2-normalised rows, seeded with the
first K unit rows, run to strict convergence. Run from this directory:
    python3 sklearn_lloyd.py   (needs numpy and scikit-learn)
"""
import json

import numpy as np
from sklearn.cluster import KMeans

cases = []
rng = np.random.default_rng(2026)
for name, n, dim, k, spread in [
    ("overlapping 64x64 k4", 64, 64, 4, 0.35),
    ("overlapping 64x16 k4", 64, 16, 4, 0.5),
    ("tail window 37x8 k3", 37, 8, 3, 0.6),
    ("gaussian 128x32 k8", 128, 32, 8, 2.0),
]:
    for attempt in range(50):
        centres = rng.normal(size=(k, dim))
        rows = centres[rng.integers(0, k, size=n)] + spread * rng.normal(size=(n, dim))
        rows *= rng.uniform(0.5, 3.0, size=(n, 1))
        data = rows.astype(np.float32)
        x = data.astype(np.float64)
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        km = KMeans(n_clusters=k, init=x[:k], n_init=1, max_iter=16, tol=0.0, algorithm="lloyd")
        km.fit(x)
        sizes = np.bincount(km.labels_, minlength=k)
        if km.n_iter_ >= 3 and km.n_iter_ < 16 and sizes.min() > 0:
            break
    else:
        raise SystemExit(f"{name}: no converging draw")
    cases.append({
        "name": name, "n": n, "dim": dim, "k": k,
        "data": [float(v) for v in data.ravel()],
        "labels": [int(v) for v in km.labels_],
        "centroids": km.cluster_centers_.tolist(),
        "iters": int(km.n_iter_),
    })
with open("sklearn_lloyd.json", "w") as f:
    json.dump(cases, f)
print("\n".join(f"{c['name']}: {c['iters']} iterations" for c in cases))
