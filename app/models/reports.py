"""Monthly reports (月次レポート) as built: the figures are frozen with the PDF, so the
customer's page and the PDF always show the same numbers."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.timeutil import utcnow
from app.extensions import db


class MonthlyReport(db.Model):
    """One organization's report for one month (rebuilding replaces it)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    month: Mapped[str] = mapped_column(String(7))  # "YYYY-MM", JST calendar month
    built_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict] = mapped_column(JSON, default=dict)  # the figures shown
    pdf_path: Mapped[str] = mapped_column(String(500), default="")  # under REPORTS_DIR
    pdf_sha256: Mapped[str] = mapped_column(String(64), default="")
    emailed_at: Mapped[datetime | None] = mapped_column()

    organization = relationship("Organization")

    __table_args__ = (UniqueConstraint("organization_id", "month",
                                       name="uq_monthly_report_org_month"),)
