"""Where files live and how they are written: one home for every layer's storage.

* `paths`: remote or local, and joining run-directory paths of either kind;
* `fs`: the file-system router (local files, fsspec's s3fs, TensorFlow's gfile);
* `storage`: file-system plugins, the up-front check of every path a run names;
* `staging`: remote shards staged to a local directory (checksummed, evicted by size);
* `atomic`: atomic writes (a unique temp name, fsync of file and directory, rename);
* `sync`: a local run directory mirrored to and from a remote one;
* `tempdirs`: temporary directories named by their process, swept after a kill;
* `writable`: whether a directory or file can be written, checked before work starts.

Below the library layer: it imports nothing of the package but `errors` and `logs`.
"""
