"""KerasTuner search over a config's `tune.space`.

* `search`: the search itself (`keras-lstm-opt tune`, `klo.tune`): tuners, budgets,
  leaderboard and `best.yaml`;
* `launch`: distributed tuning on one host, a chief oracle and tuner workers.
"""
