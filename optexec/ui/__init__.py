"""Streamlit widgets and Plotly figures shared by the pages (the only place optexec imports Streamlit)."""
