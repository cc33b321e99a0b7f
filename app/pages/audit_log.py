"""Audit log (admin only): who viewed or exported person-level data, who was refused, and the
store's own entries (saved scenarios, registered models), newest first."""

import polars as pl
import streamlit as st

from app import access
from app.access import Right
from app.state import workspace

access.require(Right.ADMIN, "the audit log")
st.title("Audit log")
st.caption(
    "Every view of person-level data, every export, every refusal and every change to the "
    "workspace store, as the store recorded it (append-only). Times are UTC."
)
limit = st.select_slider("Entries", options=[100, 1_000, 10_000, 100_000], value=1_000)
with workspace().store(read_only=True) as store:
    entries = store.audit_log(limit=limit)
log = pl.DataFrame(
    {
        "when (UTC)": [e.at for e in entries],
        "who": [e.actor for e in entries],
        "action": [e.action for e in entries],
        "what": [str(e.detail.get("what") or e.detail.get("file") or "") for e in entries],
        "people": [e.detail.get("people") for e in entries],
        "dataset": [e.detail.get("dataset") for e in entries],
        "detail": [
            ", ".join(
                f"{k}={v}"
                for k, v in e.detail.items()
                if k not in ("what", "file", "people", "dataset")
            )
            for e in entries
        ],
    },
    schema_overrides={"people": pl.Int64, "dataset": pl.String},
)
users = sorted(set(log["who"].to_list()))
who = st.multiselect("People", users, default=[])
shown = log.filter(pl.col("who").is_in(who)) if who else log
c1, c2, c3 = st.columns(3)
c1.metric("Entries shown", f"{shown.height:,}")
c2.metric("People in the log", f"{len(users):,}")
c3.metric("Exports", f"{shown.filter(pl.col('action') == 'export').height:,}")
st.markdown("**By person**")
st.table(
    shown.group_by("who")
    .agg(
        pl.len().alias("entries"),
        (pl.col("action") == "view").sum().alias("views"),
        (pl.col("action") == "export").sum().alias("exports"),
        pl.col("action").str.starts_with("refused").sum().alias("refusals"),
        pl.col("when (UTC)").max().alias("last"),
    )
    .sort("who")
    .to_pandas()
    .set_index("who")
)
st.markdown("**Entries, newest first**")
st.dataframe(shown, hide_index=True, width="stretch")
