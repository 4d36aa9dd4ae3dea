"""The real MMS 0.x loader as a test oracle: installed from the package registry, run only in a
limited child process (see harness.py)."""
