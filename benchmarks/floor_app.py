"""Streamlit's own floor for a first figure (benchmarks/bench_first_figure.py): one small Plotly chart."""

import plotly.express as px
import streamlit as st

st.plotly_chart(px.line(y=[1, 3, 2]))
