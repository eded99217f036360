"""tlhelpers: the plumbing behind the transfer-learning course.

Each module does one thing, and the modules stand in layers: a module imports only from
its own layer and the layers below it, and no two modules import each other, directly or
round a loop (``tests/test_layers.py`` checks both on every run). Lowest first:

1. **foundation**: ``settings`` (``course.toml``), ``i18n`` (the language, the translation
   catalog), ``tables`` (DataFrames that show their headers in that language), ``errors``
   (the package's exceptions, under one base), ``verdict`` (what every ``check_*`` returns:
   ``ok``, ``message``, one display), ``config`` (track, paths, seeds), ``quiet`` (TensorFlow's logging),
   ``kernel_stream`` (a kernel's stderr without TensorFlow's early INFO lines),
   ``notebook_client`` (nbclient, without the waits of a missed ZMQ wake-up),
   ``sandbox`` (bubblewrap: a command cut off from the network and the teacher's files),
   ``cell_runner`` (runs a notebook, streaming each executed cell), ``evidence`` (what a
   check sends out of the kernel for the grader to judge again),
   ``display`` (finishing and showing figures), ``keras_internals`` (the private Keras
   attributes the course needs, in one place).
2. **data and models**: ``data`` (datasets, label budgets), ``render`` (Fashion-MNIST in
   the wild), ``backbones`` (the registry), ``pipeline`` (images to backbone inputs),
   ``preprocessing`` (augmentation layers), ``prefetch`` (the downloads).
3. **training**: ``learning_rates``, ``transfer`` (freezing, unfreezing, the classifier),
   ``features`` (cached features, probes), ``discriminative`` (a rate per block),
   ``training`` (compiling, accuracy), ``recipe`` (the fine-tuning recipe), ``serving`` (a model
   of raw images), ``lr_finder``, ``batchnorm``,
   ``saving``, ``live_plot`` (a training callback).
4. **analysis**: ``evaluation``, ``gradcam``, ``inspection``, ``predictions``,
   ``plots_lessons`` (the image grid, the transfer diagram), ``measured`` (the benchmarks'
   results, for lessons to quote).
5. **experiments**: ``strategies`` (scratch, probe, fine-tuning, compared fairly), ``budget``
   (the label-budget experiment of lesson 00),
   ``tuning`` (Keras Tuner: ``space``, ``hypermodel``, ``search``, ``plots``), ``challenges``
   (lesson 07: one module a topic, with its plots).
6. **interface**: ``widgets`` (one module per dashboard).
7. **teaching**: ``checks`` (feedback), ``exercises`` (the answer checks: one module per
   lesson, one per assignment, and ``assignment_checks`` gathering the assignments' for their notebooks),
   ``grading`` (releasing assignments and scoring them, nbgrader's way),
   ``sandboxed_grading`` (each submission in a sandbox, with limits, judged again outside),
   ``nbgrader_sandbox`` (nbgrader's autograde in that sandbox, on copies of what it writes).
8. **command line**: ``__main__``, ``doctor``, ``pretrain``, ``runner``.

Importing the package touches no network and loads no TensorFlow; import the modules you
need.

Example:
    >>> import tlhelpers
    >>> tlhelpers.__version__
    '0.1.0'
    >>> tlhelpers.LAYERS[0][0]
    'foundation'
"""

__version__ = "0.1.0"

# The map above as data, lowest layer first; a module name may end in ".*" for a subpackage.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("settings", "i18n", "tables", "errors", "verdict", "config", "quiet", "kernel_stream", "notebook_client",
                    "sandbox", "cell_runner", "evidence", "display", "keras_internals")),
    ("data and models", ("data", "render", "backbones", "pipeline", "preprocessing", "prefetch")),
    ("training", ("learning_rates", "transfer", "features", "discriminative", "training", "recipe", "serving", "lr_finder",
                  "batchnorm", "saving", "live_plot")),
    ("analysis", ("evaluation", "gradcam", "inspection", "predictions", "plots_lessons", "measured")),
    ("experiments", ("strategies", "budget", "tuning", "tuning.*", "challenges", "challenges.*")),
    ("interface", ("widgets", "widgets.*")),
    ("teaching", ("checks", "exercises", "exercises.*", "grading", "sandboxed_grading", "nbgrader_sandbox")),
    ("command line", ("__main__", "doctor", "pretrain", "runner")),
)
