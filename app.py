"""optexec: the pre-trade execution planner (streamlit run app.py).

One file, two roles. ``streamlit run app.py`` finds ``app`` below (an ``st.App``) and serves this same file
through it, with the security headers of ``optexec.ui.headers``; every browser session then runs the file as
``__main__``, which draws the sidebar ticket and the page.
"""

from pathlib import Path

import streamlit as st

if __name__ != "__main__":  # imported by the server (streamlit run's ASGI mode): the app with its headers
    import os

    # One BLAS thread in the server, set before numpy and scipy load (they have not yet here) unless the operator
    # set it: the model's matrices are tiny (the multiscale strategy's 6 x 6 Hamiltonian), and OpenBLAS's threads
    # made one scipy.linalg.expm of it take 3-8 ms instead of 10 us on a busy 2-core machine (issue 17: most of a
    # sensitivity sweep). Same numbers: the sweep and the plans were checked equal to the last bit either way.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    from starlette.middleware import Middleware

    from optexec.ui.headers import SecurityHeaders
    from optexec.ui.sweep_jobs import MarkRequests

    app = st.App(__file__, middleware=[Middleware(SecurityHeaders), Middleware(MarkRequests)])
else:  # a session's run of the script
    from optexec.ui.state import (
        freeze_startup_objects,
        keep_page_inputs,
        prefetch_sweep,
        publish_ticket,
        retract_ticket,
        show_notices,
    )
    from optexec.ui.sweep_jobs import busy

    PAGES = Path(__file__).resolve().parent / "pages"

    st.set_page_config(
        page_title="optexec · pre-trade planner", page_icon=":material/stacked_line_chart:", layout="wide"
    )
    DATA_PAGE = st.Page(PAGES / "data.py", title="Data", icon=":material/database:")
    navigation = st.navigation(
        [
            st.Page(PAGES / "plan.py", title="Plan", icon=":material/route:", default=True),
            st.Page(PAGES / "compare.py", title="Compare", icon=":material/compare_arrows:"),
            st.Page(PAGES / "sensitivity.py", title="Sensitivity", icon=":material/tune:"),
            st.Page(PAGES / "simulate.py", title="Simulate", icon=":material/casino:"),
            st.Page(PAGES / "basket.py", title="Basket", icon=":material/shopping_basket:"),
            st.Page(PAGES / "rl.py", title="RL agent", icon=":material/smart_toy:"),
            st.Page(PAGES / "calibrate.py", title="Calibrate", icon=":material/model_training:"),
            st.Page(PAGES / "posttrade.py", title="Post-trade", icon=":material/fact_check:"),
            DATA_PAGE,
        ]
    )
    with busy():  # the Sensitivity page's sweep computed ahead waits meanwhile (optexec.ui.sweep_jobs)
        ticket = publish_ticket()
        show_notices(ticket, DATA_PAGE)
        keep_page_inputs()
        try:
            navigation.run()
        finally:
            retract_ticket()
            freeze_startup_objects()
    prefetch_sweep(ticket, navigation.url_path)
