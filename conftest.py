"""Repository-wide pytest setup: quiet TensorFlow in notebook kernels and tests alike."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
