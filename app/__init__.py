"""Presentation only: the Streamlit pages, the vbc CLI, formatting and reports. Every number
shown is computed by the packages."""
