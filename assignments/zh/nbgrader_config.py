"""nbgrader's settings for the Chinese edition of the assignments (nbgrader reads this file from the current folder).

The same course as ``assignments/nbgrader_config.py``, in Chinese: run nbgrader from this
folder (``cd assignments/zh``); ``source/<assignment>/`` holds the Chinese twins of the
English notebooks (the same cells, tests and points). See ../README.md.
"""

import os

c = get_config()  # noqa: F821  (nbgrader provides get_config when it loads this file)

# This folder is the course: source/<assignment>/ holds the notebooks with the answers.
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "transfer-learning-zh"

# Training cells can take longer than nbgrader's default of 30 s per cell on a busy CPU.
c.Execute.timeout = 600  # above the imagenet track's 300 s budget of a3_label_budget
