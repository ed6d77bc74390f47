"""Helper package of the ML model security course.

One module per concern; every public function names the lab that introduces it.
"""

__version__ = "0.1.0"
