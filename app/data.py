"""Data: what the active dataset holds, its data-quality report, and upload of canonical files."""

import re
import tempfile
from pathlib import Path

import polars as pl
import streamlit as st

from app.charts import quality_chart
from app.state import active_dataset, workspace
from modeling.errors import VbcError
from modeling.ingest import ingest_canonical, validate_dataset, write_quality
from modeling.schema import TABLES

st.title("Data")
ds = active_dataset()
manifest = ds.manifest

st.subheader(f"Dataset: {ds.path.name}")
st.caption(f"Schema version {manifest['schema_version']} · content hash `{manifest['content_hash'][:16]}…` · {ds.path}")
st.dataframe(
    pl.DataFrame([{"table": t, "rows": e["rows"], "file": e["file"], "sha256": e["sha256"][:16] + "…"} for t, e in manifest["tables"].items()]),
    hide_index=True,
    use_container_width=True,
)
with st.expander("Source"):
    st.json(manifest["source"])
problems = ds.verify()
if problems:
    st.error("The files do not match the manifest:\n\n" + "\n".join(f"- {p}" for p in problems))

st.subheader("Data-quality report")
report = ds.quality_report()
if report is None:
    st.info("This dataset has no data-quality report yet (synthetic datasets are written valid by construction).")
    if st.button("Run validation now"):
        with st.spinner("Validating every row..."):
            results = validate_dataset(ds)
            write_quality(ds.path, results)
        st.rerun()
else:
    totals = pl.DataFrame(
        [{"table": t, "rows in": r["rows_in"], "accepted": r["rows_accepted"], "quarantined": r["rows_quarantined"]} for t, r in report["tables"].items()]
    )
    st.dataframe(totals, hide_index=True, use_container_width=True)
    if report["reconciled"]:
        st.success("Rows reconcile: rows in = rows accepted + rows quarantined for every table.")
    else:
        st.error("Rows do not reconcile.")
    if any(r["rows_quarantined"] for r in report["tables"].values()):
        st.altair_chart(quality_chart(report), use_container_width=True)
        table = st.selectbox("Quarantined rows of", [t for t, r in report["tables"].items() if r["rows_quarantined"]])
        q = ds.quarantine(table)
        if q is not None:
            st.dataframe(q.select("_source_row", "_reasons", *[c for c in q.columns if not c.startswith("_")][:8]), hide_index=True, use_container_width=True)
            st.download_button(f"Download quarantined {table} rows (CSV)", q.write_csv(), file_name=f"{table}_quarantine.csv", mime="text/csv")

st.subheader("Load canonical files")
st.markdown(
    "Upload Tuva-style files named after their table: "
    + ", ".join(f"`{t}.csv`" for t in TABLES)
    + " (or `.parquet`). `eligibility` and `medical_claim` are required. Every row is either loaded or quarantined with its reason."
)
name = st.text_input("New dataset name", value="uploaded")
files = st.file_uploader("Files", type=["csv", "parquet"], accept_multiple_files=True)
if st.button("Validate and load", disabled=not files):
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name or ""):
        st.error("Dataset name: use letters, digits, '-' or '_' only.")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            for f in files:
                Path(tmp, f.name).write_bytes(f.getvalue())
            try:
                with st.status("Validating and loading...", expanded=True) as status:
                    result = ingest_canonical(tmp, workspace().dataset_path(name), progress=lambda msg: status.write(msg))
                    status.update(label="Loaded", state="complete")
            except VbcError as exc:
                st.error(str(exc))
            else:
                st.session_state["dataset"] = name
                st.success(f"Loaded into dataset '{name}'. Rows reconcile: {result.reconciled}.")
                st.rerun()
