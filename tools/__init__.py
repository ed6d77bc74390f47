"""Build tooling of the course (not course content): notebook generation, benchmark, README.

Run from the repository root through ``tasks.py``; students never import it.
"""
