"""Plotly figure helpers: every axis is titled with what it measures and its unit."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

HEIGHT = 380
_LAYOUT = {"height": HEIGHT, "margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "legend": {"orientation": "h"}}


def _finish(fig: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, **_LAYOUT)
    return fig


def bar(df: pd.DataFrame, x: str, y: str, *, title: str, x_title: str, y_title: str,
        horizontal: bool = False, text: str | None = None) -> go.Figure:
    """One bar per row; horizontal bars read better for long labels (x is then the value)."""
    if horizontal:
        trace = go.Bar(x=df[y], y=df[x], orientation="h", text=df[text] if text else None)
        fig = _finish(go.Figure(trace), title, y_title, x_title)
        fig.update_yaxes(autorange="reversed", type="category")
        return fig
    return _finish(go.Figure(go.Bar(x=df[x], y=df[y], text=df[text] if text else None)), title, x_title, y_title)


def stacked_bar(df: pd.DataFrame, x: str, series: dict[str, str], *, title: str, x_title: str,
                y_title: str) -> go.Figure:
    """Bars of `x` stacked from the columns in `series` (column -> legend label)."""
    fig = go.Figure([go.Bar(x=df[x], y=df[column], name=label) for column, label in series.items()])
    fig.update_layout(barmode="stack")
    return _finish(fig, title, x_title, y_title)


def lines(df: pd.DataFrame, x: str, series: dict[str, str], *, title: str, x_title: str, y_title: str,
          kind: str = "lines+markers") -> go.Figure:
    fig = go.Figure([go.Scatter(x=df[x], y=df[column], name=label, mode=kind) for column, label in series.items()])
    return _finish(fig, title, x_title, y_title)


def box_from_quantiles(df: pd.DataFrame, label: str, *, title: str, x_title: str, y_title: str,
                       log: bool = True) -> go.Figure:
    """Box plots from percentiles computed in SQL: box q1-q3, median line, whiskers at p5 and p95."""
    fig = go.Figure(go.Box(
        x=df[label], q1=df["q1"], median=df["median"], q3=df["q3"], lowerfence=df["p5"], upperfence=df["p95"],
        mean=df["mean"], boxpoints=False, name="price",
    ))
    fig = _finish(fig, title, x_title, y_title)
    if log:
        fig.update_yaxes(type="log")
    return fig


def heatmap(matrix: pd.DataFrame, *, title: str, x_title: str, y_title: str, z_title: str,
            text_format: str = ".0f") -> go.Figure:
    """Rows of `matrix` on y, its columns on x, cell values annotated."""
    fig = go.Figure(go.Heatmap(z=matrix.to_numpy(), x=list(matrix.columns), y=list(matrix.index),
                               colorscale="RdYlGn", colorbar={"title": z_title}, texttemplate=f"%{{z:{text_format}}}",
                               hovertemplate=f"{y_title}: %{{y}}<br>{x_title}: %{{x}}<br>{z_title}: %{{z}}"
                                             "<extra></extra>"))
    fig = _finish(fig, title, x_title, y_title)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    fig.update_layout(height=max(HEIGHT, 28 * len(matrix.index) + 120))
    return fig


def histogram_bars(df: pd.DataFrame, *, title: str, x_title: str, y_title: str,
                   labels: Sequence[str]) -> go.Figure:
    """Pre-bucketed counts (from SQL width_bucket) as touching bars with range labels."""
    fig = go.Figure(go.Bar(x=list(labels), y=df["products"], marker={"line": {"width": 0}}))
    fig.update_layout(bargap=0.02)
    fig = _finish(fig, title, x_title, y_title)
    fig.update_xaxes(type="category")
    return fig
