"""Whatever text users type, no XLSX text cell starts with a formula trigger."""

import io
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from coordination.analysis.progress import (
    Actual,
    IndicatorData,
    PeriodData,
    ProjectData,
    ResultData,
    project_progress,
    rollup_results,
)
from coordination.interop.reports import Report, render_html, render_xlsx
from coordination.interop.safe_cells import TRIGGERS

# Text that openpyxl can store: XML 1.0 characters only.
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00")
    | st.sampled_from(["=", "+", "-", "@", "\t", "\r"]),
    min_size=1,
    max_size=20,
)


def report(title, code, comment, category):
    female = ("sex", category)
    indicator = IndicatorData(
        code,
        title,
        baseline=0,
        result_code="O1",
        level="outcome",
        dimensions=(("sex", (category,)),),
        periods=(
            PeriodData(
                date(2024, 1, 1),
                date(2024, 12, 31),
                10,
                Actual(4),
                {female: 5},
                {female: Actual(2)},
                narrative=comment,
                comment=comment,
            ),
        ),
    )
    project = ProjectData(
        "P",
        title,
        date(2024, 1, 1),
        date(2024, 12, 31),
        results=(ResultData("O1", title, "outcome"),),
        indicators=(indicator,),
    )
    progress = project_progress(project, today=date(2024, 6, 30))
    return Report(
        project=project,
        facts=[("Project", title), (comment, -5.0)],
        start=date(2024, 1, 1),
        end=date(2024, 12, 31),
        generated=date(2024, 12, 31),
        progress=progress,
        results=rollup_results(project.results, progress),
        sex_categories=[category],
        comments=[
            {
                "indicator": code,
                "title": title,
                "period_start": date(2024, 1, 1),
                "period_end": date(2024, 12, 31),
                "kind": "comment",
                "text": comment,
            }
        ],
        meetings=[
            {
                "date": date(2024, 5, 1),
                "title": comment,
                "type": title,
                "place": code,
                "status": "held",
            }
        ],
        interventions=[],
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=texts, code=texts, comment=texts, category=texts)
def test_no_text_cell_starts_with_a_trigger(title, code, comment, category):
    data = report(title, code, comment, category)
    workbook = load_workbook(io.BytesIO(render_xlsx(data)))
    for sheet in workbook:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(TRIGGERS), (sheet.title, cell.value)
    cover_values = [cell.value for row in workbook["Cover"].iter_rows() for cell in row]
    assert -5.0 in cover_values  # a negative number we wrote stays a number
    assert "<script" not in render_html(report("<script>x</script>", code, comment, category))
