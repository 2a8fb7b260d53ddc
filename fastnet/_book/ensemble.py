"""Ensembles: several networks' predictions combined by vote."""

import numpy as np


def plurality(predictions, labels):
    """The plurality vote of ``predictions`` (``(networks, n)`` classes) against ``labels`` (``n``):
    ``(accuracy, error_locations, erroneous_predictions)``. Each input's class is the one most networks
    predict, a tie going to the class that the earliest of the tied networks predicted (as
    ``Counter.most_common`` orders them)."""
    labels = np.asarray(labels).astype(np.int64)
    votes = np.zeros((len(labels), int(predictions.max(initial=0)) + 1), dtype=np.int64)
    for row in predictions:
        votes[np.arange(len(labels)), row] += 1
    most = votes.max(axis=1)
    chosen = np.array([next(p for p in predictions[:, i] if votes[i, p] == most[i]) for i in range(len(labels))])
    errors = np.flatnonzero(chosen != labels)
    return 1 - len(errors) / len(labels), errors.tolist(), chosen[errors].tolist()
