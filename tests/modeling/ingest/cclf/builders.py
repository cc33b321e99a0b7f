"""Small CCLF deliveries written record by record, for the connector's tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from modeling.ingest.cclf.layouts import load_layouts
from modeling.synth.cclf_writer import format_records

LAYOUTS = load_layouts()
OLD, NEW, OTHER = "1AA0AA0AA00", "2BB0BB0BB00", "3CC0CC0CC00"


def records(file_type: str, rows: list[dict]) -> str:
    frame = pl.DataFrame(rows) if rows else pl.DataFrame()
    return "".join(r + "\n" for r in format_records(frame, LAYOUTS[file_type]).to_list())


def beneficiary(mbi: str, **kw) -> dict:
    return {
        "BENE_MBI_ID": mbi,
        "BENE_DOB": date(1950, 3, 1),
        "BENE_SEX_CD": "2",
        "BENE_RACE_CD": "1",
        "BENE_MDCR_STUS_CD": "10",
        "BENE_DUAL_STUS_CD": "NA",
        "BENE_ORGNL_ENTLMT_RSN_CD": "0",
        **kw,
    }


def header(
    claim: int, mbi: str, paid: float, adj: str, effective: date, provider: str = "100001", **kw
) -> dict:
    return {
        "CUR_CLM_UNIQ_ID": claim,
        "PRVDR_OSCAR_NUM": provider,
        "BENE_MBI_ID": mbi,
        "CLM_TYPE_CD": "40",
        "CLM_FROM_DT": date(2024, 1, 10),
        "CLM_THRU_DT": date(2024, 1, 10),
        "CLM_BILL_FAC_TYPE_CD": "1",
        "CLM_BILL_CLSFCTN_CD": "3",
        "CLM_BILL_FREQ_CD": "1",
        "PRNCPL_DGNS_CD": "E119",
        "CLM_PMT_AMT": paid,
        "CLM_ADJSMT_TYPE_CD": adj,
        "CLM_EFCTV_DT": effective,
        "CLM_BLG_PRVDR_OSCAR_NUM": provider,
        "CLM_BLG_PRVDR_NPI_NUM": "1234567893",
        "DGNS_PRCDR_ICD_IND": "0",
        **kw,
    }


def line(claim: int, mbi: str, paid: float, number: int = 1) -> dict:
    return {
        "CUR_CLM_UNIQ_ID": claim,
        "CLM_LINE_NUM": number,
        "BENE_MBI_ID": mbi,
        "CLM_TYPE_CD": "40",
        "CLM_LINE_FROM_DT": date(2024, 1, 10),
        "CLM_LINE_THRU_DT": date(2024, 1, 10),
        "CLM_LINE_PROD_REV_CTR_CD": "0510",
        "CLM_LINE_HCPCS_CD": "99213",
        "CLM_LINE_SRVC_UNIT_QTY": 1.0,
        "CLM_LINE_CVRD_PD_AMT": paid,
    }


def part_b(
    claim: int, mbi: str, paid: float, adj: str, effective: date, control: str = "CTL0001"
) -> dict:
    return {
        "CUR_CLM_UNIQ_ID": claim,
        "CLM_LINE_NUM": 1,
        "BENE_MBI_ID": mbi,
        "CLM_TYPE_CD": "71",
        "CLM_FROM_DT": date(2024, 1, 12),
        "CLM_THRU_DT": date(2024, 1, 12),
        "CLM_POS_CD": "11",
        "CLM_LINE_FROM_DT": date(2024, 1, 12),
        "CLM_LINE_THRU_DT": date(2024, 1, 12),
        "CLM_LINE_HCPCS_CD": "99214",
        "CLM_LINE_CVRD_PD_AMT": paid,
        "CLM_LINE_ALOWD_CHRG_AMT": paid * 1.25,
        "RNDRG_PRVDR_NPI_NUM": "1234567893",
        "CLM_ADJSMT_TYPE_CD": adj,
        "CLM_EFCTV_DT": effective,
        "CLM_CNTL_NUM": control,
        "CLM_DGNS_1_CD": "I10",
        "DGNS_PRCDR_ICD_IND": "0",
    }


def part_d(claim: int, mbi: str, adj: str, effective: date, quantity: float) -> dict:
    return {
        "CUR_CLM_UNIQ_ID": claim,
        "BENE_MBI_ID": mbi,
        "CLM_LINE_NDC_CD": "00093505601",
        "CLM_TYPE_CD": "01",
        "CLM_LINE_FROM_DT": date(2024, 1, 15),
        "PRVDR_SRVC_ID_QLFYR_CD": "01",
        "CLM_SRVC_PRVDR_GNRC_ID_NUM": "1234567893",
        "CLM_LINE_SRVC_UNIT_QTY": quantity,
        "CLM_LINE_DAYS_SUPLY_QTY": 30,
        "CLM_ADJSMT_TYPE_CD": adj,
        "CLM_EFCTV_DT": effective,
        "CLM_LINE_RX_SRVC_RFRNC_NUM": 555,
        "CLM_LINE_RX_FILL_NUM": "0",
    }


def delivery(folder: Path, stamp: str, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for file_type, text in files.items():
        (folder / f"P.A1234.ACO.ZC{file_type[-1]}Y24.{stamp}").write_text(text)
