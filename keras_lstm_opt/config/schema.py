"""The typed experiment configuration: one dataclass per YAML section, with defaults,
help texts and per-key range checks (`min`, `max`, `gt` in each field's metadata).

Every key is optional; missing keys take these defaults, which are also what the bundled
`configs/default.yaml` spells out. This module imports nothing else of the package:
parsing (`parse`), cross-key checks (`checks`) and the tune space (`space`) build on it.

Example:

    cfg = ExperimentConfig(train=TrainConfig(epochs=3))
    layer_units(cfg.model)  # [64]
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

# Values the cross-key checks accept (keras names; see `checks`).
ACTIVATIONS = (
    "tanh",
    "sigmoid",
    "hard_sigmoid",
    "relu",
    "relu6",
    "linear",
    "softsign",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "softplus",
    "exponential",
)
INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "orthogonal",
    "identity",
    "zeros",
    "ones",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "variance_scaling",
)
# The metrics each task reports (without the `val_` prefix): train.monitor, tune.objective.
TASK_METRICS = {"text": ("loss", "accuracy"), "forecast": ("loss", "mae")}


def _f(default: Any, help: str = "", **checks: Any) -> Any:
    """A dataclass field with a help text and range checks (min, max, gt)."""
    meta = {"help": help, **checks}
    if isinstance(default, (list, dict)) or dataclasses.is_dataclass(default):
        return field(default_factory=lambda: _copy(default), metadata=meta)
    return field(default=default, metadata=meta)


def _copy(value: Any) -> Any:
    return copy.deepcopy(value)  # nested defaults must not be shared between instances


@dataclass
class RegularizerConfig:
    l1: float = _f(0.0, "L1 factor", min=0.0)
    l2: float = _f(0.0, "L2 factor", min=0.0)


@dataclass
class RegularizersConfig:
    kernel: RegularizerConfig = _f(RegularizerConfig())
    recurrent: RegularizerConfig = _f(RegularizerConfig())
    bias: RegularizerConfig = _f(RegularizerConfig())
    activity: RegularizerConfig = _f(RegularizerConfig())


@dataclass
class ModelConfig:
    layers: int = _f(1, "number of stacked LSTM layers", min=1, max=16)
    units: int | list[int] = _f(64, "units per layer: one number or one per layer", min=1)
    bidirectional: bool = _f(False, "wrap every LSTM layer in Bidirectional")
    merge_mode: Literal["concat", "sum", "mul", "ave"] = _f("concat")
    embedding_dim: int = _f(32, "embedding size for token inputs", min=1)
    pretrained_embeddings: str | None = _f(
        None,
        "word2vec (text or binary) or GloVe vectors (local or s3://) for the embedding's "
        "rows of the words they know; their size sets embedding_dim; null = none",
    )
    embeddings_trainable: bool = _f(True, "false: the embedding stays as initialised (frozen)")
    input_dropout: float = _f(0.0, "LSTM `dropout` on layer inputs (cuDNN-safe)", min=0.0, max=0.95)
    dropout: float = _f(0.0, "Dropout layer between stacked LSTM layers", min=0.0, max=0.95)
    recurrent_dropout: float = _f(
        0.0, "dropout on the recurrent state (misses cuDNN)", min=0.0, max=0.95
    )
    pooling: Literal["last", "mean", "max_mean"] = _f(
        "last", "last state, masked mean over time, or masked max and mean side by side"
    )
    wide: bool = _f(
        False,
        "token inputs: a bag of hashed token n-grams beside the LSTM, "
        "read by the same head (keras_lstm_opt.models.wide); a series: a linear "
        "autoregression on the window added to the head's output",
    )
    shrink: bool = _f(
        False,
        "a series imported from raw rows: after training, scale the network's departure "
        "from its anchor (the forecast a prediction of the mean step gives) by the "
        "credibility of N training windows, N / (N + 300), and the validation windows' "
        "fit (keras_lstm_opt.models.shrink; train.auto: on)",
    )
    wide_dim: int = _f(
        32, "width of the wide path's n-gram embeddings (train.auto: 64 for class labels)", min=1
    )
    wide_buckets: int = _f(
        131072,
        "hashed n-gram slots of the wide path (train.auto: sized to the training rows' "
        "distinct token pairs, 4096 to 131072)",
        min=1,
    )
    wide_ngrams: int = _f(2, "longest n-gram of the wide path (1 = tokens only)", min=1, max=5)
    wide_subwords: int = _f(
        0,
        "hashed character n-gram slots of the wide path: a second "
        "bag, of the text's words' char n-grams, as fastText "
        "(0 = off; needs the data's vocabulary; train.auto turns it on for "
        "imported words, sized to the vocabulary's n-grams, 4096 to 131072: "
        "+1.3 points on average over 17 corpora, 1.5-2.5x the step time)",
        min=0,
    )
    wide_minn: int = _f(
        2, "shortest character n-gram of a word (with its < > end marks)", min=1, max=10
    )
    wide_maxn: int = _f(5, "longest character n-gram of a word (>= model.wide_minn)", min=1, max=10)
    activation: str = _f("tanh")
    recurrent_activation: str = _f("sigmoid")
    use_bias: bool = _f(True)
    unroll: bool = _f(False)
    use_cudnn: Literal["auto"] | bool = _f("auto")
    kernel_initializer: str = _f("glorot_uniform")
    recurrent_initializer: str = _f("orthogonal")
    unit_forget_bias: bool = _f(True)
    regularizers: RegularizersConfig = _f(RegularizersConfig())
    require_cudnn: bool = _f(False, "fail before training if any LSTM layer would miss cuDNN")
    lstm: Literal["fast", "keras"] = _f(
        "fast",
        "fast = keras_lstm_opt.FastLSTM (fused CPU path, cuDNN on GPU); keras = keras.layers.LSTM",
    )


@dataclass
class DataServiceConfig:
    dispatcher: str | None = _f(
        None,
        "tf.data service dispatcher, e.g. grpc://127.0.0.1:5050 "
        "(from `keras-lstm-opt data serve`); null = read here",
    )
    processing_mode: Literal["parallel_epochs", "distributed_epoch"] = _f(
        "parallel_epochs", "each worker makes whole epochs, or they split one"
    )
    job_name: str | None = _f(None, "share one job between trainers (null = a job each)")


@dataclass
class DataConfig:
    task: Literal["text", "forecast"] = _f(
        "text",
        "embedded dataset used when path is null (with a path, the data's "
        "schema.json gives the task)",
    )
    path: str | None = _f(None, "directory or glob of TFRecord shards; null = embedded data")
    validation_path: str | None = _f(None, "validation shards when path is a glob")
    examples: int = _f(24000, "size of the generated embedded dataset", min=100)
    seed: int = _f(1234, "seed of the embedded dataset", min=0)
    compression: Literal["auto", "GZIP", "ZLIB", "NONE"] = _f("auto", "auto = from schema.json")
    shuffle_files: bool = _f(True)
    parallel_reads: int = _f(-1, "interleave cycle length; -1 = AUTOTUNE", min=-1)
    parse_batch_size: int = _f(256, "records parsed together (vectorised)", min=1)
    cache: str = _f(
        "memory",
        "'memory', 'none', a file path (tf.data cache) or "
        "'snapshot:<dir>' (tf.data snapshot); files are fingerprinted",
    )
    snapshot_compression: Literal["AUTO", "SNAPPY", "GZIP", "NONE"] = _f(
        "AUTO", "compression of 'snapshot:' caches (AUTO = SNAPPY)"
    )
    shuffle_buffer: int = _f(10000, "examples; 0 disables shuffling", min=0)
    batching: Literal["pad", "bucket"] = _f("pad", "pad to the batch max or bucket by length")
    bucket_boundaries: list[int] = _f([], "sequence-length boundaries for batching: bucket")
    max_length: int = _f(0, "longest sequence; 0 = keep all", min=0)
    too_long: Literal["truncate", "error"] = _f(
        "truncate", "a sequence over max_length is cut, or stops with an error"
    )
    validate: bool = _f(True, "check labels, token ids and NaN/Inf in every parsed batch")
    prefetch: int = _f(-1, "batches; -1 = AUTOTUNE, 0 = off", min=-1)
    deterministic: bool = _f(False, "fix element order (slower); true for exact reruns")
    debug_delay_ms: float = _f(
        0.0,
        "add a Python map that sleeps this long per batch (to study an input-bound pipeline)",
        min=0.0,
    )
    threads: int = _f(
        0,
        "tf.data's private thread pool; 0 = the CPUs this process may use "
        "(affinity and cgroup quota), -1 = TensorFlow's shared pool",
        min=-1,
    )
    remote_read: Literal["stage", "stream"] = _f(
        "stage",
        "s3:// shards: 'stage' = download once into stage_dir (parallel, "
        "resumable, checked, reused while the objects' ETags match), 'stream' = read them "
        "straight into tf.data",
    )
    stage_dir: str | None = _f(
        None,
        "local directory for staged shards; null = $KLO_STAGE_DIR or ~/.cache/keras-lstm-opt/stage",
    )
    stage_max_gib: float = _f(
        20.0, "size bound of stage_dir (least recently used shards go first)", gt=0.0
    )
    service: DataServiceConfig = _f(DataServiceConfig())


@dataclass
class TrainConfig:
    epochs: int = _f(10, min=1)
    batch_size: int = _f(128, "global batch size", min=1)
    steps_per_epoch: int = _f(0, "0 = one pass over the data", min=0)
    learning_rate: float = _f(3e-3, gt=0.0, max=10.0)
    optimizer: Literal["adam", "adamw", "rmsprop", "sgd"] = _f("adam")
    weight_decay: float = _f(0.0, "decoupled weight decay (adamw, sgd)", min=0.0)
    momentum: float = _f(0.9, "sgd and rmsprop momentum", min=0.0, max=1.0)
    schedule: Literal["constant", "exponential", "cosine"] = _f("constant")
    warmup_steps: int = _f(0, "linear warm-up steps (cosine)", min=0)
    decay_steps: int = _f(0, "0 = the whole run", min=0)
    decay_rate: float = _f(0.5, "exponential decay factor per decay_steps", gt=0.0, max=1.0)
    reduce_lr_on_plateau: bool = _f(False, "needs schedule: constant")
    plateau_factor: float = _f(0.5, gt=0.0, max=1.0)
    plateau_patience: int = _f(2, min=1)
    clipnorm: float | None = _f(None, gt=0.0)
    global_clipnorm: float | None = _f(1.0, gt=0.0)
    clipvalue: float | None = _f(None, gt=0.0)
    embedding_updates: Literal["lazy", "dense"] = _f(
        "lazy", "adam/adamw: update only the embedding rows a batch touches; dense = all"
    )
    class_weight: Any = _f(
        "none",
        "text: none, balanced (each class weighs rows / (classes x its rows)) or a "
        "mapping {label: weight}; training loss and metrics only",
    )
    trackers: list[Literal["mlflow"]] = _f(
        [], "experiment trackers: [mlflow] (tracking URI from MLFLOW_TRACKING_URI); [] = none"
    )
    trackers_required: bool = _f(
        True, "a tracker that cannot be reached fails the run before training; false = warn"
    )
    early_stopping_patience: int = _f(3, "epochs; 0 = off", min=0)
    monitor: str = _f("val_loss", "metric for early stopping, best checkpoint, plateau")
    restore_best_weights: bool = _f(
        True,
        "end with the best epoch's weights by monitor (model.keras holds them); false = the last",
    )
    auto: bool = _f(
        True,
        "imported text: pooling, embedding size, input dropout, batch size "
        "and monitor chosen from the data where still at their defaults "
        "(config/auto.py; metrics.json `auto`); false = defaults as written",
    )
    precision: Literal["float32", "mixed_float16", "mixed_bfloat16"] = _f("float32")
    steps_per_execution: int = _f(1, min=1)
    jit_compile: bool = _f(False, "XLA-compile the train step")
    seed: int = _f(42, min=0)
    verbose: Literal["auto", "bar", "epoch", "silent"] = _f("auto", "auto = bar on a terminal")
    resume: bool = _f(True, "resume from the run directory's backup if one exists")
    backup_every_seconds: float = _f(
        30.0,
        "a backup when the newest is this old (after a step or at an epoch end; at most "
        "5% of the time in backups; the first epoch end always); 0 = every epoch end",
        min=0.0,
    )
    backup_every_steps: int = _f(0, "also a backup every N steps; 0 = off", min=0)
    nan_rollbacks: int = _f(
        2,
        "on a NaN/Inf loss (or one over max_loss), roll back to the "
        "last backup and lower the learning rate, at most this often",
        min=0,
    )
    nan_lr_factor: float = _f(0.5, "learning-rate factor after each rollback", gt=0.0, max=1.0)
    max_loss: float = _f(0.0, "a step loss above this counts as a blow-up; 0 = off", min=0.0)
    keep_backups: int = _f(
        2, "newest backups kept (an unreadable newest one falls back to the one before)", min=1
    )
    backup_copy_to: str | None = _f(
        None, "second location (local or s3://) that gets a copy of each backup after it is saved"
    )


@dataclass
class DistributeConfig:
    strategy: Literal["auto", "one_device", "mirrored", "multi_worker_mirrored"] = _f(
        "auto",
        "auto = multi-worker when TF_CONFIG names several tasks, mirrored on "
        "several GPUs, else one device",
    )
    cpu_devices: int = _f(
        1, "mirrored without GPUs: split the CPU into N logical devices", min=1, max=64
    )
    implementation: Literal["auto", "ring", "nccl"] = _f("auto", "collective implementation")
    bytes_per_pack: int = _f(0, "pack gradients into chunks of this size; 0 = one pack", min=0)
    gradient_compression: Literal["none", "float16"] = _f(
        "none",
        "float16: gradients at half width on the wire between workers (the model "
        "stays float32; TensorFlow's collectives have no bfloat16)",
    )
    embedding_exchange: Literal["auto", "sparse", "dense"] = _f(
        "auto",
        "sparse: send the embedding rows a step touched, not the whole table; auto = "
        "sparse with lazy embedding updates; dense needs train.embedding_updates: dense",
    )
    timeout_seconds: float = _f(
        600.0,
        "a training step waiting longer for its collectives "
        "fails (a lost worker); 0 = wait forever",
        min=0.0,
    )
    startup_timeout_seconds: float = _f(
        300.0,
        "multi-worker: how long a worker waits for its peers to start (logging the "
        "missing ones every 10 s) before it fails with exit status 138; 0 = wait forever",
        min=0.0,
    )
    intra_op_threads: int = _f(
        0,
        "0 = the CPUs this process may use (affinity and cgroup quota), -1 = TensorFlow's default",
        min=-1,
    )
    inter_op_threads: int = _f(0, "0 = 2 (1 on one CPU), -1 = TensorFlow's default", min=-1)


@dataclass
class TuneConfig:
    tuner: Literal["random", "hyperband", "bayesian"] = _f("random")
    objective: str = _f("val_loss", "metric to optimise (val_loss, val_accuracy, val_mae, ...)")
    direction: Literal["auto", "min", "max"] = _f("auto", "auto = max for accuracy, else min")
    max_trials: int = _f(8, "trials at most (random, bayesian)", min=1)
    executions_per_trial: int = _f(1, min=1)
    epochs: int = _f(3, "epochs per trial (the largest for hyperband)", min=1)
    max_minutes: float = _f(0.0, "wall-clock budget of the search; 0 = none", min=0.0)
    seed: int = _f(7, min=0)
    space: dict[str, Any] = _f(
        {},
        "field -> {choice: [...]} | {int: [lo, hi]} | "
        "{float: [lo, hi], log: true} | {fixed: value}",
    )


@dataclass
class ProfileConfig:
    warmup_steps: int = _f(5, "steps run before timing", min=0)
    steps: int = _f(30, "steps timed in each phase (pipeline, model, both)", min=5)
    capture: bool = _f(True, "capture a TensorBoard profile when xprof is installed")
    memory_gib: float = _f(8.0, "memory to plan the largest batch for", gt=0.0)
    start_step: int = _f(
        0, "train: profile from this step on (TensorBoard's profile tab); 0 = off", min=0
    )
    num_steps: int = _f(10, "train: steps in the profile window", min=1)
    links: list[str] = _f(["10gbit", "1gbit", "100mbit"], "network plan: link rates to plan for")
    workers: list[int] = _f([1, 2, 4, 8], "network plan: worker counts to compare")
    link_efficiency: float = _f(
        0.8,
        "network plan: the all-reduce's fraction of the ring "
        "bound (0.76 to 0.87 measured at 1 Gbit)",
        gt=0.0,
        max=1.0,
    )


@dataclass
class ExperimentConfig:
    model: ModelConfig = _f(ModelConfig())
    data: DataConfig = _f(DataConfig())
    train: TrainConfig = _f(TrainConfig())
    distribute: DistributeConfig = _f(DistributeConfig())
    tune: TuneConfig = _f(TuneConfig())
    profile: ProfileConfig = _f(ProfileConfig())


def layer_units(model: ModelConfig) -> list[int]:
    """Units of each LSTM layer, expanding a single number to every layer."""
    if isinstance(model.units, list):
        return list(model.units)
    return [model.units] * model.layers
