"""Runs app.py for AppTest from a folder without a pages/ directory.

Streamlit's AppTest treats a script whose folder holds pages/ as a version-1 multipage app on
reruns (widgets of the main script then vanish); st.navigation apps are not meant to take that
path, so the tests start the real app.py from here.
"""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parents[1] / "app.py"), run_name="__main__")
