"""Reports: Pareto and budget math (pure numpy), figures, files, and selection under budgets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import declared_exports, lazy_exports

# the public names: the imports under TYPE_CHECKING below (type checkers read them; each is imported on first use)
__getattr__, __dir__, __all__ = lazy_exports(__name__, declared_exports(__file__, __name__))

if TYPE_CHECKING:  # the public names (the one list)
    from paretodet.reports._budget import (
        BUDGET_METRICS as BUDGET_METRICS,
        Budget as Budget,
        feasible_mask as feasible_mask,
        parse_budgets as parse_budgets,
        violations as violations,
    )
    from paretodet.reports._compare_table import (
        COMPARE_FORMATS as COMPARE_FORMATS,
        format_comparison as format_comparison,
    )
    from paretodet.reports._describe import config_summary as config_summary
    from paretodet.reports._export import (
        export_selection as export_selection,
        selection_readme as selection_readme,
    )
    from paretodet.reports._info import (
        TIMED_METRICS as TIMED_METRICS,
        ReportInfo as ReportInfo,
        build_info as build_info,
        knob_columns as knob_columns,
        metric_columns as metric_columns,
    )
    from paretodet.reports._pareto import (
        hypervolume as hypervolume,
        pareto_mask as pareto_mask,
    )
    from paretodet.reports._select import (
        Selection as Selection,
        select_best as select_best,
    )
    from paretodet.reports._states import (
        state_counts as state_counts,
        state_counts_line as state_counts_line,
    )
    from paretodet.reports._write import (
        front_markdown as front_markdown,
        write_report as write_report,
    )
