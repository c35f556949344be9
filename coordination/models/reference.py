"""Reference data: countries and areas (ISO 3166 via pycountry), themes, target groups."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coordination.db import Base
from coordination.models._columns import ReprMixin

__all__ = ["Area", "Country", "TargetGroup", "Theme"]


class Country(ReprMixin, Base):
    """An ISO 3166-1 country. Rows are synchronised from pycountry, never typed by hand."""

    __tablename__ = "country"
    __label_attribute__ = "name"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)  # alpha-2
    alpha3: Mapped[str] = mapped_column(String(3), unique=True)
    name: Mapped[str] = mapped_column(String(120))

    areas: Mapped[list[Area]] = relationship(
        back_populates="country", order_by="Area.name", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Country {self.code} {self.name!r}>"


class Area(ReprMixin, Base):
    """A first-level subdivision (province, division, region) of a country.

    ISO 3166-2 areas carry their code; local areas without one (an industrial zone,
    say) may be added with ``code`` left empty.
    """

    __tablename__ = "area"
    __label_attribute__ = "name"
    __table_args__ = (
        UniqueConstraint("country_code", "name"),
        # Target of the composite foreign keys that keep a place's area inside its country.
        UniqueConstraint("country_code", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    country_code: Mapped[str] = mapped_column(ForeignKey("country.code", ondelete="CASCADE"))
    code: Mapped[str | None] = mapped_column(String(10), unique=True)  # ISO 3166-2
    name: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str | None] = mapped_column(String(60))  # "Division", "Province", ...

    country: Mapped[Country] = relationship(back_populates="areas")

    def __str__(self) -> str:
        return f"{self.name} ({self.code or self.country_code})"


class Theme(ReprMixin, Base):
    """A thematic area, optionally mapped to an OECD-DAC 5-digit sector code."""

    __tablename__ = "theme"
    __label_attribute__ = "name"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    description: Mapped[str | None]
    dac_code: Mapped[str | None] = mapped_column(String(5))


class TargetGroup(ReprMixin, Base):
    """Who an intervention is for (women workers, labour inspectors, SMEs, ...)."""

    __tablename__ = "target_group"
    __label_attribute__ = "name"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
