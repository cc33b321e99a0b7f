"""Data: what the active dataset holds, its data-quality report, and upload of canonical files."""

import tempfile
from pathlib import Path

import polars as pl
import streamlit as st

from app import access
from app.access import Right
from app.charts import cclf_lines_chart, quality_chart
from app.export import offer_download
from app.state import active_dataset, dataset_problems, workspace
from app.tables import scroll_hint
from app.uploads import allowed_roots, save_uploads, server_folder
from modeling.errors import VbcError
from modeling.ingest.canonical import ingest_canonical, validate_dataset, write_quality
from modeling.ingest.cclf import ingest_cclf
from modeling.ingest.cclf.reconciliation import (
    files_by_type,
    read_line_quarantine,
    read_reconciliation,
)
from modeling.schema import TABLES


def load_into(name: str, uploads, label: str, loader, unit: str, *, kind: str) -> None:
    """Save the uploads to a scratch folder under generated names, run ``loader(folder,
    dataset_path, progress)`` and open the result."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            target = workspace().dataset_path(name)
            save_uploads(uploads, Path(tmp), kind=kind)
            with st.status(label, expanded=True) as status:
                result = loader(Path(tmp), target, lambda msg: status.write(msg))
                status.update(label="Loaded", state="complete")
        except VbcError as exc:
            st.error(str(exc))
            return
    st.session_state["dataset"] = name
    st.success(f"Loaded into dataset '{name}'. {unit} reconcile: {result.reconciled}.")
    st.rerun()


access.require(Right.ADMIN, "the Data page (datasets are managed by the admin)")
st.title("Data")
ds = active_dataset()
manifest = ds.manifest

st.subheader(f"Dataset: {ds.path.name}")
st.caption(
    f"Schema version {manifest['schema_version']} · content hash `{manifest['content_hash'][:16]}…` · {ds.path}"
)
st.dataframe(
    pl.DataFrame(
        [
            {"table": t, "rows": e["rows"], "file": e["file"], "sha256": e["sha256"][:16] + "…"}
            for t, e in manifest["tables"].items()
        ]
    ),
    hide_index=True,
    use_container_width=True,
)
with st.expander("Source"):
    st.json(manifest["source"])
problems = dataset_problems(ds)
if problems:
    st.error("The files do not match the manifest:\n\n" + "\n".join(f"- {p}" for p in problems))

st.subheader("Data-quality report")
report = ds.quality_report()
if report is None:
    st.info(
        "This dataset has no data-quality report yet (synthetic datasets are written valid by construction)."
    )
    if st.button("Run validation now"):
        with st.spinner("Validating every row..."):
            results = validate_dataset(ds)
            write_quality(ds.path, results)
        st.rerun()
else:
    totals = pl.DataFrame(
        [
            {
                "table": t,
                "rows in": r["rows_in"],
                "accepted": r["rows_accepted"],
                "quarantined": r["rows_quarantined"],
            }
            for t, r in report["tables"].items()
        ]
    )
    st.dataframe(totals, hide_index=True, use_container_width=True)
    if report["reconciled"]:
        st.success("Rows reconcile: rows in = rows accepted + rows quarantined for every table.")
    else:
        st.error("Rows do not reconcile.")
    if any(r["rows_quarantined"] for r in report["tables"].values()):
        st.altair_chart(quality_chart(report), use_container_width=True)
        table = st.selectbox(
            "Quarantined rows of", [t for t, r in report["tables"].items() if r["rows_quarantined"]]
        )
        q = ds.quarantine(table)
        if q is not None:
            access.record_view(f"Data: quarantined {table} rows", q)
            st.dataframe(
                q.select(
                    "_source_row", "_reasons", *[c for c in q.columns if not c.startswith("_")][:8]
                ),
                hide_index=True,
                use_container_width=True,
            )
            offer_download(
                f"Download quarantined {table} rows (CSV)",
                q,
                file_name=f"{table}_quarantine.csv",
                person_level=True,
            )

cclf = read_reconciliation(ds.path)
if cclf is not None:
    st.subheader("CCLF reconciliation")
    by_type = files_by_type(cclf["files"])
    st.caption(
        "Every line of every CCLF file: loaded, superseded by a later version, part of a claim that netted to cancelled, quarantined with its reason, read but not loaded (CCLF0 counts, benefit-enhancement files), or in a file refused as a whole (the reason is below)."
    )
    st.dataframe(by_type, hide_index=True, use_container_width=True)
    if cclf["reconciled"]:
        st.success(
            "Lines reconcile: for every file, lines read = loaded + superseded + cancelled + quarantined + not loaded + in a refused file."
        )
    else:
        st.error("Lines do not reconcile; see the per-file report below.")
    st.altair_chart(cclf_lines_chart(by_type), use_container_width=True)
    for f in [f for f in cclf["files"] if f["refused"]]:
        st.error(f"Refused: {f['refused']}")
    counts = cclf.get("cclf0_record_counts", [])
    if counts:
        off = [c for c in counts if not c["matches"]]
        (st.warning if off else st.info)(
            f"CCLF0 record counts: {len(counts) - len(off)} of {len(counts)} match their files."
        )
    with st.expander("Per-file report"):
        files_frame = pl.DataFrame(cclf["files"], infer_schema_length=None)
        st.dataframe(files_frame, hide_index=True, use_container_width=True)
        scroll_hint(files_frame)
        offer_download(
            "Download the per-file report (CSV)",
            files_frame,
            file_name="cclf_reconciliation.csv",
            person_level=False,
        )
    q = read_line_quarantine(ds.path)
    if q is not None and q.height:
        access.record_view("Data: quarantined CCLF lines", q)
        st.markdown(f"**{q.height:,} quarantined CCLF lines**")
        st.dataframe(q.head(1_000), hide_index=True, use_container_width=True)
        offer_download(
            "Download quarantined CCLF lines (CSV)",
            q,
            file_name="cclf_quarantine.csv",
            person_level=True,
        )

st.subheader("Load CCLF files")
st.markdown(
    "Upload a CMS delivery zip (or the CCLF files themselves), or give a folder on the server. Files are recognized by CMS's "
    "names (`P.A1234.ACO.ZC1Y24.D240115.T1234567`) or names containing `CCLF1` … `CCLF9`; MBIs are mapped through CCLF9 and "
    "claim versions resolved (the latest version stands; cancelled claims are dropped and counted)."
)
cclf_name = st.text_input("New dataset name", value="cclf", key="cclf_name")
cclf_files = st.file_uploader("CCLF zip or files", accept_multiple_files=True, key="cclf_files")
roots = allowed_roots()
cclf_folder = st.text_input(
    "…or a folder on the server"
    + (f" (below {', '.join(str(r) for r in roots)})" if roots else " (off in this deployment)"),
    value="",
    key="cclf_folder",
    disabled=not roots,
    help=None if roots else "Off: an administrator enables it with VBC_SERVER_FOLDER_ROOT.",
)
cclf_replace = st.checkbox("Replace the dataset of that name if it exists", key="cclf_replace")
if st.button("Read CCLF", disabled=not (cclf_files or cclf_folder.strip())):
    folder = None
    try:
        if cclf_folder.strip() and not cclf_files:
            folder = server_folder(cclf_folder, roots)
    except VbcError as exc:
        st.error(str(exc))
    else:
        load_into(
            cclf_name,
            cclf_files or [],
            "Reading CCLF files...",
            lambda tmp, out, say: ingest_cclf(
                folder or tmp, out, progress=say, overwrite=cclf_replace
            ),
            "Lines",
            kind="cclf",
        )

st.subheader("Load canonical files")
st.markdown(
    "Upload Tuva-style files named after their table: "
    + ", ".join(f"`{t}.csv`" for t in TABLES)
    + " (or `.parquet`). `eligibility` and `medical_claim` are required. Every row is either loaded or quarantined with its reason."
)
name = st.text_input("New dataset name", value="uploaded")
files = st.file_uploader("Files", type=["csv", "parquet"], accept_multiple_files=True)
encoding = st.selectbox(
    "Text encoding of the CSV files",
    ["utf-8", "cp1252", "latin-1", "utf-16"],
    help="UTF-8 unless the files say otherwise; text is never decoded lossily.",
)
canonical_replace = st.checkbox("Replace the dataset of that name if it exists", key="c_replace")
if st.button("Validate and load", disabled=not files):
    load_into(
        name,
        files,
        "Validating and loading...",
        lambda tmp, out, say: ingest_canonical(
            tmp,
            out,
            progress=say,
            overwrite=canonical_replace,
            encoding=None if encoding == "utf-8" else encoding,
        ),
        "Rows",
        kind="canonical",
    )
