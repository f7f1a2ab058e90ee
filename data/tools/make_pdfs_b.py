"""Build the PDF documents of the sample knowledge base, half b (historical, concepts).

The PDFs are generated rather than hand-made so that their source text lives in git as
reviewable text and a rebuild gives byte-identical files: the creation date is fixed and
nothing depends on the clock. fpdf2 core fonts are latin-1 only, so the text is plain
ASCII (no curly quotes, dashes or currency symbols).

Usage: python data/tools/make_pdfs_b.py
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import yaml
from fpdf import FPDF

logger = logging.getLogger(__name__)

KB_ROOT = Path(__file__).resolve().parents[1] / "kb"
CREATED = dt.datetime(2026, 1, 5, 9, 0, 0, tzinfo=dt.UTC)

# A block is (kind, payload): "h1"/"h2"/"p"/"li" take a string, "table" a list of rows.
Block = tuple[str, object]


@dataclass(frozen=True)
class PdfDoc:
    """One PDF to write: where it goes, its sidecar metadata and its content."""

    path: str  # relative to the knowledge-base root
    meta: dict[str, object]
    blocks: tuple[Block, ...]


def _d(iso: str) -> dt.date:
    return dt.date.fromisoformat(iso)


ANNUAL_REPORT_2022 = PdfDoc(
    path="reports/annual-report-2022.pdf",
    meta={
        "id": "annual-report-2022",
        "title": "Northwind Mutual Annual Report and Accounts 2022",
        "category": "historical",
        "effective_date": _d("2023-03-23"),
        "owner": "Group Finance",
    },
    blocks=(
        ("h1", "Northwind Mutual Annual Report and Accounts 2022"),
        (
            "p",
            "Published on 23 March 2023 for the financial year ended 31 December 2022.",
        ),
        ("h2", "Chair's statement"),
        (
            "p",
            "Dr Amara Okafor became Chair on 1 July 2022, succeeding Tobias Renwick, "
            "who retired after six years in the role. Membership grew to 1,031,500. "
            "The Bank of Avalon raised its base rate four times during 2022, from "
            "0.25% to 3.00%, as inflation in Avalon peaked at 10.4% in October.",
        ),
        ("h2", "Financial highlights"),
        (
            "table",
            [
                ["Measure", "2022", "2021"],
                ["Profit before tax", "EUR 94.2 million", "EUR 72.9 million"],
                ["Net interest income", "EUR 341.7 million", "EUR 309.5 million"],
                ["Net interest margin", "1.71%", "1.58%"],
                ["Total assets", "EUR 16.4 billion", "EUR 15.9 billion"],
                ["Mortgage balances", "EUR 12.6 billion", "EUR 12.0 billion"],
                ["Member deposits", "EUR 13.5 billion", "EUR 13.3 billion"],
                ["CET1 ratio", "16.9%", "16.6%"],
                ["Total capital ratio", "20.3%", "20.0%"],
                ["Leverage ratio", "5.4%", "5.3%"],
            ],
        ),
        ("h2", "Cost of living support"),
        (
            "p",
            "We created a Mortgage Support Team of 45 specialists in October 2022. "
            "By the year end it had helped 1,940 members, mostly with temporary term "
            "extensions or a switch to part interest-only payments. Arrears of three "
            "months or more stayed low at 0.41% of mortgage accounts.",
        ),
        ("h2", "Products and service"),
        (
            "p",
            "We stopped offering the Northwind Home Offset mortgage to new borrowers "
            "on 1 September 2022. In October a keying error put the wrong rate on the "
            "two-year Fixed-Term Bond for nine days; we honoured the higher rate at a "
            "cost of EUR 142,000. Six branches closed in the first half of the year, "
            "leaving 44. Member complaints were 10,980.",
        ),
        ("h2", "People and Member Reward"),
        (
            "p",
            "Average headcount was 2,330. The Member Reward scheme returned EUR 9.8 "
            "million to members through better rates and fee-free services.",
        ),
    ),
)

ANNUAL_REPORT_2025 = PdfDoc(
    path="reports/annual-report-2025.pdf",
    meta={
        "id": "annual-report-2025",
        "title": "Northwind Mutual Annual Report and Accounts 2025",
        "category": "historical",
        "effective_date": _d("2026-03-26"),
        "owner": "Group Finance",
    },
    blocks=(
        ("h1", "Northwind Mutual Annual Report and Accounts 2025"),
        (
            "p",
            "Published on 26 March 2026 for the financial year ended 31 December 2025.",
        ),
        ("h2", "Chief Executive's review"),
        (
            "p",
            "Helena Marsh, Chief Executive since 1 September 2018, reported that "
            "membership passed 1.1 million, ending the year at 1,103,900. The Bank of "
            "Avalon cut its base rate twice, to 3.75% in February and 3.50% in August. "
            "She announced that she will retire on 30 June 2026; the board has "
            "appointed Nadia Holm, currently Chief Commercial Officer, to succeed her "
            "from 1 July 2026.",
        ),
        ("h2", "Financial highlights"),
        (
            "table",
            [
                ["Measure", "2025", "2024"],
                ["Profit before tax", "EUR 101.3 million", "EUR 109.8 million"],
                ["Net interest income", "EUR 402.5 million", "EUR 396.0 million"],
                ["Net interest margin", "1.84%", "1.88%"],
                ["Total assets", "EUR 18.6 billion", "EUR 17.9 billion"],
                ["Mortgage balances", "EUR 14.2 billion", "EUR 13.6 billion"],
                ["Member deposits", "EUR 15.5 billion", "EUR 14.9 billion"],
                ["CET1 ratio", "18.1%", "17.8%"],
                ["Total capital ratio", "21.6%", "21.2%"],
                ["Leverage ratio", "5.9%", "5.7%"],
                ["Liquidity coverage ratio", "182%", "176%"],
                ["Net stable funding ratio", "141%", "138%"],
            ],
        ),
        ("h2", "Resilience"),
        (
            "p",
            "Project Bulwark, the resilience programme approved after the 2023 "
            "outage, was completed in November 2025 at a total cost of EUR 14.2 "
            "million, within its EUR 14.5 million budget. The final failover test "
            "moved the ledger to the second data centre in 9 minutes.",
        ),
        ("h2", "Fraud"),
        (
            "p",
            "A wave of fake text messages in January and February 2025 led to member "
            "losses of EUR 1.26 million. We reimbursed EUR 1.09 million and changed "
            "how new payees are approved.",
        ),
        ("h2", "Members, branches and people"),
        (
            "p",
            "The Member Reward scheme returned EUR 15.0 million. Complaints fell to "
            "9,102. The Saltmarsh Road branch closed after flood damage, leaving 41 "
            "branches. Average headcount was 2,410.",
        ),
    ),
)

SMISHING_WAVE = PdfDoc(
    path="reports/incident-2025-smishing-wave.pdf",
    meta={
        "id": "incident-2025-smishing-wave",
        "title": "Post-mortem INC-2025-0120: text message phishing wave",
        "category": "historical",
        "effective_date": _d("2025-03-14"),
        "owner": "Financial Crime",
    },
    blocks=(
        ("h1", "Post-mortem INC-2025-0120: text message phishing wave"),
        ("p", "Status: closed. Severity: P1. Report issued 14 March 2025."),
        ("h2", "Summary"),
        (
            "p",
            "Between 20 January and 14 February 2025 criminals sent text messages "
            "that pretended to come from Northwind Mutual. The messages asked members "
            "to 'verify a new payee' through a link to a fake website that copied our "
            "login page. The site captured login details and one-time passcodes, "
            "which the criminals used to add payees and send money. Members reported "
            "3,412 messages. 287 members lost money, and total losses were EUR 1.26 "
            "million. There was no breach of Northwind systems or member data.",
        ),
        ("h2", "Timeline"),
        ("li", "20 January: first member reports of the messages."),
        ("li", "21 January: warning banner on the website and the app."),
        (
            "li",
            "23 January: the spoofed sender name blocked with Avalon mobile networks.",
        ),
        ("li", "28 January: peak day, with 612 messages reported."),
        ("li", "3 February: in-app verified messages inbox announced."),
        ("li", "14 February: last message reported."),
        ("h2", "Contributing factors"),
        (
            "p",
            "The criminals spoofed the sender name NWMutual, which was not protected "
            "by the Avalon SMS Sender Registry. Our own passcode texts did not say "
            "which action they approved, so a member could not tell that a code was "
            "adding a payee. A new payee could receive up to EUR 5,000 on its first "
            "day.",
        ),
        ("h2", "Actions"),
        (
            "li",
            "D1: passcode texts now name the action and the amount "
            "(done 10 February 2025).",
        ),
        (
            "li",
            "D2: sender name registered with the SMS Sender Registry "
            "(done 14 February 2025).",
        ),
        (
            "li",
            "D3: payments to a new payee limited to EUR 1,000 in the first 24 hours "
            "(done 1 March 2025).",
        ),
        ("li", "D4: 64 fake website domains taken down with the help of registrars."),
        ("h2", "Losses and reimbursement"),
        (
            "p",
            "Of the EUR 1.26 million lost, we reimbursed EUR 1.09 million to members, "
            "recovered EUR 0.11 million from the receiving banks, and declined EUR "
            "0.06 million of claims where members had ignored two in-app warnings.",
        ),
    ),
)

ATM_OUTAGE_2019 = PdfDoc(
    path="shared-drive/b-atm-network-outage-2019.pdf",
    meta={
        "id": "b-atm-network-outage-2019",
        "title": "Incident review: ATM network outage of 14 September 2019",
        "effective_date": _d("2019-10-10"),
    },
    blocks=(
        ("h1", "Incident review: ATM network outage of 14 September 2019"),
        (
            "p",
            "Incident INC-2019-0914. Review issued 10 October 2019 by Card Operations.",
        ),
        ("h2", "What happened"),
        (
            "p",
            "On Saturday 14 September 2019 all 126 Northwind Mutual cash machines "
            "stopped dispensing cash from 08:15 to 17:40, a total of 9 hours 25 "
            "minutes. About 41,000 withdrawal attempts failed. Card payments in shops "
            "and online were not affected, because they used a different route "
            "through our card processor, Meridian Card Services.",
        ),
        ("h2", "Cause"),
        (
            "p",
            "Meridian ran a database index rebuild on its ATM switch during business "
            "hours on a Saturday, one of the busiest times for cash withdrawals. The "
            "rebuild locked the table that holds card limits, and every withdrawal "
            "request timed out. Meridian had no standby switch, so nothing could take "
            "over while the rebuild ran.",
        ),
        ("h2", "How we responded"),
        (
            "p",
            "We posted notices on the website at 09:30 and told members to use other "
            "banks' machines. We refunded EUR 18,700 of fees that other banks charged "
            "our members that day.",
        ),
        ("h2", "Actions agreed with Meridian"),
        ("li", "Maintenance on the ATM switch only between 01:00 and 05:00."),
        ("li", "A standby ATM switch in a second location, live by 31 March 2020."),
        ("li", "A service credit of EUR 150,000 paid to Northwind under the contract."),
        ("h2", "Board follow-up"),
        (
            "p",
            "The board commissioned an independent review of Meridian as our card "
            "supplier. The review, delivered in January 2020, recommended keeping "
            "Meridian with stronger contract terms, and the contract was renewed in "
            "2020 for five years.",
        ),
    ),
)

AMORTISATION = PdfDoc(
    path="guides/how-amortisation-works.pdf",
    meta={
        "id": "how-amortisation-works",
        "title": "How loan amortisation works",
        "category": "domain-concept",
        "last_reviewed": _d("2025-09-04"),
        "owner": "Member Education",
    },
    blocks=(
        ("h1", "How loan amortisation works"),
        (
            "p",
            "Amortisation is the way a repayment loan is paid off over time through "
            "equal monthly payments. Each payment covers the interest charged for "
            "that month, and whatever is left over reduces the amount you owe, the "
            "capital. Because the balance falls, the interest part shrinks each month "
            "and the capital part grows.",
        ),
        ("h2", "The formula"),
        (
            "p",
            "For a loan amount P, a monthly rate r (the annual rate divided by 12) "
            "and n monthly payments, the payment is P x r / (1 - (1 + r) ^ -n). "
            "The payment stays the same for as long as the rate does not change.",
        ),
        ("h2", "A worked example"),
        (
            "p",
            "Take a repayment mortgage of EUR 200,000 over 25 years (300 payments) "
            "at a fixed 4.00% a year. The monthly payment is EUR 1,055.67.",
        ),
        (
            "table",
            [
                ["Month", "Interest", "Capital repaid", "Balance after"],
                ["1", "EUR 666.67", "EUR 389.01", "EUR 199,610.99"],
                ["12", "EUR 652.16", "EUR 403.51", "EUR 195,245.38"],
                ["120", "EUR 477.66", "EUR 578.02", "EUR 142,718.79"],
                ["240", "EUR 193.95", "EUR 861.73", "EUR 57,322.10"],
                ["300", "EUR 3.51", "EUR 1,052.17", "EUR 0.00"],
            ],
        ),
        (
            "p",
            "In the first month almost two thirds of the payment is interest. Half "
            "the loan is only repaid after month 186, more than 15 years in. Over the "
            "whole term the borrower pays EUR 116,702.10 in interest.",
        ),
        ("h2", "Why it matters"),
        (
            "p",
            "Overpayments early in the term save the most interest, because every "
            "euro of capital repaid stops being charged interest for all the "
            "remaining months. A longer term lowers the monthly payment but raises "
            "the total interest. An interest-only loan does not amortise at all: the "
            "same example would cost EUR 666.67 a month and still leave EUR 200,000 "
            "to repay at the end.",
        ),
    ),
)

COMPOUND_INTEREST = PdfDoc(
    path="guides/compound-interest-explained.pdf",
    meta={
        "id": "compound-interest-explained",
        "title": "Compound interest explained",
        "category": "domain-concept",
        "last_reviewed": _d("2025-05-20"),
        "owner": "Member Education",
    },
    blocks=(
        ("h1", "Compound interest explained"),
        (
            "p",
            "Compound interest is interest earned on interest. When interest is added "
            "to a savings balance, the next interest payment is worked out on the "
            "bigger balance, so the savings grow faster each year. Simple interest, "
            "by contrast, is paid only on the original amount.",
        ),
        ("h2", "Simple and compound side by side"),
        (
            "p",
            "Put EUR 10,000 away for 5 years at 3.00% a year. With simple interest "
            "you earn EUR 300 a year and end with EUR 11,500. With interest "
            "compounded once a year you end with EUR 11,592.74, because from the "
            "second year onwards you earn interest on earlier interest too.",
        ),
        ("h2", "How often interest is added"),
        (
            "p",
            "The more often interest is added, the more compounding there is. A "
            "gross rate of 3.00% a year paid monthly is worth 3.04% a year once "
            "compounded, which is why savings accounts quote an AER: it shows the "
            "rate as if interest were paid once a year, so accounts that pay monthly "
            "and yearly can be compared fairly. The same EUR 10,000 at 3.00% paid "
            "monthly grows to EUR 11,616.17 over 5 years.",
        ),
        ("h2", "The rule of 72"),
        (
            "p",
            "A quick way to estimate how long money takes to double: divide 72 by "
            "the interest rate. At 4% a year, money doubles in about 18 years (the "
            "exact figure is 17.7 years). The rule works for debts too: a card "
            "balance growing at 24% a year doubles in about 3 years if nothing is "
            "repaid.",
        ),
        ("h2", "Compounding works against borrowers"),
        (
            "p",
            "Interest on loans and cards compounds in the same way. Unpaid interest "
            "is added to the balance and then charged interest itself. Paying at "
            "least the interest each month stops a debt from growing.",
        ),
        ("h2", "Inflation"),
        (
            "p",
            "Compounding also applies to prices. If inflation is higher than the "
            "interest rate, the buying power of savings falls even while the balance "
            "grows.",
        ),
    ),
)

CAPITAL_RATIOS = PdfDoc(
    path="guides/capital-ratios-explained.pdf",
    meta={
        "id": "capital-ratios-explained",
        "title": "Capital ratios explained",
        "category": "domain-concept",
        "last_reviewed": _d("2025-11-12"),
        "owner": "Group Finance",
    },
    blocks=(
        ("h1", "Capital ratios explained"),
        (
            "p",
            "A bank's capital is the money that can absorb losses without harming "
            "depositors. For a mutual like Northwind, most capital is retained profit "
            "built up over the years, because there are no shareholders. Capital "
            "ratios compare that capital with the risks the bank takes, so that "
            "banks of different sizes can be compared.",
        ),
        ("h2", "Risk-weighted assets"),
        (
            "p",
            "Not every loan is equally risky. Each asset is multiplied by a risk "
            "weight: cash and central bank reserves carry 0%, a low loan-to-value "
            "mortgage might carry 15% to 35%, and an unsecured personal loan 75% or "
            "more. The total is called risk-weighted assets, or RWA. A EUR 200,000 "
            "mortgage with a 25% risk weight adds EUR 50,000 to RWA.",
        ),
        ("h2", "The CET1 ratio"),
        (
            "p",
            "Common Equity Tier 1 (CET1) capital is the highest-quality capital: "
            "retained profit and reserves. The CET1 ratio is CET1 capital divided by "
            "RWA. For example, CET1 capital of EUR 1.2 billion against RWA of EUR 6.9 "
            "billion gives a CET1 ratio of 17.4%.",
        ),
        ("h2", "Minimums and buffers"),
        (
            "p",
            "International standards set minimums of 4.5% of RWA for CET1, 6% for "
            "Tier 1 capital and 8% for total capital. On top sit buffers, such as "
            "the capital conservation buffer of 2.5%, which a bank may use in a "
            "stress but must then rebuild, with limits on bonuses and distributions "
            "until it does. Each bank also has its own extra requirement set by its "
            "supervisor.",
        ),
        ("h2", "The leverage ratio"),
        (
            "p",
            "Risk weights can be wrong, so a second measure ignores them. The "
            "leverage ratio is Tier 1 capital divided by total exposures, without "
            "risk weighting. A leverage ratio of 5% means capital equal to one "
            "twentieth of everything the bank has lent or holds.",
        ),
        ("h2", "Why members should care"),
        (
            "p",
            "Higher ratios mean a bank can absorb bigger losses. Very high ratios "
            "can also mean capital is not being used to benefit members, so mutuals "
            "balance strength against value.",
        ),
    ),
)

DOCUMENTS: tuple[PdfDoc, ...] = (
    ANNUAL_REPORT_2022,
    ANNUAL_REPORT_2025,
    SMISHING_WAVE,
    ATM_OUTAGE_2019,
    AMORTISATION,
    COMPOUND_INTEREST,
    CAPITAL_RATIOS,
)


def _render_block(pdf: FPDF, kind: str, payload: object) -> None:
    """Draw one block; headings are bold so extracted text keeps its structure."""
    if kind == "h1":
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(0, 9, str(payload), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    elif kind == "h2":
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 13)
        pdf.multi_cell(0, 7, str(payload), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    elif kind == "p":
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 6, str(payload), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    elif kind == "li":
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(
            0, 6, "- " + str(payload), align="L", new_x="LMARGIN", new_y="NEXT"
        )
    elif kind == "table":
        pdf.set_font("Helvetica", "", 10)
        with pdf.table(text_align="LEFT", line_height=6) as table:
            for row in payload:  # type: ignore[attr-defined]
                cells = table.row()
                for value in row:
                    cells.cell(value)
        pdf.ln(2)
    else:
        raise ValueError(f"unknown block kind {kind!r}")


def build_pdf(doc: PdfDoc) -> bytes:
    """Render a document to PDF bytes with a fixed creation date (reproducible)."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(CREATED)
    pdf.set_title(str(doc.meta["title"]))
    pdf.set_author("Northwind Mutual")
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    for kind, payload in doc.blocks:
        _render_block(pdf, kind, payload)
    return bytes(pdf.output())


def write_all(kb_root: Path = KB_ROOT) -> list[Path]:
    """Write every PDF and its ``.meta.yaml`` sidecar under ``kb_root``."""
    written = []
    for doc in DOCUMENTS:
        target = kb_root / doc.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(build_pdf(doc))
        sidecar = target.with_name(target.name + ".meta.yaml")
        sidecar.write_text(
            yaml.safe_dump(doc.meta, sort_keys=False, allow_unicode=False),
            encoding="utf-8",
        )
        written.append(target)
        logger.info("wrote %s", target)
    return written


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    write_all()
