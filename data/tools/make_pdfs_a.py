"""Write the PDF documents of the sample knowledge base, part a, and their sidecars.

The PDF text lives here so that the PDFs can be rebuilt byte for byte: the creation
date is fixed, so fpdf2 writes the same file on every run. fpdf2's core fonts are
latin-1 only, hence plain ASCII punctuation and "EUR" throughout.

Usage: python data/tools/make_pdfs_a.py [KB_ROOT]
(KB_ROOT defaults to data/kb, the folder beside this script's folder.)
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

logger = logging.getLogger(__name__)

CREATION_DATE = datetime(2026, 11, 1, 9, 0, 0, tzinfo=UTC)
META_KEYS = (
    "id",
    "title",
    "category",
    "effective_date",
    "last_reviewed",
    "valid_until",
    "amends",
    "owner",
)

# A block is ("h", text), ("p", text) or ("table", [header_row, row, ...]).
Block = tuple[str, object]


@dataclass(frozen=True)
class PdfDoc:
    """One PDF document: where it goes, its sidecar metadata and its body."""

    path: str  # relative to the knowledge-base root
    meta: dict[str, str]
    blocks: list[Block] = field(default_factory=list)


DOCS: list[PdfDoc] = [
    PdfDoc(
        path="compliance/capital-liquidity-reporting-requirements.pdf",
        meta={
            "id": "capital-liquidity-reporting-requirements",
            "title": "Capital and Liquidity Reporting Requirements",
            "category": "regulatory",
            "effective_date": "2025-01-01",
            "last_reviewed": "2026-01-20",
            "owner": "Group Finance - Regulatory Reporting",
        },
        blocks=[
            (
                "p",
                "Standard NM-FIN-09 sets out the prudential requirements of APCA "
                "Rulebook Part 3 (Prudential Requirements for Deposit Takers) and "
                "the calendar on which Northwind Mutual reports its capital and "
                "liquidity position to the APCA.",
            ),
            ("h", "Rule 3.1: Minimum capital ratios"),
            (
                "p",
                "3.1.1 A firm must hold Common Equity Tier 1 (CET1) capital of at "
                "least 4.5% of risk-weighted assets, Tier 1 capital of at least 6% "
                "and total capital of at least 8%.",
            ),
            (
                "p",
                "3.1.2 Northwind Mutual's Pillar 2A requirement set by the APCA is "
                "1.8% of risk-weighted assets, of which at least 1.0% must be met "
                "with CET1.",
            ),
            ("h", "Rule 3.2: Capital buffers"),
            (
                "p",
                "3.2.1 The capital conservation buffer is 2.5% of risk-weighted "
                "assets, held in CET1.",
            ),
            (
                "p",
                "3.2.2 The countercyclical capital buffer rate for Avalon "
                "exposures, set by the Financial Stability Committee of the Bank of "
                "Avalon, is 1.0%.",
            ),
            (
                "p",
                "3.2.3 Northwind Mutual's total CET1 requirement including buffers "
                "is therefore 9.0% of risk-weighted assets. The Board's risk "
                "appetite requires a management buffer of a further 2 percentage "
                "points.",
            ),
            ("h", "Rule 3.3: Leverage and liquidity"),
            (
                "p",
                "3.3.1 The minimum leverage ratio is 3.25%. 3.3.2 The liquidity "
                "coverage ratio (LCR) and the net stable funding ratio (NSFR) must "
                "each be at least 100% at all times. Northwind Mutual's internal "
                "LCR appetite is 130%.",
            ),
            ("h", "Reporting calendar"),
            (
                "table",
                [
                    ["Return", "Frequency", "Due"],
                    [
                        "Capital (own funds) return",
                        "Quarterly",
                        "42 days after quarter end",
                    ],
                    ["Leverage ratio return", "Quarterly", "42 days after quarter end"],
                    ["LCR return", "Monthly", "15 days after month end"],
                    ["NSFR return", "Quarterly", "42 days after quarter end"],
                    ["ICAAP and ILAAP documents", "Annual", "30 April"],
                ],
            ),
            ("h", "Rule 3.6: Breaches"),
            (
                "p",
                "3.6.1 The APCA must be notified within 1 business day if the LCR "
                "falls below 100% or CET1 falls below the total requirement "
                "including buffers. A recovery plan must follow within 10 business "
                "days.",
            ),
        ],
    ),
    PdfDoc(
        path="compliance/countercyclical-buffer-amendment-2026.pdf",
        meta={
            "id": "countercyclical-buffer-amendment-2026",
            "title": "Countercyclical Capital Buffer Increase - Amendment to NM-FIN-09",
            "category": "regulatory",
            "effective_date": "2026-08-01",
            "last_reviewed": "2026-07-15",
            "amends": "capital-liquidity-reporting-requirements",
            "owner": "Group Finance - Regulatory Reporting",
        },
        blocks=[
            (
                "p",
                "On 31 July 2025 the Financial Stability Committee of the Bank of "
                "Avalon raised the countercyclical capital buffer (CCyB) rate for "
                "Avalon exposures. Firms were given the usual 12 months to build "
                "the extra capital, so the new rate is binding from 1 August 2026.",
            ),
            ("h", "Amended rule 3.2.2"),
            (
                "p",
                "The countercyclical capital buffer rate for Avalon exposures rises "
                "from 1.0% to 1.5% of risk-weighted assets.",
            ),
            ("h", "Consequential change to rule 3.2.3"),
            (
                "p",
                "Northwind Mutual's total CET1 requirement including buffers rises "
                "from 9.0% to 9.5% of risk-weighted assets. The 2 percentage point "
                "management buffer is unchanged, so the Board's minimum operating "
                "CET1 ratio becomes 11.5%.",
            ),
            ("h", "Impact"),
            (
                "table",
                [
                    ["Item", "Before 1 Aug 2026", "From 1 Aug 2026"],
                    ["CCyB rate", "1.0%", "1.5%"],
                    ["Total CET1 requirement", "9.0%", "9.5%"],
                    ["Minimum operating CET1 ratio", "11.0%", "11.5%"],
                ],
            ),
            (
                "p",
                "At 30 June 2026 Northwind Mutual reported a CET1 ratio of 17.2%, "
                "so the increase is absorbed without any change to lending plans. "
                "The Financial Stability Committee said it expects to hold the rate "
                "at 1.5% while household debt growth stays above 6% a year.",
            ),
            ("h", "Reporting"),
            (
                "p",
                "The capital return for the quarter ending 30 September 2026 is the "
                "first to show the 1.5% rate. No other clause of NM-FIN-09 changes.",
            ),
        ],
    ),
    PdfDoc(
        path="compliance/mortgage-arrears-forbearance-rules.pdf",
        meta={
            "id": "mortgage-arrears-forbearance-rules",
            "title": "Mortgage Arrears and Forbearance Rules",
            "category": "regulatory",
            "effective_date": "2024-02-01",
            "last_reviewed": "2025-11-03",
            "owner": "Mortgage Collections",
        },
        blocks=[
            (
                "p",
                "This standard applies APCA Rulebook Part 12 (Mortgage Arrears and "
                "Repossession) to all Northwind Home mortgages. Its aim is that "
                "members in payment difficulty are treated fairly and that "
                "repossession is always the last resort.",
            ),
            ("h", "Rule 12.2: Early contact and charges"),
            (
                "p",
                "12.2.1 We must contact the borrower within 15 days of a missed "
                "payment, by phone and in writing, and give them the free APCA "
                "guide Mortgage Arrears: Your Options.",
            ),
            (
                "p",
                "12.2.2 The arrears administration fee must not exceed EUR 25 in "
                "any month, and no more than EUR 150 in any 12 month period. No fee "
                "may be charged while a repayment plan is being kept.",
            ),
            ("h", "Rule 12.3: Forbearance options"),
            (
                "table",
                [
                    ["Option", "Limit"],
                    ["Term extension", "Up to age 75 at end of term"],
                    ["Temporary interest-only", "Up to 6 months, reviewed monthly"],
                    ["Reduced payment arrangement", "Up to 12 months"],
                    ["Capitalisation of arrears", "Once in any 5 year period"],
                ],
            ),
            (
                "p",
                "12.3.2 The borrower must be told in writing how each option "
                "changes the total amount payable.",
            ),
            ("h", "Rule 12.4: Repossession"),
            (
                "p",
                "12.4.1 Legal proceedings for possession must not start until "
                "arrears equal at least 6 monthly payments and at least 12 months "
                "have passed since the first missed payment. 12.4.2 Proceedings "
                "must not start while the borrower has a claim pending with the "
                "Avalon Financial Ombudsman Service about the arrears.",
            ),
            ("h", "Rule 12.5: Shortfall"),
            (
                "p",
                "12.5.1 Any shortfall after sale must be notified to the borrower "
                "within 6 years of the sale; after that the debt is not pursued.",
            ),
        ],
    ),
    PdfDoc(
        path="compliance/mortgage-arrears-fee-cap-amendment.pdf",
        meta={
            "id": "mortgage-arrears-fee-cap-amendment",
            "title": "Amendment to the Mortgage Arrears Rules - arrears fee cap",
            "category": "regulatory",
            "effective_date": "2026-06-01",
            "last_reviewed": "2026-05-20",
            "amends": "mortgage-arrears-forbearance-rules",
            "owner": "Mortgage Collections",
        },
        blocks=[
            (
                "p",
                "APCA Policy Statement PS26/4, published 2 March 2026, lowers the "
                "maximum charges for mortgage arrears with effect from 1 June 2026. "
                "This amendment updates rule 12.2.2 of the Northwind Mutual "
                "Mortgage Arrears and Forbearance Rules.",
            ),
            ("h", "Amended rule 12.2.2"),
            (
                "p",
                "The arrears administration fee must not exceed EUR 15 in any month "
                "(previously EUR 25), and no more than EUR 90 in any 12 month "
                "period (previously EUR 150). No fee may be charged while a "
                "repayment plan is being kept.",
            ),
            ("h", "Reasons"),
            (
                "p",
                "The APCA's cost review found that the average cost of handling a "
                "month of arrears at large lenders had fallen to EUR 11 because "
                "most contact is now digital. Fees above cost breach the rule that "
                "default charges must reflect the reasonable cost of the default.",
            ),
            ("h", "Refunds"),
            (
                "p",
                "Fees charged above EUR 15 in a month between 1 June 2026 and the "
                "date our systems were changed (10 June 2026) were refunded "
                "automatically by 30 June 2026. 1,214 accounts received refunds "
                "totalling EUR 12,140.",
            ),
            ("h", "Unchanged"),
            (
                "p",
                "The 15 day contact rule, the forbearance options and the "
                "repossession thresholds in rules 12.3 and 12.4 are unchanged.",
            ),
        ],
    ),
    PdfDoc(
        path="shared-drive/a-climate-risk-disclosure-rules.pdf",
        meta={
            "id": "apca-climate-risk-disclosure-rules",
            "title": "APCA Climate-Related Financial Disclosure Rules",
            "effective_date": "2026-01-01",
        },
        blocks=[
            (
                "p",
                "Briefing note on APCA Rulebook Part 24 (Climate-Related Financial "
                "Disclosures), which applies from financial years starting on or "
                "after 1 January 2026.",
            ),
            ("h", "Rule 24.1: Scope"),
            (
                "p",
                "24.1.1 The rules apply to every bank, building society and insurer "
                "authorised by the APCA with total assets of more than EUR 5 "
                "billion. Northwind Mutual is in scope.",
            ),
            ("h", "Rule 24.2: Annual disclosure"),
            (
                "p",
                "24.2.1 A firm must publish a climate-related financial disclosure "
                "within 4 months of its financial year end, covering governance, "
                "strategy, risk management and metrics and targets. Northwind "
                "Mutual's first disclosure, for the year 2026, is due by 30 April "
                "2027.",
            ),
            (
                "p",
                "24.2.2 Lenders must report the financed emissions of their "
                "residential mortgage book and the distribution of mortgaged "
                "properties by energy performance rating.",
            ),
            ("h", "Rule 24.3: Scenario analysis"),
            (
                "p",
                "24.3.1 Climate scenario analysis must be carried out at least "
                "every 2 years, including an orderly transition, a disorderly "
                "transition and a hot house world scenario, each over a horizon of "
                "at least 30 years.",
            ),
            ("h", "Rule 24.4: Accountability"),
            (
                "p",
                "24.4.1 A senior manager approved by the APCA must hold "
                "responsibility for climate-related financial risk. At Northwind "
                "Mutual this is the Chief Risk Officer.",
            ),
            (
                "table",
                [
                    ["Milestone", "Date"],
                    ["Gap analysis to Board Risk Committee", "2026-03-31"],
                    ["First scenario analysis", "2026-09-30"],
                    ["First disclosure published", "2027-04-30"],
                ],
            ),
        ],
    ),
    PdfDoc(
        path="products/everyday-account-fee-schedule-2026.pdf",
        meta={
            "id": "everyday-account-fee-schedule-2026",
            "title": "Everyday Account Fee Schedule 2026",
            "category": "product-pricing",
            "effective_date": "2026-01-01",
            "last_reviewed": "2026-10-20",
            "owner": "Retail Products - Current Accounts",
        },
        blocks=[
            (
                "p",
                "Charges for services on Everyday and Everyday Plus current "
                "accounts from 1 January 2026. Services not listed here are free of "
                "charge.",
            ),
            ("h", "Payments"),
            (
                "table",
                [
                    ["Service", "Charge"],
                    ["Instant payment within Avalon", "Free"],
                    ["Euro payment to a SEPA country", "Free"],
                    ["Same-day high-value payment (AvalonPay Urgent)", "EUR 20.00"],
                    ["International payment outside SEPA", "EUR 15.00"],
                    [
                        "Receiving a payment from outside SEPA (over EUR 100)",
                        "EUR 6.00",
                    ],
                    ["Bank draft", "EUR 12.00"],
                    ["Stopping a cheque", "EUR 10.00"],
                ],
            ),
            ("h", "Refused payments"),
            (
                "p",
                "A refused payment fee of EUR 5.00 per item is charged when we "
                "return a direct debit or standing order because there is not "
                "enough money in the account, up to a maximum of EUR 20.00 a month.",
            ),
            ("h", "Cards and cash"),
            (
                "table",
                [
                    ["Service", "Charge"],
                    ["Replacement debit card (first in a year)", "Free"],
                    ["Further replacement cards in the same year", "EUR 5.00"],
                    ["Urgent card delivery", "EUR 15.00"],
                    ["Cash withdrawal at an ATM abroad (Everyday)", "EUR 2.00"],
                    ["Foreign card transaction fee (Everyday)", "2.75%"],
                ],
            ),
            ("h", "Account services"),
            (
                "table",
                [
                    ["Service", "Charge"],
                    ["Copy statement (each)", "EUR 3.00"],
                    ["Status enquiry or bank reference", "EUR 15.00"],
                    ["Audit confirmation letter", "EUR 25.00"],
                    ["Closing the account", "Free"],
                ],
            ),
            (
                "p",
                "Everyday Plus customers pay no foreign transaction fee and no fee "
                "for ATM withdrawals abroad. Charges are taken on the 15th of the "
                "month after they are incurred, with at least 14 days' notice.",
            ),
        ],
    ),
    PdfDoc(
        path="products/anchor-personal-loan-rates.pdf",
        meta={
            "id": "anchor-personal-loan-rates",
            "title": "Anchor Personal Loan Rate Sheet",
            "category": "product-pricing",
            "effective_date": "2026-05-01",
            "last_reviewed": "2026-10-01",
            "owner": "Cards and Loans Product Team",
        },
        blocks=[
            (
                "p",
                "Representative rates for Anchor personal loans for applications "
                "from 1 May 2026. Rates are fixed for the whole term of the loan.",
            ),
            ("h", "Representative APR by loan amount"),
            (
                "table",
                [
                    ["Loan amount", "Representative APR", "Terms"],
                    ["EUR 1,000 to EUR 4,999", "13.9%", "1 to 5 years"],
                    ["EUR 5,000 to EUR 7,499", "9.4%", "1 to 7 years"],
                    ["EUR 7,500 to EUR 15,000", "6.2%", "1 to 7 years"],
                    ["EUR 15,001 to EUR 25,000", "6.9%", "1 to 7 years"],
                ],
            ),
            (
                "p",
                "The rate you are offered depends on your circumstances and credit "
                "history. At least 66% of successful applicants receive the "
                "representative APR or less; others may be offered a higher rate, "
                "up to 29.9% APR.",
            ),
            ("h", "Representative example"),
            (
                "p",
                "Borrow EUR 10,000 over 60 months at a fixed rate of 6.03% a year. "
                "Representative 6.2% APR. 60 monthly repayments of EUR 193.47. "
                "Total amount payable EUR 11,608.20.",
            ),
            ("h", "Existing member discount"),
            (
                "p",
                "Members who have held an Everyday account for 3 years or more "
                "receive 0.3 percentage points off the rate they are offered on "
                "loans of EUR 7,500 or more.",
            ),
            ("h", "Fees"),
            (
                "p",
                "There is no arrangement fee. A late payment fee of EUR 15 applies. "
                "Early settlement terms are in the Anchor loan key terms.",
            ),
        ],
    ),
    PdfDoc(
        path="products/travel-insurance-premiums.pdf",
        meta={
            "id": "travel-insurance-premiums",
            "title": "Travel Insurance Premium Table 2026",
            "category": "product-pricing",
            "effective_date": "2026-01-01",
            "last_reviewed": "2026-06-30",
            "owner": "General Insurance",
        },
        blocks=[
            (
                "p",
                "Premiums for Northwind Travel Insurance policies bought from 1 "
                "January 2026, including Insurance Premium Tax. Prices are per "
                "policy for travellers aged up to 65.",
            ),
            ("h", "Single trip"),
            (
                "table",
                [
                    ["Trip length", "Europe", "Worldwide excl. Americas", "Worldwide"],
                    ["Up to 10 days", "EUR 19", "EUR 32", "EUR 39"],
                    ["11 to 31 days", "EUR 29", "EUR 48", "EUR 59"],
                    ["32 to 90 days", "EUR 54", "EUR 89", "EUR 109"],
                ],
            ),
            ("h", "Annual multi-trip"),
            (
                "table",
                [
                    ["Cover", "Europe", "Worldwide"],
                    ["Individual", "EUR 65", "EUR 119"],
                    ["Couple", "EUR 99", "EUR 179"],
                    ["Family (2 adults, up to 4 children)", "EUR 129", "EUR 229"],
                ],
            ),
            ("h", "Age loadings"),
            (
                "p",
                "Travellers aged 66 to 70 pay 50% more; travellers aged 71 to 80 "
                "pay 120% more. Travellers over 80 can buy single trip cover only, "
                "after a medical screening.",
            ),
            ("h", "Options"),
            (
                "table",
                [
                    ["Option", "Price"],
                    ["Long-stay (45 day trips on annual cover)", "EUR 20"],
                    ["Gadget cover", "EUR 18"],
                    ["Excess waiver", "EUR 12"],
                    ["Winter sports", "see add-on price list"],
                ],
            ),
            (
                "p",
                "Everyday Plus account holders already have European family annual "
                "cover included and can upgrade to worldwide cover for EUR 70 a "
                "year.",
            ),
        ],
    ),
    PdfDoc(
        path="shared-drive/a-card-charges-abroad.pdf",
        meta={
            "id": "card-charges-abroad",
            "title": "Using your Northwind cards abroad - charges",
        },
        blocks=[
            (
                "p",
                "A quick guide to what it costs to use Northwind Mutual cards "
                "outside the Republic of Avalon, for prices in force from 1 April "
                "2026.",
            ),
            ("h", "Paying in euro"),
            (
                "p",
                "Card payments and cash withdrawals in euro anywhere in the euro "
                "area are not foreign transactions, so no foreign transaction fee "
                "applies.",
            ),
            ("h", "Charges for other currencies"),
            (
                "table",
                [
                    ["Card", "Card payment", "ATM withdrawal"],
                    ["Everyday debit card", "2.75%", "2.75% plus EUR 2.00"],
                    ["Everyday Plus debit card", "No fee", "No fee"],
                    [
                        "Compass credit card",
                        "2.75%",
                        "2.75% plus 3% cash fee (min EUR 3)",
                    ],
                ],
            ),
            (
                "p",
                "Cash withdrawals on the Compass credit card are charged interest "
                "at 29.9% a year from the day of the withdrawal.",
            ),
            ("h", "Exchange rate"),
            (
                "p",
                "We use the Visa exchange rate on the day the transaction is "
                "processed. If a shop or ATM offers to charge you in euro instead "
                "of the local currency, say no: their rate is usually worse than "
                "Visa's.",
            ),
            ("h", "Limits"),
            (
                "p",
                "The daily cash limit on debit cards is EUR 600 at home and abroad. "
                "Tell us about your trip in the app so that payments are not "
                "blocked.",
            ),
            ("h", "Lost or stolen cards"),
            (
                "p",
                "Freeze the card in the app and call +35 1 800 204 888, open 24 "
                "hours. An emergency replacement card can be sent abroad for EUR "
                "25.",
            ),
        ],
    ),
]


def _render(doc: PdfDoc) -> FPDF:
    """Lay out one document; the fixed creation date keeps the bytes reproducible."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(CREATION_DATE)
    pdf.set_title(doc.meta["title"])
    pdf.set_author("Northwind Mutual")
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 8, doc.meta["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for kind, content in doc.blocks:
        if kind == "h":
            pdf.ln(2)
            pdf.set_font("Helvetica", "B", 12)
            pdf.multi_cell(0, 7, str(content), new_x="LMARGIN", new_y="NEXT")
        elif kind == "p":
            pdf.set_font("Helvetica", "", 10)
            pdf.multi_cell(0, 5, str(content), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif kind == "table":
            _table(pdf, content)
        else:
            raise ValueError(f"{doc.path}: unknown block kind {kind!r}")
    return pdf


def _table(pdf: FPDF, rows: object) -> None:
    """Draw a simple grid table whose first row is the header."""
    pdf.set_font("Helvetica", "", 9)
    with pdf.table(first_row_as_headings=True, line_height=5) as table:
        for row in rows:
            cells = table.row()
            for text in row:
                cells.cell(text)
    pdf.ln(3)


def _sidecar_text(meta: dict[str, str]) -> str:
    """YAML for the sidecar, keys in a fixed order, dates left as bare ISO dates."""
    unknown = set(meta) - set(META_KEYS)
    if unknown:
        raise ValueError(f"unknown metadata keys: {sorted(unknown)}")
    lines = []
    for key in META_KEYS:
        if key in meta:
            value = meta[key]
            quoted = (
                value if key.endswith(("date", "reviewed", "until")) else f'"{value}"'
            )
            lines.append(f"{key}: {quoted}")
    return "\n".join(lines) + "\n"


def build(kb_root: Path) -> list[Path]:
    """Write every PDF and its ``.meta.yaml`` sidecar under ``kb_root``."""
    written = []
    for doc in DOCS:
        target = kb_root / doc.path
        target.parent.mkdir(parents=True, exist_ok=True)
        _render(doc).output(str(target))
        sidecar = target.with_name(target.name + ".meta.yaml")
        sidecar.write_text(_sidecar_text(doc.meta), encoding="utf-8")
        written.append(target)
        logger.info("wrote %s", target)
    return written


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    default_root = Path(__file__).resolve().parent.parent / "kb"
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else default_root)
