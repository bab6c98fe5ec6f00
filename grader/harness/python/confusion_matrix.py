

def answer(student, case):
    truth = np.asarray(case["truth"], dtype=np.int64)
    pred = np.asarray(case["pred"], dtype=np.int64)
    matrix = student.confusion_matrix(truth, pred, int(case["classes"]))
    recall = student.per_class_recall(matrix)
    counts = np.asarray(matrix)
    # Counts kept in a float array (np.zeros' default) are still counts.
    if counts.dtype.kind == "f" and np.all(np.isfinite(counts)) and np.all(counts == np.round(counts)):
        counts = counts.astype(np.int64)
    return {"matrix": counts, "recall": recall}
