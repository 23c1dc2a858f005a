"""The product model (group) picker that the quality and inventory pages share for their per-model views."""

from __future__ import annotations

import pandas as pd
import streamlit as st

NO_MODELS = ("No product models in this selection: create one with `POST /product-groups` (or send variants with "
             "a `group_code` to `POST /products/bulk`).")


def search(key: str) -> str | None:
    """A text box narrowing the model list to codes and names that contain what is typed."""
    typed = st.text_input("Find a model", key=key, placeholder="Code or name",
                          help="Lists the models whose code or name contains this (case-insensitive).")
    return typed.strip() or None


def pick(models: pd.DataFrame, key: str) -> int | None:
    """A selectbox over the listed models (`id`, `code`, `name`), the first one chosen; None when there are none."""
    if models.empty:
        return None
    labels = {int(row.id): f"{row.code} — {row.name}" for row in models.itertuples()}
    if st.session_state.get(key) not in labels:  # the filters changed and the chosen model is no longer listed
        st.session_state.pop(key, None)
    chosen = st.selectbox("Model", list(labels), key=key, format_func=lambda gid: labels.get(gid, str(gid)),
                          help="Its variants are listed below.")
    return int(chosen) if chosen is not None else None
