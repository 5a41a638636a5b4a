"""Serving a finished run: load it, predict, evaluate, export (the application layer).

* `run.load_run(run_dir) -> Run`: the trained model with its data schema; `Run.predict`
  takes raw inputs (strings, raw series rows or windows) and `Run.evaluate` scores it.
* `evaluate.evaluate_run(run_dir, data=None, out=None)`: metrics on the run's validation
  split or a new raw file, written to evaluation.json (+ PNG charts).
* `predict.predict_file(run_dir, src, out=None)`: streams a raw file through the model
  and writes CSV or JSON Lines.
* `export.export_run(run_dir, fmt, out)`: SavedModel or ONNX for serving elsewhere.

Example:

    run = klo.load_run("runs/wordnet")
    run.predict(["a small domesticated carnivorous mammal"])[0]["label"]   # 'noun.animal'
"""
