"""Streamlit pages and widgets only: every number shown is computed by the packages."""
