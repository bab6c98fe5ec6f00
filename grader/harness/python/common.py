# The harness of the Petri grader for Python answers: it imports the student's file, calls its
# functions once per case, and writes the answers. It never scores anything: the grader
# compares the answers with its own. Run as `python -I -B harness.py STUDENT_FILE` in the
# request's folder; the task's `answer(student, case)` follows this part.
import importlib.util
import json
import math
import sys
import time
import traceback

import numpy as np


def load_student(path):
    # Its own module name: a file called select.py must not shadow the standard library's.
    spec = importlib.util.spec_from_file_location("student", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plain(value):
    """numpy values as JSON ones; NaN and infinities as null, as the Rust harness writes them."""
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def image_array(v):
    data = np.asarray(v["data"], dtype=np.float32)
    return data.reshape(int(v["channels"]), int(v["height"]), int(v["width"]))


def image_json(a):
    a = np.asarray(a)
    if a.ndim != 3:
        raise AnswerError(f"returned an array of shape {a.shape}, not an image (channels, height, width)")
    c, h, w = a.shape
    return {"channels": c, "height": h, "width": w, "data": a.reshape(-1)}


def mask_array(v):
    data = np.asarray(v["data"], dtype=np.uint8)
    return data.reshape(int(v["height"]), int(v["width"]))


def mask_json(a):
    a = np.asarray(a)
    if a.ndim != 2:
        raise AnswerError(f"returned a mask of shape {a.shape}, not (height, width)")
    h, w = a.shape
    return {"height": h, "width": w, "data": a.reshape(-1)}


class AnswerError(Exception):
    """An answer of the wrong form, said in the harness's words."""


def describe(error):
    if isinstance(error, AnswerError):
        return f"your function {error}"
    if isinstance(error, MemoryError):
        return "your code ran out of memory (MemoryError)"
    # The student's own frame: the last traceback entry in their file.
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.endswith(STUDENT)]
    where = f" (line {frames[-1].lineno})" if frames else ""
    return f"your code raised {type(error).__name__}{where}: {error}"


def main():
    global STUDENT
    STUDENT = sys.argv[1]
    with open("request.json") as f:
        request = json.load(f)
    try:
        student = load_student(STUDENT)
    except BaseException as error:  # noqa: BLE001 - any failure to import is the answer's
        print(f"petri-harness: {STUDENT} failed to load: {describe(error)}", file=sys.stderr)
        sys.exit(1)
    answers, seconds = [], []
    for case in request.get("cases", []):
        started = time.perf_counter()
        try:
            answer_value = plain(answer(student, case))
        except Exception as error:  # noqa: BLE001 - reported per case, like a Rust panic
            answer_value = {"error": describe(error)}
        seconds.append(time.perf_counter() - started)
        answers.append(answer_value)
    with open("response.json", "w") as f:
        json.dump({"answers": answers, "seconds": seconds}, f, allow_nan=False)


STUDENT = "student.py"
