#!/usr/bin/env python
"""Write a real data set that is available offline as CSV: a corpus of the text suite
(`--list` names them) or `co2`.

    python tools/corpora.py wordnet --out wordnet.csv [--rows N]
    python tools/corpora.py --list
    python tools/corpora.py co2 --out co2.csv
"""

import sys

from keras_lstm_opt.bench.corpora import main

if __name__ == "__main__":
    sys.exit(main())
