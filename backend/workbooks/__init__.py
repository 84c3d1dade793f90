"""Workbooks: saved dashboards (datasource, filters, widgets) that people keep, version, share,
tag, favorite and find."""
