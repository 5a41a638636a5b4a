"""`python -m keras_lstm_opt.cli ...`: the same as `keras-lstm-opt ...`."""

import sys

from keras_lstm_opt.cli import main

sys.exit(main())
