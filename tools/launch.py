#!/usr/bin/env python
"""The multi-worker launcher and cluster manifests: `keras-lstm-opt launch`, as a script.

    python tools/launch.py --workers 2 -- keras-lstm-opt train multiworker --run-dir runs/mw

See `keras-lstm-opt launch --help` (keras_lstm_opt/cli/launch.py).
"""

import sys

from keras_lstm_opt.cli.launch import main

if __name__ == "__main__":
    sys.exit(main(prog="launch.py"))
