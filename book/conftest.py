"""pytest settings for the chapters in book/, which nbval re-executes.

nbval's kernels inherit this process's environment: give them the one in which
book/execute_chapters.py produced the stored outputs.
"""

import os

from execute_chapters import KERNEL_ENV

os.environ.update(KERNEL_ENV)
