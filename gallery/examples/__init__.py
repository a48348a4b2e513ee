"""The paper's examples, one small module each, in the paper's order.

Each module defines `ENTRY` (a `gallery.entry.Entry`); `MODULES` fixes the order of the gallery."""

from __future__ import annotations

import importlib

from ..entry import Entry

MODULES = [
    "sec2_1_matrix_product",
    "sec2_2_eq4_eq5",
    "sec2_4_associativity",
    "sec4_3_5_softmax",
    "sec4_4_trace",
    "sec4_4_inverse",
    "sec4_4_determinant",
    "sec5_linear",
    "sec5_quadratic",
    "sec5_bilinear",
    "sec5_axxa",
    "sec5_trace_inverse",
    "sec5_outer",
    "sec6_1_single_layer",
    "sec6_2_multi_layer",
    "sec6_3_classification",
    "sec6_4_rnn",
    "sec6_4_expression48",
    "ml_softmax_regression",
    "ml_layer_norm_mlp",
    "ml_attention",
    "ml_logistic_hessian",
    "ml_gaussian_nll",
]


def load_entries() -> list[Entry]:
    """Every entry, in the gallery's order."""
    return [importlib.import_module(f"{__name__}.{name}").ENTRY for name in MODULES]
